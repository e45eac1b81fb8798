// Two real app instances (two tauri-drivers, two data directories) on one
// real weft-server, under Xvfb. Screenshots go to target/e2e-screenshots.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { launchApp, freePort } from './webdriver.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const APP = process.env.WEFT_DESKTOP_BIN || join(root, 'target', 'debug', 'weft-desktop')
const SERVER = process.env.WEFT_SERVER_BIN || join(root, 'target', 'debug', 'weft-server')
const CLI = process.env.WEFT_CLI_BIN || join(root, 'target', 'debug', 'weft')
const SHOTS = join(root, 'target', 'e2e-screenshots')

async function startServer (port, dataDir, extra = []) {
  const child = spawn(SERVER, ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } })
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 10000)
    createInterface({ input: child.stdout }).on('line', l => { if (l.includes('ws://')) { clearTimeout(t); resolve() } })
  })
  return { stop: async () => { child.kill('SIGTERM'); await new Promise(r => child.once('exit', r)) } }
}

let port, serverData, server, ann, bob
const dirs = {}
const env = (name, color, dir) => ({
  WEFT_DATA_DIR: dir, WEFT_USER_NAME: name, WEFT_USER_COLOR: color, WEFT_SERVER_URL: `ws://127.0.0.1:${port}`
})

// The document's text (innerText would include other people's caret labels).
const editorText = app => app.exec('const e = window.__weft && window.__weft.editor; return e ? e.getText() : ""')
const statusText = app => app.text('#status')
async function typeAtEnd (app, text) {
  await app.exec('window.__weft.editor.commands.focus("end")')
  await app.type('.tiptap', text)
}
async function waitEditor (app) {
  await app.until(() => app.exec('return !!(window.__weft && window.__weft.editor)'), 'the editor')
}

before(async () => {
  port = await freePort()
  serverData = mkdtempSync(join(tmpdir(), 'weft-e2e-server-'))
  dirs.ann = mkdtempSync(join(tmpdir(), 'weft-e2e-ann-'))
  dirs.bob = mkdtempSync(join(tmpdir(), 'weft-e2e-bob-'))
  server = await startServer(port, serverData)
  ann = await launchApp({ app: APP, env: env('Ann', '#e11d48', dirs.ann) })
  bob = await launchApp({ app: APP, env: env('Bob', '#2563eb', dirs.bob) })
})

after(async () => {
  await ann?.quit()
  await bob?.quit()
  await server?.stop()
})

test('text typed in one window appears in the other, with a named caret', async () => {
  await ann.until(() => ann.exec('return !!document.querySelector("#new-doc")'), 'the UI')
  await ann.click('#new-doc')
  await waitEditor(ann)
  // The sidebar marks the open document just after the editor appears.
  const url = await ann.until(() => ann.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title'), 'the new document in the sidebar')
  assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/[a-z0-9]+$/)

  await bob.until(() => bob.exec('return !!document.querySelector("#open-link")'), 'the UI')
  await bob.click('#open-link')
  await bob.type('#prompt-input', url)
  await bob.click('#prompt menu button[value=ok]')
  await waitEditor(bob)

  await typeAtEnd(ann, 'Hello from Ann')
  await bob.until(async () => (await editorText(bob)).includes('Hello from Ann'), 'Ann\'s text in Bob\'s window')
  await bob.until(async () => (await bob.text('.collaboration-carets__label')) === 'Ann', 'Ann\'s labelled caret in Bob\'s window')
  await ann.until(async () => (await statusText(ann)) === 'Connected', 'connected')
  await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'saved on server')
  await typeAtEnd(bob, ' and Bob')
  await ann.until(async () => (await editorText(ann)).includes('and Bob'), 'Bob\'s text in Ann\'s window')
  await ann.until(async () => (await ann.text('.collaboration-carets__label')) === 'Bob', 'Bob\'s caret')
  // No title yet: both sidebars show the first line, greyed.
  for (const app of [ann, bob]) {
    await app.until(() => app.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.classList.contains("untitled") && e.textContent === "Hello from Ann and Bob"'), 'the first line in the sidebar')
  }
  await ann.screenshot(SHOTS, 'ann-editing')
  await bob.screenshot(SHOTS, 'bob-editing')
})

