// The web editor that weft-server serves, in headless Chromium.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { editorReady, freePort, introduce, launchBrowser, newPage, root, serverText, startServer, tempDir, text, token, until } from './helpers.mjs'

let browser
before(async () => { browser = await launchBrowser() })
after(async () => { await browser?.close() })

test('the server serves the editor: cache headers, compression, a strict CSP; --no-web answers 404', async () => {
  const server = await startServer({ port: await freePort(), dataDir: tempDir('serve') })
  try {
    const page = await fetch(`${server.origin}/d/notes`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type'), /^text\/html/)
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    const csp = page.headers.get('content-security-policy')
    assert.match(csp, /script-src 'self';/)
    assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${server.port} wss://127\\.0\\.0\\.1:${server.port};`))
    assert.match(csp, /object-src 'none'/)
    const html = await page.text()
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)[1]
    const asset = await fetch(server.origin + script, { headers: { 'Accept-Encoding': 'br' } })
    assert.equal(asset.status, 200)
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(asset.headers.get('content-encoding'), 'br')
    const gz = await fetch(server.origin + script, { headers: { 'Accept-Encoding': 'gzip' } })
    assert.equal(gz.headers.get('content-encoding'), 'gzip')
    // A browser revalidates the page by its ETag.
    const again = await fetch(`${server.origin}/`, { headers: { 'If-None-Match': page.headers.get('etag') } })
    assert.equal(again.status, 304)
    // The paths the editor owns leave the rest alone.
    assert.equal((await fetch(`${server.origin}/notes`)).status, 426)
    assert.equal((await fetch(`${server.origin}/healthz`)).status, 200)
  } finally {
    await server.stop()
  }
  const off = await startServer({ port: await freePort(), dataDir: tempDir('noweb'), args: ['--no-web'] })
  try {
    for (const path of ['/', '/d/notes', '/sw.js', '/assets/index.js']) {
      assert.equal((await fetch(off.origin + path)).status, 404, path)
    }
    assert.equal((await fetch(`${off.origin}/healthz`)).status, 200)
  } finally {
    await off.stop()
  }
})

test('a first visit asks for a name; typing reaches the server, acked as "Saved on server", under the CSP with no console errors', async () => {
  const server = await startServer({ port: await freePort(), dataDir: tempDir('edit') })
  const page = await newPage(browser)
  try {
    await page.goto(`${server.origin}/`)
    await introduce(page, 'Wren')
    // The start page: new document.
    await page.waitForSelector('#start-new')
    await page.click('#start-new')
    await editorReady(page)
    const doc = await page.evaluate(() => location.pathname.split('/').pop())
    assert.match(await page.evaluate(() => location.pathname), /^\/d\/[a-z0-9]{12}$/)
    await page.keyboard.type('Hello from a browser')
    await until(async () => (await serverText(server, doc)).includes('Hello from a browser'), 'the text on the server')
    await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), '"Saved on server"')
    // The name and colour are kept, and shown as this person's avatar.
    const settings = await page.evaluate(() => JSON.parse(localStorage.getItem('weft.settings')))
    assert.equal(settings.name, 'Wren')
    assert.match(settings.color, /^#[0-9a-f]{6}$/)
    assert.equal(await page.$eval('#avatars .avatar', el => el.title), 'Wren (you)')
    // Reopened from the address bar: no question, the same text.
    await page.reload()
    await editorReady(page)
    assert.equal(await page.$('#welcome[open]'), null)
    assert.match(await text(page), /Hello from a browser/)
    // A Markdown shortcut, to see the editor is the app's.
    await page.keyboard.press('Enter')
    await page.keyboard.type('## Heading')
    await until(async () => (await serverText(server, doc)).includes('Heading'), 'the heading on the server')
    // The history panel is the app's, over the server's API.
    await page.click('#history-toggle')
    await page.click('#history-save')
    await page.waitForSelector('#prompt[open]')
    await page.type('#prompt-input', 'First draft')
    await page.click('#prompt button[value=ok]')
    await page.waitForFunction(() => [...document.querySelectorAll('#history-list .v-title')].some(e => e.textContent === 'First draft'))
    const versions = await (await fetch(`${server.origin}/api/v1/docs/${doc}/versions`)).json()
    assert.equal(versions.versions[0].name, 'First draft')
    assert.deepEqual(page.errors, [])
  } finally {
    await page.close()
    await server.stop()
  }
})

