// Web editor benchmark (not a test), at weft-server's shipped defaults:
//   xvfb-run -a node tests/web/bench.mjs        (release builds)
// Prints the JavaScript a cold load of /d/<doc> transfers (compressed), the
// time from navigation to an editable, synced document in headless
// Chromium (20 cold loads, each in a fresh browser context), and keystroke
// to remote render from the web editor to the desktop app beside
// desktop-to-desktop, measured in the same run.
import { join } from 'node:path'
import { launchApp } from '../desktop/webdriver.mjs'
import { freePort, introduce, launchBrowser, newPage, root, sleep, startServer, tempDir } from './helpers.mjs'

process.env.WEFT_SERVER_BIN ||= join(root, 'target', 'release', 'weft-server')
const APP = process.env.WEFT_DESKTOP_BIN || join(root, 'target', 'release', 'weft-desktop')
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((s.length - 1) * q))] }

const server = await startServer({ port: await freePort(), dataDir: tempDir('bench') })
const browser = await launchBrowser()

// Cold loads: a new context has no cache, no service worker, no storage.
const loads = []
let js = null
for (let i = 0; i < 21; i++) {
  const ctx = await browser.createBrowserContext()
  const page = await newPage(ctx)
  // A returning person (no first-visit question): the name is already kept.
  await page.evaluateOnNewDocument(() => localStorage.setItem('weft.settings', JSON.stringify({ serverUrl: location.origin, name: 'Bench', color: '#2563eb', tokens: {}, theme: 'light' })))
  const cdp = await page.createCDPSession()
  await cdp.send('Network.enable')
  const scripts = new Map()
  let bytes = 0
  cdp.on('Network.responseReceived', e => { if (e.type === 'Script') scripts.set(e.requestId, e.response.url) })
  cdp.on('Network.loadingFinished', e => { if (scripts.has(e.requestId)) bytes += e.encodedDataLength })
  await page.goto(`${server.origin}/d/cold-${i}`)
  const ms = await page.evaluate(() => new Promise(resolve => {
    const ready = () => document.querySelector('#editor .tiptap[contenteditable=true]') && document.querySelector('#status')?.textContent === 'Connected'
    const check = () => ready() ? resolve(performance.now()) : requestAnimationFrame(check)
    check()
  }))
  // The first load also warms the server's binary pages: not counted.
  if (i > 0) loads.push(ms)
  js ??= { bytes, files: scripts.size }
  await ctx.close()
}

// Keystrokes: Ann (app) makes the document; Bob (app) and Wren (browser)
// open it. Ann types, then Wren types; Bob's page records each arrival.
const env = name => ({ WEFT_DATA_DIR: tempDir(`bench-${name}`), WEFT_USER_NAME: name, WEFT_SERVER_URL: `ws://127.0.0.1:${server.port}` })
const ready = app => app.until(() => app.exec('return !!(window.__weft && window.__weft.editor)'), 'editor')
const ann = await launchApp({ app: APP, env: env('Ann') })
await ann.until(() => ann.exec('return !!document.querySelector("#new-doc")'), 'ui')
await ann.click('#new-doc')
await ready(ann)
const url = await ann.until(() => ann.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title'), 'the new document')
const id = url.split('/').pop()
const bob = await launchApp({ app: APP, env: env('Bob') })
await bob.until(() => bob.exec('return !!document.querySelector("#open-link")'), 'ui')
await bob.click('#open-link')
await bob.type('#prompt-input', url)
await bob.click('#prompt menu button[value=ok]')
await ready(bob)
const wren = await newPage(browser)
await wren.goto(`${server.origin}/d/${id}`)
await introduce(wren, 'Wren')
await wren.waitForFunction(() => document.querySelector('#status')?.textContent === 'Connected')
await sleep(1000)

async function keystrokes (ch, send) {
  // One listener for both runs, counting whichever character is measured.
  await bob.exec(`
    window.__seen = []
    window.__ch = arguments[0]
    const e = window.__weft.editor
    if (!window.__counting) {
      window.__counting = true
      e.on('update', () => { const n = e.getText().split(window.__ch).length - 1; while (window.__seen.length < n) window.__seen.push(Date.now()) })
    }
  `, ch)
  const sent = []
  const N = 300
  for (let i = 0; i < N; i++) { sent.push(await send()); await sleep(50) }
  await bob.until(async () => (await bob.exec('return window.__seen.length')) >= N, 'all keystrokes', 30000)
  const seen = await bob.exec('return window.__seen')
  const lat = sent.map((t, i) => seen[i] - t)
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: Math.max(...lat), n: lat.length }
}
const desktop = await keystrokes('x', () => ann.exec('const t = Date.now(); window.__weft.editor.commands.insertContent("x"); return t'))
const web = await keystrokes('q', () => wren.evaluate(() => { const t = Date.now(); window.__weft.editor.commands.insertContent('q'); return t }))

console.log(JSON.stringify({
  coldLoadJs: { compressedBytes: js.bytes, kB: +(js.bytes / 1000).toFixed(1), files: js.files },
  navigationToEditableMs: { p50: +pct(loads, 0.5).toFixed(0), min: +Math.min(...loads).toFixed(0), max: +Math.max(...loads).toFixed(0), n: loads.length },
  keystrokeToRemoteRenderMs: { desktopToDesktop: desktop, webToDesktop: web }
}, null, 2))
await ann.quit()
await bob.quit()
await browser.close()
await server.stop()