test('a title a stock y-websocket client sets shows in both apps, their sidebars and the server list', async () => {
  // A stock client, as any Yjs app would be: y-websocket over Node's ws.
  const { WebsocketProvider } = await import('../interop/node_modules/y-websocket/src/y-websocket.js')
  const Y = await import('../interop/node_modules/yjs/dist/yjs.mjs')
  const { default: WebSocket } = await import('../interop/node_modules/ws/index.js')
  const url = await ann.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title')
  const id = url.split('/').pop()
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}`, id, doc, { disableBc: true, WebSocketPolyfill: WebSocket })
  try {
    await ann.until(() => provider.synced, 'the stock client synced')
    doc.getMap('meta').set('title', 'Named by a stock client')
    for (const app of [ann, bob]) {
      await app.until(() => app.exec('return document.getElementById("doc-title").value === "Named by a stock client"'), 'the title in the header')
      await app.until(() => app.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.textContent === "Named by a stock client"'), 'the title in the sidebar')
      assert.equal(await app.exec('return document.title'), 'Named by a stock client — Weft')
    }
    const list = await (await fetch(`http://127.0.0.1:${port}/api/v1/docs`)).json()
    assert.equal(list.docs.find(d => d.id === id)?.title, 'Named by a stock client')
    // The server list refreshes by itself (or when searched).
    await bob.until(() => bob.exec(`const e = document.querySelector('#server-list li[data-id="${id}"] .title'); return e && e.textContent === 'Named by a stock client'`), 'the title in the server list', 20000)
    // Renaming in Bob's header renames it for everyone, the stock client too.
    await bob.exec('const t = document.getElementById("doc-title"); t.value = "Renamed by Bob"; t.dispatchEvent(new Event("change"))')
    await ann.until(() => ann.exec('return document.getElementById("doc-title").value === "Renamed by Bob"'), 'Bob\'s title in Ann\'s header')
    await ann.until(() => doc.getMap('meta').get('title') === 'Renamed by Bob', 'Bob\'s title in the stock client')
    await bob.screenshot(SHOTS, 'bob-shared-title-and-server-list')
  } finally {
    // The doc too: its awareness timer would keep Node (and the run) alive.
    provider.destroy()
    doc.destroy()
  }
})

test('the history panel saves a version, shows it against the document, and restores it for everyone', async () => {
  await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'saved on server')
  const before = await editorText(ann)
  await ann.click('#history-toggle')
  await ann.until(() => ann.exec('return !document.getElementById("history").hidden'), 'the history panel')
  await ann.click('#history-save')
  await ann.type('#prompt-input', 'Before the rewrite')
  await ann.click('#prompt menu button[value=ok]')
  await ann.until(() => ann.exec('return [...document.querySelectorAll("#history-list .v-title")].some(e => e.textContent === "Before the rewrite")'), 'the named version in the list')

  await typeAtEnd(ann, ' then rewritten')
  await bob.until(async () => (await editorText(bob)).includes('then rewritten'), 'the rewrite in Bob\'s window')
  await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'the rewrite saved')
  // Selecting the version shows it, marked against the document now.
  await ann.exec('[...document.querySelectorAll("#history-list li")].find(li => li.querySelector(".v-title").textContent === "Before the rewrite").click()')
  await ann.until(() => ann.exec('return [...document.querySelectorAll("#history-diff del")].some(e => e.textContent.includes("rewritten"))'), 'the rewrite marked as only in the document now')
  assert.equal(await ann.text('#history-view-title'), 'Before the rewrite')
  await ann.screenshot(SHOTS, 'ann-history')

  // Restore (the confirm is answered yes): both windows go back, live.
  await ann.exec('window.confirm = () => true')
  await ann.click('#history-restore')
  for (const app of [ann, bob]) {
    await app.until(async () => (await editorText(app)) === before, 'the version\'s text back')
  }
  await ann.until(() => ann.exec('const t = [...document.querySelectorAll("#history-list .v-title")].map(e => e.textContent); return t.includes("Restored “Before the rewrite”") && document.querySelector("#history-list .v-kind.pre-restore") !== null'), 'the restore and the state before it in the list')
  await ann.screenshot(SHOTS, 'ann-history-restored')
  await ann.exec('document.documentElement.dataset.theme = "dark"')
  await ann.screenshot(SHOTS, 'ann-history-dark')
  await ann.exec('document.documentElement.dataset.theme = "light"')
  await ann.click('#history-close')
})