test('Chromium\'s own WebSocket negotiates permessage-deflate and a large document opens and syncs over it', async () => {
  const server = await startServer({ port: await freePort(), dataDir: tempDir('deflate') })
  const page = await newPage(browser)
  try {
    // About 150 KB of text: the first sync is one large, compressed message.
    const paragraphs = Array.from({ length: 600 }, (_, i) => `Paragraph ${i}: a document's first sync is mostly text, and text compresses several times over.`)
    const put = await fetch(`${server.origin}/api/v1/docs/deflate-big/content`, { method: 'PUT', headers: { 'content-type': 'text/markdown' }, body: paragraphs.join('\n\n') })
    assert.equal(put.status, 200, await put.text())
    await page.goto(`${server.origin}/d/deflate-big`)
    await introduce(page, 'Ola')
    await editorReady(page)
    await until(async () => (await text(page)).includes('Paragraph 599:'), 'the whole document in the browser')
    await page.keyboard.type(' Edited in Chromium.')
    await until(async () => (await serverText(server, 'deflate-big')).includes('Edited in Chromium.'), 'the edit on the server')
    const metrics = await (await fetch(`${server.origin}/metrics`)).text()
    const deflated = Number(metrics.match(/^weft_deflate_connections_accepted_total (\d+)/m)?.[1])
    assert.ok(deflated >= 1, `connections with permessage-deflate: ${deflated}`)
    assert.deepEqual(page.errors, [])
  } finally {
    await page.close()
    await server.stop()
  }
})

test('an edit made offline survives a reload while offline, and reaches the server when it is back', async () => {
  const port = await freePort()
  const dataDir = tempDir('offline')
  let server = await startServer({ port, dataDir })
  const page = await newPage(browser)
  try {
    await page.goto(`${server.origin}/d/trip-notes`)
    await introduce(page, 'Ola')
    await editorReady(page)
    await page.keyboard.type('Packed: tent.')
    await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved')
    // The page opens offline only once its service worker has kept it.
    await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker')
    await server.stop()
    await until(() => page.$eval('#status', el => el.textContent === 'Offline'), 'Offline')
    await page.keyboard.type(' Stove.')
    await until(() => page.$eval('#counts', el => /not yet saved on server/.test(el.textContent)), 'not saved')
    // Reloaded with the server still down: the page and the edit come back.
    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.waitForSelector('#editor .tiptap')
    await until(async () => /Packed: tent\. Stove\./.test(await text(page)), 'the offline edit after a reload')
    assert.match(await page.$eval('#counts', el => el.textContent), /not yet saved on server/)
    server = await startServer({ port, dataDir })
    await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved after the server is back', 30000)
    assert.match(await serverText(server, 'trip-notes'), /Packed: tent\. Stove\./)
  } finally {
    await page.close()
    await server.stop()
  }
})

test('#token= links: the token opens the doc and never reaches the log; a view-only token is read-only and refused by the server', async () => {
  const dir = tempDir('token')
  const secret = join(dir, 'secret')
  writeFileSync(secret, 'a-test-secret-of-at-least-32-bytes-long!!')
  const server = await startServer({ port: await freePort(), dataDir: join(dir, 'data'), args: ['--auth-secret-file', secret] })
  const write = await token(secret, 'plans', 'write')
  const read = await token(secret, 'plans', 'read')
  const page = await newPage(browser)
  try {
    // Without a token the server refuses the document.
    assert.equal((await fetch(`${server.origin}/api/v1/docs/plans`)).status, 401)
    await page.goto(`${server.origin}/d/plans#token=${write}`)
    await introduce(page, 'Editor')
    await editorReady(page)
    // Read from the fragment, kept for this document only, gone from the address bar.
    assert.equal(await page.evaluate(() => location.href), `${server.origin}/d/plans`)
    assert.equal(await page.evaluate(() => localStorage.getItem('weft.token.plans')), write)
    await page.keyboard.type('Budget: 40')
    await until(async () => (await serverText(server, 'plans', write)).includes('Budget: 40'), 'the edit on the server')

    const viewer = await browser.createBrowserContext()
    const view = await newPage(viewer)
    await view.goto(`${server.origin}/d/plans#token=${read}`)
    await introduce(view, 'Viewer')
    await view.waitForFunction(() => document.querySelector('#editor .tiptap')?.innerText.includes('Budget: 40'), { timeout: 15000 })
    assert.equal(await view.$eval('#view-only', el => el.hidden), false)
    assert.equal(await view.$eval('#editor .tiptap', el => el.getAttribute('contenteditable')), 'false')
    // Changing the document behind the editor's back: the server refuses it.
    await view.evaluate(() => { window.__weft.bridge.doc.getMap('meta').set('title', 'Hijacked') })
    // The server answers with y-protocols' permission-denied, which the page shows.
    await until(() => view.$eval('#message', el => el.textContent === 'This link is view-only: your changes are not saved.'), 'the refusal')
    const meta = await (await fetch(`${server.origin}/api/v1/docs/plans`, { headers: { Authorization: `Bearer ${write}` } })).json()
    assert.notEqual(meta.title, 'Hijacked')
    assert.equal((await serverText(server, 'plans', write)).trim(), 'Budget: 40')
    await viewer.close()

    // The log saw the connections, never a token.
    assert.match(server.log, /connected/)
    assert.ok(!server.log.includes(write) && !server.log.includes(read), 'a token in the server log')
    assert.ok(!server.log.includes(write.split('.')[2]), 'a token signature in the server log')
    assert.deepEqual(page.errors, [])
  } finally {
    await page.close()
    await server.stop()
  }
})

