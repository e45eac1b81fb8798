// Desktop benchmark (not a test): two instances on loopback.
//   xvfb-run -a node tests/desktop/bench.mjs
// Prints keystroke-to-remote-render latency, cold start to an editable
// editor, and time per keystroke in a document holding automerge-paper.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { launchApp, freePort } from './webdriver.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const APP = process.env.WEFT_DESKTOP_BIN || join(root, 'target', 'release', 'weft-desktop')
const SERVER = process.env.WEFT_SERVER_BIN || join(root, 'target', 'release', 'weft-server')
const TRACE = join(root, '..', 'shared', 'traces', 'automerge-paper.json.gz')
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((s.length - 1) * q))] }

const port = await freePort()
const server = spawn(SERVER, ['--listen', `127.0.0.1:${port}`, '--data-dir', mkdtempSync(join(tmpdir(), 'weft-bench-'))], { stdio: ['ignore', 'pipe', 'inherit'] })
await new Promise(resolve => createInterface({ input: server.stdout }).on('line', l => { if (l.includes('ws://')) resolve() }))
const env = name => ({ WEFT_DATA_DIR: mkdtempSync(join(tmpdir(), `weft-bench-${name}-`)), WEFT_USER_NAME: name, WEFT_SERVER_URL: `ws://127.0.0.1:${port}` })
const ready = app => app.until(() => app.exec('return !!(window.__weft && window.__weft.editor)'), 'editor')

// Cold start: from asking the driver for a session (which launches the app)
// to an editor that accepts input. Includes WebKitWebDriver's own startup.
const t0 = Date.now()
const ann = await launchApp({ app: APP, env: env('Ann') })
await ann.until(() => ann.exec('return !!document.querySelector("#new-doc")'), 'ui')
const uiReady = Date.now() - t0
await ann.click('#new-doc')
await ready(ann)
const editable = await ann.exec('return window.__weft.editor.isEditable')
const coldStart = Date.now() - t0
const inPage = await ann.exec('return performance.now()')

const url = await ann.until(() => ann.exec('const e = document.querySelector("#doc-list li.current .title"); return e && e.title'), 'the new document')
const bob = await launchApp({ app: APP, env: env('Bob') })
await bob.until(() => bob.exec('return !!document.querySelector("#open-link")'), 'ui')
await bob.click('#open-link')
await bob.type('#prompt-input', url)
await bob.click('#prompt menu button[value=ok]')
await ready(bob)
await sleep(1000)

// Keystroke to remote render: Ann inserts one character at a time (about
// 20 per second); Bob's page records when its editor has rendered each.
await bob.exec(`
  window.__seen = []
  const e = window.__weft.editor
  e.on('update', () => { const n = (e.getText().match(/x/g) || []).length; while (window.__seen.length < n) window.__seen.push(Date.now()) })
`)
const sent = []
const N = 300
for (let i = 0; i < N; i++) {
  sent.push(await ann.exec('const t = Date.now(); window.__weft.editor.commands.insertContent("x"); return t'))
  await sleep(50)
}
await bob.until(async () => (await bob.exec('return window.__seen.length')) >= N, 'all keystrokes', 30000)
const seen = await bob.exec('return window.__seen')
const lat = sent.map((t, i) => seen[i] - t)

// Typing into a big document: automerge-paper's final text, imported.
const trace = JSON.parse(gunzipSync(readFileSync(TRACE)))
const paper = trace.endContent
await ann.exec('return null')
const imported = await ann.exec(`
  return window.__TAURI_INTERNALS__.invoke('import_markdown', { title: 'paper', markdown: arguments[0] }).then(e => e.key)
`, paper.replace(/[\\`*_\[\]<>#~&|!-]/g, m => '\\\\' + m))
await ann.exec('location.reload()')
await ready(ann)
await ann.until(async () => (await ann.exec('return window.__weft.editor.getText().length')) > 50000, 'the paper')
const perKey = await ann.exec(`
  const e = window.__weft.editor
  e.commands.focus(Math.floor(e.state.doc.content.size / 2))
  const out = []
  for (let i = 0; i < 200; i++) { const t = performance.now(); e.commands.insertContent('y'); out.push(performance.now() - t) }
  return out
`)

console.log(JSON.stringify({
  keystrokeToRemoteRenderMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: Math.max(...lat), n: lat.length },
  coldStartMs: { toUi: uiReady, toEditableEditor: coldStart, editable, pageNowAtReady: Math.round(inPage) },
  keystrokeInPaperMs: { p50: +pct(perKey, 0.5).toFixed(2), p99: +pct(perKey, 0.99).toFixed(2), n: perKey.length, docChars: paper.length, imported }
}, null, 2))
await ann.quit()
await bob.quit()
server.kill('SIGTERM')