test('both edit while the server is down, then converge', async () => {
  await server.stop()
  await ann.until(async () => (await statusText(ann)) !== 'Connected', 'Ann offline')
  await bob.until(async () => (await statusText(bob)) !== 'Connected', 'Bob offline')
  await typeAtEnd(ann, ' [Ann offline]')
  await typeAtEnd(bob, ' [Bob offline]')
  await ann.until(async () => /not yet saved/.test(await ann.text('#counts')), 'Ann\'s pending count')
  // Said for a person, not as the socket's error.
  await ann.until(async () => (await ann.text('#message')).startsWith(`Can't reach the server at 127.0.0.1:${port}. You can keep editing`), 'the offline message')
  await ann.screenshot(SHOTS, 'ann-offline')
  server = await startServer(port, serverData)
  for (const app of [ann, bob]) {
    await app.until(async () => {
      const t = await editorText(app)
      return t.includes('[Ann offline]') && t.includes('[Bob offline]')
    }, 'convergence', 30000)
  }
  assert.equal(await editorText(ann), await editorText(bob))
  await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'Ann saved', 30000)
  // The connection is back, so the message about it is gone.
  await ann.until(async () => (await ann.text('#message')) === '', 'the offline message cleared')
})

test('an instance closed while offline keeps its edits and delivers them on reopen', async () => {
  await server.stop()
  await bob.until(async () => (await statusText(bob)) !== 'Connected', 'Bob offline')
  await typeAtEnd(bob, ' [Bob before quitting]')
  await bob.until(async () => /not yet saved/.test(await bob.text('#counts')), 'Bob\'s edit recorded')
  await bob.quit()
  bob = await launchApp({ app: APP, env: env('Bob', '#2563eb', dirs.bob) })
  await waitEditor(bob)
  await bob.until(async () => (await editorText(bob)).includes('[Bob before quitting]'), 'Bob\'s offline edit after reopening')
  server = await startServer(port, serverData)
  await ann.until(async () => (await editorText(ann)).includes('[Bob before quitting]'), 'Bob\'s edit reaching Ann', 30000)
  await bob.screenshot(SHOTS, 'bob-reopened')
})

test('find, export, settings and dark mode work from the UI', async () => {
  // Bob's closed instance left no ghost behind: Ann knows exactly one Bob
  // (his reopened instance), not his old one as well.
  await ann.until(async () => (await ann.exec('return [...window.__weft.bridge.awareness.getStates().values()].filter(s => s.user && s.user.name === "Bob").length')) === 1, 'exactly one Bob, no ghost')
  // Find selects the match.
  await ann.exec('document.dispatchEvent(new CustomEvent("weft-find"))')
  await ann.type('#find-input', 'Bob offline')
  await ann.click('#find-next')
  const selected = await ann.exec('const e = window.__weft.editor; const { from, to } = e.state.selection; return e.state.doc.textBetween(from, to)')
  assert.equal(selected, 'Bob offline')
  assert.match(await ann.text('#find-count'), /^1 of 1$/)

  // Export as Markdown to a file.
  const out = join(dirs.ann, 'export.md')
  await ann.click('#export-md')
  await ann.exec('document.getElementById("prompt-input").value = arguments[0]', out)
  await ann.click('#prompt menu button[value=ok]')
  await ann.until(async () => (await ann.text('#message')).startsWith('Exported'), 'export message')
  const { readFileSync } = await import('node:fs')
  assert.match(readFileSync(out, 'utf8'), /Hello from Ann and Bob/)

  // Settings: a new name reaches the other window's caret label.
  await ann.click('#open-settings')
  await ann.exec('document.querySelector("#settings [name=name]").value = "Annie"')
  await ann.click('#save-settings')
  // Saved (and the editor's user renamed) before typing: one order every run.
  await ann.until(async () => (await ann.text('#message')) === 'Settings saved', 'settings saved')
  await typeAtEnd(ann, ' (signed Annie)')
  await bob.until(async () => (await editorText(bob)).endsWith('(signed Annie)'), 'the signature on Bob\'s screen')
  await bob.until(async () => (await bob.exec('return [...document.querySelectorAll(".collaboration-carets__label")].map(l => l.innerText)')).includes('Annie'), 'the new name on Bob\'s screen', 30000)

  // Dark mode toggle.
  const before = await ann.exec('return document.documentElement.dataset.theme')
  await ann.click('#theme-toggle')
  // The toggle saves the setting first, then repaints.
  const afterTheme = await ann.until(async () => {
    const t = await ann.exec('return document.documentElement.dataset.theme')
    return t !== before && t
  }, 'the theme to change')
  const background = await ann.exec('return getComputedStyle(document.body).backgroundColor')
  assert.equal(background, afterTheme === 'dark' ? 'rgb(17, 19, 24)' : 'rgb(255, 255, 255)')
  await ann.screenshot(SHOTS, `ann-${afterTheme}`)
})