test('a comment link in the browser: read-only body, a comment on a word the writer sees; body changes refused', async () => {
  const dir = tempDir('comment')
  const secret = join(dir, 'secret')
  writeFileSync(secret, 'a-test-secret-of-at-least-32-bytes-long!!')
  const server = await startServer({ port: await freePort(), dataDir: join(dir, 'data'), args: ['--auth-secret-file', secret] })
  const write = await token(secret, 'review', 'write')
  const comment = await token(secret, 'review', 'comment')
  const page = await newPage(browser)
  const reviewer = await browser.createBrowserContext()
  const view = await newPage(reviewer)
  try {
    await page.goto(`${server.origin}/d/review#token=${write}`)
    await introduce(page, 'Writer')
    await editorReady(page)
    await page.keyboard.type('Ship the beta in March')
    await until(async () => (await serverText(server, 'review', write)).includes('March'), 'the text on the server')

    await view.goto(`${server.origin}/d/review#token=${comment}`)
    await introduce(view, 'Reviewer')
    await view.waitForFunction(() => document.querySelector('#editor .tiptap')?.innerText.includes('March'), { timeout: 15000 })
    assert.equal(await view.$eval('#view-only', el => el.textContent), 'Can comment')
    assert.equal(await view.$eval('#editor .tiptap', el => el.getAttribute('contenteditable')), 'false')
    // A double-click selects the word, as anywhere; Ctrl+Alt+M comments on it.
    const box = await view.evaluate(() => {
      const t = document.querySelector('#editor .tiptap p').firstChild
      const r = document.createRange(); r.setStart(t, t.data.indexOf('March')); r.setEnd(t, t.data.indexOf('March') + 2)
      const b = r.getBoundingClientRect(); return { x: b.x + b.width / 2, y: b.y + b.height / 2 }
    })
    await view.mouse.click(box.x, box.y, { clickCount: 2 })
    await view.keyboard.down('Control'); await view.keyboard.down('Alt'); await view.keyboard.press('m')
    await view.keyboard.up('Alt'); await view.keyboard.up('Control')
    await view.waitForSelector('#comments-new:not([hidden])')
    assert.equal(await view.$eval('#comments-new-quote', el => el.textContent), 'March')
    await view.keyboard.type('April is safer')
    await view.keyboard.press('Enter')

    // The writer sees it highlighted, with the count; the server lists it.
    await page.waitForFunction(() => document.querySelector('#editor .comment-mark')?.textContent === 'March', { timeout: 15000 })
    assert.equal(await page.$eval('#comments-count', el => el.textContent), '1')
    const listed = await (await fetch(`${server.origin}/api/v1/docs/review/comments`, { headers: { Authorization: `Bearer ${write}` } })).json()
    assert.deepEqual(listed.threads.map(t => [t.anchored, t.owner, t.messages[0].text, t.messages[0].author]), [['March', 'web-comment', 'April is safer', 'Reviewer']])
    await page.click('#comments-toggle')
    await page.waitForSelector('#comments-list .c-thread')
    mkdirSync(join(root, 'target', 'e2e-screenshots'), { recursive: true })
    await page.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-writer-sees-comment.png') })
    await view.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-reviewer-commented.png') })

    // Behind the editor's back, the body: refused, and said so.
    await view.evaluate(() => { window.__weft.bridge.doc.getXmlFragment('default').get(0).get(0).insert(0, 'Hijacked ') })
    await until(() => view.$eval('#message', el => el.textContent === 'Your link lets you comment but not edit: that change is not saved.'), 'the refusal')
    assert.equal((await serverText(server, 'review', write)).trim(), 'Ship the beta in March')
    assert.deepEqual(view.errors.filter(e => !/permission|denied/i.test(e)), [])
  } finally {
    await reviewer.close()
    await page.close()
    await server.stop()
  }
})

