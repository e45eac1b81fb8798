// The web editor and the desktop app on one document, on one server: text
// and carets both ways, and an edit made in the browser while the server is
// down (kept over a reload) reaching the app once the server is back.
// Needs a display for the app (scripts/test runs this under Xvfb).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { launchApp } from '../desktop/webdriver.mjs'
import { editorReady, freePort, introduce, launchBrowser, newPage, root, startServer, tempDir, until } from './helpers.mjs'

const APP = process.env.WEFT_DESKTOP_BIN || join(root, 'target', 'debug', 'weft-desktop')
const SHOTS = join(root, 'target', 'e2e-screenshots')

let port, dataDir, server, browser, app, page
const appText = () => app.exec('const e = window.__weft && window.__weft.editor; return e ? e.getText() : ""')
const pageText = () => page.evaluate(() => window.__weft.editor?.getText() ?? '')

before(async () => {
  if (!process.env.DISPLAY) throw new Error('the app needs a display: run under xvfb-run (scripts/test does)')
  port = await freePort()
  dataDir = tempDir('desktop')
  server = await startServer({ port, dataDir })
  app = await launchApp({
    app: APP,
    env: { WEFT_DATA_DIR: tempDir('app'), WEFT_USER_NAME: 'Ann', WEFT_USER_COLOR: '#e11d48', WEFT_SERVER_URL: `ws://127.0.0.1:${port}` }
  })
  browser = await launchBrowser()
  page = await newPage(browser)
})

after(async () => {
  await app?.quit()
  await browser?.close()
  await server?.stop()
})

test('a browser and the app edit one document: text and named carets both ways', async () => {
  await app.until(() => app.exec('return !!document.querySelector("#new-doc")'), 'the app')
  await app.click('#new-doc')
  await app.until(() => app.exec('return !!(window.__weft && window.__weft.editor)'), 'the app\'s editor')
  const url = await app.until(() => app.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title'), 'the new document')
  const id = url.split('/').pop()

  await page.goto(`${server.origin}/d/${id}`)
  await introduce(page, 'Wren')
  await editorReady(page)

  await app.exec('window.__weft.editor.commands.focus("end")')
  await app.type('.tiptap', 'Hello from the app')
  await until(async () => (await pageText()).includes('Hello from the app'), 'the app\'s text in the browser')
  await page.evaluate(() => window.__weft.editor.commands.focus('end'))
  await page.keyboard.type(' and from a browser')
  await app.until(async () => (await appText()).includes('and from a browser'), 'the browser\'s text in the app')
  await app.until(async () => (await app.text('.collaboration-carets__label')) === 'Wren', 'Wren\'s caret in the app')
  await until(() => page.$eval('.collaboration-carets__label', el => el.textContent).catch(() => null).then(t => t === 'Ann'), 'Ann\'s caret in the browser')
  // Both see both people.
  await app.until(() => app.exec('return [...document.querySelectorAll("#avatars .avatar")].map(a => a.title).sort().join(",") === "Ann (you),Wren"'), 'avatars in the app')
  await until(() => page.evaluate(() => [...document.querySelectorAll('#avatars .avatar')].map(a => a.title).sort().join(',') === 'Ann,Wren (you)'), 'avatars in the browser')
  mkdirSync(SHOTS, { recursive: true })
  await app.screenshot(SHOTS, 'web-and-app-the-app')
  await page.screenshot({ path: join(SHOTS, 'web-and-app-the-browser.png') })
  assert.deepEqual(page.errors, [])
})

test('an edit made in the browser with the server down survives a reload and reaches the app when the server is back', async () => {
  await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved')
  // The page opens offline only once its service worker has kept it.
  await until(() => page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker')
  await server.stop()
  await until(() => page.$eval('#status', el => el.textContent === 'Offline'), 'Offline in the browser')
  await page.click('#editor .tiptap')
  await page.keyboard.down('Control'); await page.keyboard.press('End'); await page.keyboard.up('Control')
  await page.keyboard.type(' (written offline)')
  await until(() => page.$eval('#counts', el => /not yet saved on server/.test(el.textContent)), 'shown as not saved')
  await page.reload({ waitUntil: 'domcontentloaded' })
  await until(async () => (await pageText().catch(() => '')).includes('(written offline)'), 'the offline edit after a reload').catch(async e => {
    await page.screenshot({ path: join(SHOTS, 'web-offline-reload-failed.png') })
    const seen = await page.evaluate(() => `${location.href}: ${document.body?.innerText.slice(0, 300)}`).catch(err => String(err))
    throw new Error(`${e.message}; the page shows ${seen}`)
  })
  assert.match(await page.$eval('#counts', el => el.textContent), /not yet saved on server/)
  server = await startServer({ port, dataDir })
  await app.until(async () => (await appText()).includes('(written offline)'), 'the offline edit in the app', 30000)
  await until(() => page.$eval('#counts', el => el.textContent === 'Saved on server'), 'saved in the browser', 30000)
  assert.equal(await appText(), await pageText())
  await page.screenshot({ path: join(SHOTS, 'web-offline-edit-synced.png') })
})