test('Markdown shortcuts make blocks, and undo only undoes your own edits', async () => {
  await ann.exec('window.__weft.editor.commands.focus("end")')
  await ann.exec('window.__weft.editor.commands.splitBlock()')
  await ann.type('.tiptap', '## Agenda')
  await ann.until(async () => {
    const json = await ann.exec('return window.__weft.editor.getJSON()')
    return json.content.some(n => n.type === 'heading' && n.attrs.level === 2 && n.content?.[0]?.text === 'Agenda')
  }, 'a level-2 heading from "## "')
  await bob.until(async () => (await editorText(bob)).includes('Agenda'), 'the heading in Bob\'s window')
  await typeAtEnd(bob, ' bob-was-here')
  await ann.until(async () => (await editorText(ann)).includes('bob-was-here'), 'Bob\'s edit in Ann\'s window')
  // Ann undoes: her heading text goes, Bob's edit stays.
  for (let i = 0; i < 3; i++) await ann.exec('window.__weft.editor.commands.undo()')
  const after = await editorText(ann)
  assert.ok(after.includes('bob-was-here'), after)
  assert.ok(!after.includes('Agenda'), after)
  await bob.until(async () => !(await editorText(bob)).includes('Agenda'), 'the undo reaching Bob')
})

// One row at any width: groups that do not fit go into the More menu.
// A 40x30 PNG, pasted as a screenshot is: a File in the paste event.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAACgAAAAeCAIAAADRv8uKAAAALElEQVR4nO3NMQ0AAAgDsKnjxb8AfCADjib9m645EbFYLBaLxWKxWCwW/40XgDzsOzW8Iw4AAAAASUVORK5CYII='
const pastePng = app => app.exec(`
  const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0))
  const data = new DataTransfer()
  data.items.add(new File([bytes], 'board.png', { type: 'image/png' }))
  document.querySelector('.tiptap').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))`, PNG)
// Cell text without carets and their labels.
const tableRows = app => app.exec(`return [...document.querySelectorAll('.tiptap table tr')].map(tr => [...tr.children].map(c => {
  const copy = c.cloneNode(true); copy.querySelectorAll('[class*="collaboration"]').forEach(e => e.remove()); return copy.textContent }))`)

test('a pasted image reaches the other window; a table from the toolbar, both typing in cells', async () => {
  const current = () => ann.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title')
  const before = await current()
  await ann.click('#new-doc')
  const url = await ann.until(async () => { const u = await current(); return u !== before && u }, 'the new document')
  await waitEditor(ann)
  await bob.click('#open-link')
  await bob.exec('document.getElementById("prompt-input").value = arguments[0]', url)
  await bob.click('#prompt menu button[value=ok]')
  await bob.until(async () => (await bob.exec('return document.querySelector("#doc-list li.current .title")?.title')) === url, 'the document in Bob\'s window')
  await typeAtEnd(ann, 'Whiteboard, Thursday')
  await bob.until(async () => (await editorText(bob)).includes('Thursday'), 'Ann\'s text in Bob\'s window')

  await ann.exec('window.__weft.editor.commands.focus("end")')
  await pastePng(ann)
  await ann.until(async () => (await ann.text('#message')) === 'board.png added', 'the upload')
  // Bob's window loads it from the server (through the app, with his token).
  await bob.until(() => bob.exec('const i = document.querySelector(".tiptap img"); return !!i && i.complete && i.naturalWidth === 40'), 'the image in Bob\'s window', 20000)
  const src = await bob.exec('return window.__weft.editor.getJSON().content.find(n => n.type === "image").attrs.src')
  assert.match(src, /^\/api\/v1\/docs\/[a-z0-9]+\/blobs\/[0-9a-f]{64}$/)

  await ann.exec('window.__weft.editor.commands.focus("end")')
  await ann.click('#toolbar button[aria-label="Insert table"]')
  await bob.until(() => bob.exec('return !!document.querySelector(".tiptap table")'), 'the table in Bob\'s window')
  await ann.type('.tiptap', 'Owner')
  await bob.click('.tiptap table tr:nth-child(2) td:nth-child(2) p')
  await bob.type('.tiptap', 'Logo')
  const same = async () => JSON.stringify(await tableRows(ann)) === JSON.stringify(await tableRows(bob))
  await ann.until(async () => (await same()) && (await tableRows(ann))[1][1] === 'Logo' && (await tableRows(ann))[0][0] === 'Owner', 'one table in both windows')
  await ann.screenshot(SHOTS, 'ann-image-and-table')
  await bob.screenshot(SHOTS, 'bob-image-and-table')

  // A file: a chip with its name and size; Bob saves it where he says.
  await ann.exec('window.__weft.editor.commands.focus("end")')
  await ann.exec(`const data = new DataTransfer()
    data.items.add(new File(['%PDF-1.7 minutes of the meeting'], 'minutes.pdf', { type: 'application/pdf' }))
    document.querySelector('.tiptap').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))`)
  await bob.until(() => bob.exec('return document.querySelector(".tiptap .file-chip")?.innerText'), 'the file chip in Bob\'s window')
  assert.match(await bob.text('.tiptap .file-chip'), /minutes\.pdf\s+31 bytes/)
  const saved = join(dirs.bob, 'saved-minutes.pdf')
  await bob.click('.tiptap .file-chip a')
  await bob.until(() => bob.exec('return document.getElementById("prompt").open'), 'the save dialog')
  await bob.exec('document.getElementById("prompt-input").value = arguments[0]', saved)
  await bob.click('#prompt menu button[value=ok]')
  await bob.until(async () => (await bob.text('#message')) === `Saved ${saved}`, 'the file saved')
  const { readFileSync } = await import('node:fs')
  assert.equal(readFileSync(saved, 'utf8'), '%PDF-1.7 minutes of the meeting')
  await bob.screenshot(SHOTS, 'bob-file-chip')
})