/** Pastes a real PNG (a canvas of one colour) as a file, as a screenshot is. */
const pastePng = (page, name, width, height, color) => page.evaluate(async (name, width, height, color) => {
  const canvas = Object.assign(document.createElement('canvas'), { width, height })
  const g = canvas.getContext('2d'); g.fillStyle = color; g.fillRect(0, 0, width, height)
  const png = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'))
  const data = new DataTransfer()
  data.items.add(new File([png], name, { type: 'image/png' }))
  document.querySelector('#editor .tiptap').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
}, name, width, height, color)

/** A server with tokens, a write token for `doc`, Ann's page and Bob's (in a browser context of his own). */
async function annAndBob (name, doc) {
  const dir = tempDir(name)
  const secret = join(dir, 'secret')
  writeFileSync(secret, 'a-test-secret-of-at-least-32-bytes-long!!')
  const server = await startServer({ port: await freePort(), dataDir: join(dir, 'data'), args: ['--auth-secret-file', secret] })
  const write = await token(secret, doc, 'write')
  const page = await newPage(browser)
  const other = await browser.createBrowserContext()
  const bob = await newPage(other)
  return { server, write, page, other, bob }
}

test('a pasted image is uploaded and another browser sees it; a table both edit converges', async () => {
  const { server, write, page, other, bob } = await annAndBob('images', 'board')
  try {
    await page.goto(`${server.origin}/d/board#token=${write}`)
    await introduce(page, 'Ann')
    await editorReady(page)
    await page.keyboard.type('The whiteboard:')
    await page.keyboard.press('Enter')
    await pastePng(page, 'board.png', 40, 30, '#4f46e5')
    // In the document: the server's address, never a token.
    const state = async () => (await fetch(`${server.origin}/api/v1/docs/board/content?format=json`, { headers: { Authorization: `Bearer ${write}` } })).json()
    const image = await until(async () => (await state()).content?.find(n => n.type === 'image'), 'the image in the document')
    assert.match(image.attrs.src, /^\/api\/v1\/docs\/board\/blobs\/[0-9a-f]{64}$/)
    assert.equal(image.attrs.alt, 'board')
    // Its description (alt text), changed from the toolbar with the image selected.
    await page.click('#editor [data-node="image"] img')
    const describe = '#toolbar button[aria-label="Describe the selected image (alt text)"]'
    if (await page.$eval(describe, b => b.closest('[hidden]') !== null)) {
      await page.click('.toolbar-more')
      await page.evaluate(() => [...document.querySelectorAll('.toolbar-menu .menu-item')].find(i => i.textContent.includes('Describe the selected image')).click())
    } else await page.click(describe)
    await page.waitForSelector('#prompt[open]')
    await page.$eval('#prompt-input', el => { el.value = 'The whiteboard after the meeting' })
    await page.click('#prompt menu button[value=ok]')
    await until(async () => (await state()).content?.find(n => n.type === 'image')?.attrs.alt === 'The whiteboard after the meeting', 'the new alt text on the server')
    await page.click('#editor .tiptap p')
    const stored = await fetch(server.origin + image.attrs.src, { headers: { Authorization: `Bearer ${write}` } })
    assert.equal(stored.headers.get('content-type'), 'image/png')

    await bob.goto(`${server.origin}/d/board#token=${write}`)
    await introduce(bob, 'Bob')
    await editorReady(bob)
    await bob.waitForFunction(() => { const img = document.querySelector('#editor [data-node="image"] img'); return img?.complete && img.naturalWidth === 40 }, { timeout: 15000 })

    // A table from the toolbar; each types in a different cell.
    await page.click('#editor .tiptap p')
    await page.keyboard.press('End')
    await page.click('#toolbar button[aria-label="Insert table"]').catch(async () => {
      await page.click('.toolbar-more'); await page.click('.toolbar-menu .menu-item:has(span:text-is("Insert table"))')
    })
    await page.waitForSelector('#editor table')
    await bob.waitForSelector('#editor table', { timeout: 15000 })
    await page.keyboard.type('Owner')
    await page.keyboard.press('Tab')
    await page.keyboard.type('Task')
    const cell = await bob.$$('#editor table tr:nth-child(2) td')
    await cell[1].click()
    await bob.keyboard.type('Logo')
    // Cell text without the other person's caret and name label.
    const rows = async p => p.$$eval('#editor table tr', trs => trs.map(tr => [...tr.children].map(c => {
      const copy = c.cloneNode(true)
      copy.querySelectorAll('[class*="collaboration"]').forEach(el => el.remove())
      return copy.textContent
    })))
    await until(async () => JSON.stringify(await rows(page)) === JSON.stringify(await rows(bob)) && (await rows(page))[1][1] === 'Logo', 'the same table in both').catch(async e => {
      throw new Error(`${e.message}: ${JSON.stringify(await rows(page))} vs ${JSON.stringify(await rows(bob))}`)
    })
    assert.deepEqual((await rows(page))[0].slice(0, 2), ['Owner', 'Task'])
    const md = await (await fetch(`${server.origin}/api/v1/docs/board/content?format=md`, { headers: { Authorization: `Bearer ${write}` } })).text()
    assert.match(md, /\| Owner \| Task \|  \|\n\| --- \| --- \| --- \|\n\|  \| Logo \|  \|/)
    mkdirSync(join(root, 'target', 'e2e-screenshots'), { recursive: true })
    await page.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-image-and-table-ann.png') })
    await bob.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-image-and-table-bob.png') })
    assert.deepEqual(page.errors, [])
    assert.deepEqual(bob.errors, [])
  } finally {
    await other.close()
    await page.close()
    await server.stop()
  }
})