test('an image pasted while the server is down is kept, shown to Ann, and appears for Bob once she is back online', async () => {
  await server.stop()
  await ann.until(async () => (await statusText(ann)) !== 'Connected', 'Ann offline')
  // Said once: the engine's retries failing the same way do not replace what is said next.
  await ann.until(async () => (await ann.text('#message')).startsWith("Can't reach the server"), 'the offline message')
  await ann.exec('window.__weft.editor.commands.focus("end")')
  // A new image (a 50x50 canvas), so the server cannot have it already.
  await ann.exec(`return new Promise(resolve => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 50, height: 50 })
    const g = canvas.getContext('2d'); g.fillStyle = '#db2777'; g.fillRect(0, 0, 50, 50)
    canvas.toBlob(png => {
      const data = new DataTransfer()
      data.items.add(new File([png], 'offline.png', { type: 'image/png' }))
      document.querySelector('.tiptap').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
      resolve(true)
    }, 'image/png')
  })`)
  await ann.until(async () => /offline\.png is kept on this device/.test(await ann.text('#message')), 'Ann told it is kept').catch(async e => {
    throw new Error(`${e.message}; the message: ${await ann.text('#message')}`)
  })
  const loaded = (app, px) => app.exec('return [...document.querySelectorAll(".tiptap img")].some(i => i.complete && i.naturalWidth === arguments[0])', px)
  // Shown from this computer while the server is down.
  await ann.until(() => loaded(ann, 50), 'the kept image in Ann\'s window')
  await ann.until(async () => (await ann.text('#files-waiting')) === '1 image or file not yet uploaded', 'the waiting image in the status bar')
  await ann.screenshot(SHOTS, 'ann-image-offline')
  // Still said: the engine's failing retries meanwhile did not replace it.
  assert.match(await ann.text('#message'), /offline\.png is kept on this device/)
  assert.equal(await loaded(bob, 50), false)

  server = await startServer(port, serverData)
  await bob.until(() => loaded(bob, 50), 'the image in Bob\'s window once Ann is back', 30000)
  await ann.until(() => ann.exec('return document.getElementById("files-waiting").hidden'), 'nothing waiting in Ann\'s status bar')
  const pending = await bob.exec('return window.__weft.editor.getJSON().content.filter(n => n.type === "image").map(n => n.attrs.pending)')
  assert.deepEqual(pending, [false, false], 'the placeholder mark cleared for everyone')
  await bob.screenshot(SHOTS, 'bob-image-after-offline')
})

const toolbarRows = app => app.exec('return new Set([...document.querySelectorAll("#toolbar > .group:not([hidden]) > button, #toolbar > .toolbar-more:not([hidden])")].map(b => Math.round(b.getBoundingClientRect().top))).size')

test('the toolbar stays on one row with the rest in a menu, and Ctrl+/ lists the shortcuts', async () => {
  for (const width of [1400, 1100, 760]) {
    await ann.cmd('POST', '/window/rect', { width, height: 820 })
    await ann.until(async () => Math.abs((await ann.exec('return window.outerWidth')) - width) < 40, `a ${width} px window`)
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(await toolbarRows(ann), 1, `the toolbar wraps at ${width} px`)
    if (width === 1100) {
      // Light and dark, as a person sees them.
      for (let i = 0; i < 2; i++) {
        const theme = await ann.exec('return document.documentElement.dataset.theme')
        await ann.screenshot(SHOTS, `ann-toolbar-1100-${theme}`)
        await ann.click('#theme-toggle')
      }
    }
  }
  // At 760 px the later groups are in the menu, with names and shortcuts.
  assert.ok(await ann.exec('return document.querySelectorAll("#toolbar > .group[hidden]").length') > 0)
  await ann.click('#toolbar .toolbar-more')
  const items = await ann.exec('return [...document.querySelectorAll(".toolbar-menu:not([hidden]) .menu-item")].map(i => i.innerText)')
  assert.ok(items.some(t => t.includes('Keyboard shortcuts') && t.includes('Ctrl+/')), items.join(' | '))
  await ann.screenshot(SHOTS, 'ann-toolbar-menu')
  await ann.click('#toolbar .toolbar-more')
  // Every button says what it does and its keys.
  assert.equal(await ann.exec('return document.querySelector("#toolbar button[aria-label=Bold]").title'), 'Bold (Ctrl+B)')
  // Ctrl+/ typed in the editor opens the sheet.
  await ann.exec('window.__weft.editor.commands.focus("end")')
  await ann.type('.tiptap', '\uE009/\uE000')
  await ann.until(() => ann.exec('return document.getElementById("shortcuts").open'), 'the shortcut sheet')
  const sheet = await ann.text('#shortcut-list')
  assert.match(sheet, /Bold\s+Ctrl\s*B/)
  assert.match(sheet, /Find in document\s+Ctrl\s*F/)
  await ann.screenshot(SHOTS, 'ann-shortcuts')
  await ann.click('#shortcuts menu button[value=close]')
  await ann.cmd('POST', '/window/rect', { width: 1400, height: 900 })
})

// A server that needs tokens, and `app` pointed at it with a write token
// (for `sub`) in Settings, on a new document there. Resolves with what the
// test needs; stop() it in a finally.
async function securedServer (app, sub, name) {
  const authPort = await freePort()
  const authData = mkdtempSync(join(tmpdir(), `weft-e2e-${name}-`))
  const secret = join(authData, 'secret')
  writeFileSync(secret, 'e2e-secret-that-is-long-enough-0123456789')
  const server = await startServer(authPort, authData, ['--auth-secret-file', secret])
  const token = execFileSync(SERVER, ['--auth-secret-file', secret, 'token', '--doc', '*', '--access', 'write', '--ttl', '1h', ...(sub ? ['--sub', sub] : [])]).toString().trim()
  await app.click('#open-settings')
  await app.exec(`const f = document.querySelector('#settings form')
    f.elements.serverUrl.value = arguments[0]; f.elements.serverUrl.dispatchEvent(new Event('input'))
    f.elements.token.value = arguments[1]`, `ws://127.0.0.1:${authPort}`, token)
  await app.click('#save-settings')
  // Asked of the app itself: the status line may already say something
  // else (the previous document's server may be gone).
  await app.until(async () => (await app.exec(`const r = window.__weftServerUrl
    window.__TAURI_INTERNALS__.invoke('get_settings').then(s => { window.__weftServerUrl = s.serverUrl })
    return r`)) === `ws://127.0.0.1:${authPort}`, 'settings saved')
  await app.click('#new-doc')
  await app.until(async () => {
    const url = await app.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title')
    return url && url.includes(`:${authPort}/`)
  }, 'a new document on the secured server')
  await waitEditor(app)
  return server
}