test('an image pasted while uploads fail is kept in the browser, a placeholder for others, and appears for them once it goes up', async () => {
  const { server, write, page, other, bob } = await annAndBob('offline-image', 'album')
  // Ann's uploads cannot get through (her connection to the document stays).
  let offline = true
  let refused = 0
  await page.setRequestInterception(true)
  page.on('request', req => {
    if (offline && req.method() === 'POST' && req.url().includes('/blobs')) { refused++; req.abort('internetdisconnected') } else req.continue()
  })
  const shown = p => p.evaluate(() => { const img = document.querySelector('#editor [data-node="image"] img'); return !!img && img.complete && img.naturalWidth === 60 })
  const placeholder = p => p.evaluate(() => document.querySelector('#editor .blob-awaited')?.getAttribute('data-placeholder') ?? null)
  try {
    await page.goto(`${server.origin}/d/album#token=${write}`)
    await introduce(page, 'Ann')
    await editorReady(page)
    await page.keyboard.type('From the train:')
    await page.keyboard.press('Enter')
    await pastePng(page, 'train.png', 60, 20, '#16a34a')
    await until(() => page.$eval('#message', el => /kept on this device/.test(el.textContent)), 'Ann told it is kept')
    // Ann sees her image, from this browser, marked as not uploaded yet.
    await until(() => shown(page), 'the image in Ann\'s page')
    await until(() => page.evaluate(() => !!document.querySelector('#editor .blob-waiting')), 'marked not uploaded')
    // The document's text is saved; the status bar does not hide the image that is not.
    await until(() => page.$eval('#files-waiting', el => !el.hidden && el.textContent === '1 image or file not yet uploaded'), 'the waiting file in the status bar')
    const src = await page.evaluate(() => window.__weft.editor.getJSON().content.find(n => n.type === 'image').attrs.src)
    assert.match(src, /^\/api\/v1\/docs\/album\/blobs\/[0-9a-f]{64}$/)
    const onServer = async () => (await fetch(server.origin + src, { headers: { Authorization: `Bearer ${write}` } })).status
    assert.equal(await onServer(), 404, 'not on the server yet')

    // Bob gets the document (the text syncs) and a placeholder for the image.
    await bob.goto(`${server.origin}/d/album#token=${write}`)
    await introduce(bob, 'Bob')
    await editorReady(bob)
    await until(async () => /offline|back online/.test(await placeholder(bob) ?? ''), 'a placeholder in Bob\'s page')
    assert.equal(await shown(bob), false)
    mkdirSync(join(root, 'target', 'e2e-screenshots'), { recursive: true })
    await page.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-offline-image-ann.png') })
    await bob.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-offline-image-bob.png') })
    for (const [p, name] of [[page, 'ann'], [bob, 'bob']]) {
      await p.evaluate(() => { document.documentElement.dataset.theme = 'dark' })
      await p.screenshot({ path: join(root, 'target', 'e2e-screenshots', `web-offline-image-${name}-dark.png`) })
      await p.evaluate(() => { document.documentElement.dataset.theme = 'light' })
    }

    // A reload while it still cannot go up: the kept copy is still shown.
    await page.reload({ waitUntil: 'domcontentloaded' })
    await page.waitForSelector('#editor .tiptap')
    await until(() => shown(page), 'the kept image after a reload')
    await until(() => refused >= 2, 'tried again after the reload')
    assert.equal(await onServer(), 404)

    // Back online: it goes up by itself and Bob's placeholder becomes it.
    offline = false
    await until(() => shown(bob), 'the image in Bob\'s page', 20000)
    assert.equal(await placeholder(bob), null)
    await until(() => page.evaluate(() => !document.querySelector('#editor .blob-waiting')), 'no longer marked in Ann\'s page')
    await until(() => page.$eval('#files-waiting', el => el.hidden), 'nothing waiting in the status bar')
    const stored = await fetch(server.origin + src, { headers: { Authorization: `Bearer ${write}` } })
    assert.equal(stored.status, 200)
    assert.equal(stored.headers.get('content-type'), 'image/png')
    const bytes = Buffer.from(await stored.arrayBuffer())
    assert.equal(createHash('sha256').update(bytes).digest('hex'), src.split('/').pop(), 'the bytes Ann kept')
    await bob.screenshot({ path: join(root, 'target', 'e2e-screenshots', 'web-offline-image-bob-after.png') })
  } finally {
    await other.close()
    await page.close()
    await server.stop()
  }
})