test('a view-only link made in the share dialog opens read-only, and says so', async () => {
  const authServer = await securedServer(ann, null, 'auth')
  try {
    await typeAtEnd(ann, 'Plans for viewers')
    await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'saved with the token')
    assert.equal(await ann.exec('return document.getElementById("view-only").hidden'), true)

    await ann.click('#share')
    const view = await ann.until(() => ann.exec('const v = document.getElementById("share-view"); return !v.closest("label").hidden && v.value'), 'the view-only link')
    const edit = await ann.exec('return document.getElementById("share-edit").value')
    assert.match(view, /^weft:\/\/127\.0\.0\.1:\d+\/[a-z0-9]+\?token=/)
    assert.notEqual(view, edit)
    await ann.screenshot(SHOTS, 'ann-share-dialog')
    await ann.click('#share-dialog menu button[value=close]')

    await bob.click('#open-link')
    await bob.exec('document.getElementById("prompt-input").value = arguments[0]', view)
    await bob.click('#prompt menu button[value=ok]')
    await bob.until(async () => (await editorText(bob)).includes('Plans for viewers'), 'the document in Bob\'s window')
    await bob.until(() => bob.exec('return !document.getElementById("view-only").hidden'), 'the View only badge')
    assert.equal(await bob.exec('return window.__weft.editor.isEditable'), false)
    assert.equal(await bob.exec('return document.querySelector(".tiptap").getAttribute("contenteditable")'), 'false')
    // Bob's keystrokes go nowhere (the driver may refuse them outright).
    await bob.type('.tiptap', 'vandalism').catch(() => {})
    // Ann's edits still reach him, and he shows up as present for Ann.
    await typeAtEnd(ann, ' (still live)')
    await bob.until(async () => (await editorText(bob)).includes('(still live)'), 'Ann\'s later edit in Bob\'s window')
    assert.ok(!(await editorText(bob)).includes('vandalism'))
    await ann.until(async () => (await ann.exec('return [...document.querySelectorAll("#avatars .avatar")].map(a => a.title).join()')).includes('Bob'), 'Bob among the people here')
    await bob.screenshot(SHOTS, 'bob-view-only')
  } finally {
    await authServer.stop()
  }
})

// Selects `word` in the editor as a mouse would (the DOM selection; the
// editor may be read-only), the first time it occurs.
const selectWord = (app, word) => app.exec(`const root = document.querySelector('.tiptap')
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const at = n.data.indexOf(arguments[0])
    if (at < 0) continue
    const r = document.createRange(); r.setStart(n, at); r.setEnd(n, at + arguments[0].length)
    const s = getSelection(); s.removeAllRanges(); s.addRange(r); return true
  }
  return false`, word)
const threadsIn = app => app.exec('return [...document.querySelectorAll("#comments-list .c-thread")].map(t => ({ quote: t.querySelector(".c-quote").textContent, messages: [...t.querySelectorAll(".c-text")].map(m => m.textContent), resolved: t.classList.contains("resolved") }))')