test('behind the documented nginx config the editor loads, syncs and is acked', async () => {
  const { spawn } = await import('node:child_process')
  const { readFileSync } = await import('node:fs')
  const server = await startServer({ port: await freePort(), dataDir: tempDir('nginx'), args: ['--trusted-proxy', '127.0.0.1'] })
  const dir = tempDir('nginx-conf')
  const port = await freePort()
  const example = readFileSync(join(root, 'packaging', 'nginx', 'weft-cluster.conf'), 'utf8')
  const conf = example
    .replace('127.0.0.1:4455', `127.0.0.1:${server.port}`)
    .replace(/\n\s*server 127\.0\.0\.1:4456[^\n]*/, '')
    .replace('listen 8080;', `listen 127.0.0.1:${port};`)
  assert.notEqual(conf, example)
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;\nworker_processes 1;\nuser root;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\naccess_log off;\nclient_body_temp_path ${dir};\nproxy_temp_path ${dir};\n${conf}\n}\n`)
  const nginx = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  const page = await newPage(browser)
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, 'nginx')
    await page.goto(`http://127.0.0.1:${port}/d/proxied`)
    await introduce(page, 'Via')
    await editorReady(page)
    await page.keyboard.type('Through the proxy')
    await until(async () => (await serverText(server, 'proxied')).includes('Through the proxy'), 'the text on the server')
    await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved')
    assert.deepEqual(page.errors, [])
  } finally {
    await page.close()
    nginx.kill('SIGTERM')
    await server.stop()
  }
})

test('over https the page connects with wss:// to its own origin', async () => {
  const { execFileSync } = await import('node:child_process')
  const puppeteer = (await import('puppeteer-core')).default
  const dir = tempDir('tls')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const server = await startServer({ port: await freePort(), dataDir: join(dir, 'data'), args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')], https: true })
  // A certificate of the test's own: this browser is told to accept it.
  const tlsBrowser = await puppeteer.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--ignore-certificate-errors'] })
  try {
    const page = await newPage(tlsBrowser)
    await page.goto(`https://127.0.0.1:${server.port}/d/secure`)
    await introduce(page, 'Tess')
    await editorReady(page)
    const sockets = []
    const cdp = await page.createCDPSession()
    await cdp.send('Network.enable')
    cdp.on('Network.webSocketCreated', e => sockets.push(e.url))
    await page.reload()
    await editorReady(page)
    assert.ok(sockets.some(u => u.startsWith(`wss://127.0.0.1:${server.port}/secure?`)), sockets.join(' '))
    await page.keyboard.type('Over TLS')
    await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved')
  } finally {
    await tlsBrowser.close()
    await server.stop()
  }
})