test('a comment link: comments on a word, cannot edit; the writer sees it, replies and resolves', async () => {
  const authServer = await securedServer(ann, 'ann', 'comments')
  try {
    await typeAtEnd(ann, 'The launch moves to Thursday after the review.')
    await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'saved')

    // A writes; the share dialog offers edit, comment and view links.
    await ann.click('#share')
    const link = await ann.until(() => ann.exec('const v = document.getElementById("share-comment"); return !v.closest("fieldset").hidden && v.value'), 'the comment link')
    assert.ok(await ann.exec('return !document.getElementById("share-edit-row").hidden && !document.getElementById("share-view-row").hidden'))
    await ann.screenshot(SHOTS, 'ann-share-with-comment-link')
    await ann.click('#share-dialog menu button[value=close]')

    // B opens the comment link: read-only body, "Can comment".
    await bob.click('#open-link')
    await bob.exec('document.getElementById("prompt-input").value = arguments[0]', link)
    await bob.click('#prompt menu button[value=ok]')
    await bob.until(async () => (await editorText(bob)).includes('Thursday'), 'the document in Bob\'s window')
    await bob.until(async () => (await bob.text('#view-only')) === 'Can comment', 'the Can comment badge')
    assert.equal(await bob.exec('return window.__weft.editor.isEditable'), false)
    await bob.type('.tiptap', 'vandalism').catch(() => {})

    // B comments on a word.
    assert.ok(await selectWord(bob, 'Thursday'))
    await bob.click('#comment-add')
    await bob.until(() => bob.exec('return !document.getElementById("comments-new").hidden'), 'the new-comment box')
    assert.equal(await bob.text('#comments-new-quote'), 'Thursday')
    await bob.type('#comments-new-text', 'Can we make it Friday?')
    await bob.click('#comments-new-send')
    await bob.until(async () => (await threadsIn(bob)).length === 1, 'Bob\'s thread in his panel')
    await bob.until(() => bob.exec('return document.querySelector(".tiptap .comment-mark")?.textContent'), 'the highlight in Bob\'s window')

    // A sees the highlight, the count and the thread.
    await ann.until(() => ann.exec('return document.querySelector(".tiptap .comment-mark")?.textContent === "Thursday"'), 'the highlight in Ann\'s window')
    await ann.until(async () => (await ann.text('#comments-count')) === '1', 'the count badge')
    assert.ok(!(await editorText(ann)).includes('vandalism'), 'Bob could not type into the body')
    // Clicking the highlighted text opens its thread.
    await ann.click('.tiptap .comment-mark')
    await ann.until(() => ann.exec('return !document.getElementById("comments-panel").hidden'), 'the panel')
    const [thread] = await threadsIn(ann)
    assert.deepEqual(thread, { quote: 'Thursday', messages: ['Can we make it Friday?'], resolved: false })
    await ann.screenshot(SHOTS, 'ann-comment-thread')
    await bob.screenshot(SHOTS, 'bob-commenting')

    // A replies, then resolves; B sees both.
    await ann.type('#comments-list .c-reply textarea', 'Friday works.')
    await ann.click('#comments-list .c-actions button.primary')
    await bob.until(async () => (await threadsIn(bob))[0]?.messages.length === 2, 'Ann\'s reply in Bob\'s panel')
    assert.deepEqual((await threadsIn(bob))[0].messages, ['Can we make it Friday?', 'Friday works.'])
    await bob.click('#theme-toggle')
    await bob.until(() => bob.exec('return document.documentElement.dataset.theme === "dark"'), 'dark mode')
    await bob.screenshot(SHOTS, 'bob-comment-reply-dark')
    await bob.click('#theme-toggle')
    await bob.until(() => bob.exec('return document.documentElement.dataset.theme === "light"'), 'light mode')
    await ann.exec('[...document.querySelectorAll("#comments-list .c-actions button")].find(b => b.textContent === "Resolve").click()')
    await ann.until(() => ann.exec('return document.getElementById("comments-count").hidden'), 'no open threads')
    await bob.until(() => bob.exec('return !document.querySelector(".tiptap .comment-mark")'), 'the highlight gone in Bob\'s window')
    await ann.screenshot(SHOTS, 'ann-comment-resolved')
    // The body never changed under Bob's keys; the thread is kept, resolved.
    assert.equal(await editorText(bob), await editorText(ann))
    await ann.click('#comments-resolved')
    await ann.until(async () => (await threadsIn(ann))[0]?.resolved === true, 'the resolved thread behind the toggle')
    await ann.click('#comments-close')
  } finally {
    await authServer.stop()
  }
})

// Mounting the small filesystem needs root, which CI has.
test('a server that cannot write says so in the status bar, and saves once it can', { skip: process.getuid?.() !== 0 && !process.env.CI && 'mounting a tmpfs needs root' }, async () => {
  const fullPort = await freePort()
  const disk = mkdtempSync(join(tmpdir(), 'weft-e2e-full-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk])
  const full = await startServer(fullPort, disk)
  try {
    const url = `ws://127.0.0.1:${fullPort}/full`
    // The CLI fills the disk until the server cannot store any more.
    const chunk = join(mkdtempSync(join(tmpdir(), 'weft-e2e-chunk-')), 'chunk.md')
    writeFileSync(chunk, 'Minutes of a very long meeting. '.repeat(8000))
    let filled = false
    for (let i = 0; i < 10 && !filled; i++) {
      filled = spawnSync(CLI, ['--timeout', '3s', 'put', '--append', url, chunk]).status !== 0
    }
    assert.ok(filled, 'the disk never filled')
    await ann.click('#open-link')
    await ann.exec('document.getElementById("prompt-input").value = arguments[0]', url)
    await ann.click('#prompt menu button[value=ok]')
    await ann.until(async () => (await editorText(ann)).includes('Minutes of a very long meeting'), 'the document', 30000)
    await typeAtEnd(ann, ' [typed while the disk is full]')
    await ann.until(async () => (await ann.text('#counts')) === 'Not saved on server: the server cannot write (disk full?)', 'the not-saved status')
    await ann.screenshot(SHOTS, 'ann-server-cannot-save')
    execFileSync('mount', ['-o', 'remount,size=60m', disk])
    await ann.until(async () => (await ann.text('#counts')) === 'Saved on server', 'saved once the disk has room', 30000)
  } finally {
    await full.stop()
    execFileSync('umount', ['-l', disk])
  }
})
