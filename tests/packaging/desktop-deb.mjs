// The installed desktop package, as a new user meets it: run after
// `apt-get install ./Weft_….deb`, under Xvfb and a D-Bus session.
// - The .deb's desktop entry registers weft:// and passes the link (%u).
// - Launching it the way a desktop opens a clicked weft:// link (the entry's
//   Exec line with the link) opens that document in the editor.
// - A second launch with another link hands it to the running window and
//   exits: one instance per user.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { launchApp } from '../desktop/webdriver.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SERVER = join(root, 'target', 'debug', 'weft-server')
const CLI = join(root, 'target', 'debug', 'weft')
const ENTRY = '/usr/share/applications/Weft.desktop'
const SHOTS = join(root, 'target', 'e2e-screenshots')

let server, url, app
// A fresh user: own HOME, so the app's data and settings start empty.
const home = mkdtempSync(join(tmpdir(), 'weft-installed-home-'))
const env = { HOME: home, XDG_DATA_HOME: join(home, '.local/share'), XDG_CONFIG_HOME: join(home, '.config') }

function put (doc, markdown) {
  const file = join(home, `${doc}.md`)
  writeFileSync(file, markdown)
  execFileSync(CLI, ['put', `${url}/${doc}`, file], { stdio: 'ignore' })
}

before(async () => {
  const data = mkdtempSync(join(tmpdir(), 'weft-installed-server-'))
  server = spawn(SERVER, ['--listen', '127.0.0.1:0', '--data-dir', data], { stdio: ['ignore', 'pipe', 'inherit'] })
  url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 10000)
    createInterface({ input: server.stdout }).on('line', l => {
      const m = l.match(/ws:\/\/\S+/)
      if (m) { clearTimeout(t); resolve(m[0]) }
    })
  })
  put('from-a-link', '# Opened from a link\n')
  put('second-link', '# Handed to the running window\n')
})

after(async () => {
  await app?.quit()
  server?.kill('SIGTERM')
})

test('the desktop entry registers weft:// and passes the link', () => {
  const entry = readFileSync(ENTRY, 'utf8')
  assert.match(entry, /^MimeType=.*x-scheme-handler\/weft;/m)
  assert.match(entry, /^Exec=weft-desktop %u$/m)
  assert.match(entry, /^Icon=weft-desktop$/m)
  assert.equal(execFileSync('dpkg-query', ['-W', '-f=${Version}', 'weft']).toString(), process.env.WEFT_VERSION)
})

test('opening a weft:// link launches the installed app on that document', async () => {
  const link = `${url.replace('ws://', 'weft://')}/from-a-link`
  // What a desktop does with a clicked link: the entry's Exec, %u = the link.
  const [bin, ...rest] = readFileSync(ENTRY, 'utf8').match(/^Exec=(.*)$/m)[1].split(' ')
  const args = rest.map(a => a === '%u' ? link : a)
  app = await launchApp({ app: execFileSync('which', [bin]).toString().trim(), env, args })
  await app.until(async () => (await app.exec('const e = window.__weft && window.__weft.editor; return e ? e.getText().trim() : ""')) === 'Opened from a link', 'the linked document in the editor', 30000)
  await app.until(async () => (await app.text('#status')) === 'Connected', 'connected')
  await app.screenshot(SHOTS, 'installed-app')
})

test('a second launch hands its link to the running window and exits', async () => {
  const link = `${url.replace('ws://', 'weft://')}/second-link`
  const second = spawn('/usr/bin/weft-desktop', [link], { env: { ...process.env, ...env }, stdio: 'ignore' })
  const code = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the second instance kept running')), 20000)
    second.once('exit', c => { clearTimeout(t); resolve(c) })
  })
  assert.equal(code, 0)
  await app.until(async () => (await app.exec('const e = window.__weft && window.__weft.editor; return e ? e.getText().trim() : ""')) === 'Handed to the running window', 'the second link opened in the first window', 20000)
  // Both are listed; untitled, each shows its first line (greyed).
  const want = JSON.stringify(['Handed to the running window', 'Opened from a link'])
  let seen
  await app.until(async () => {
    seen = JSON.stringify((await app.exec('return [...document.querySelectorAll("#doc-list .title.untitled")].map(e => e.textContent)')).sort())
    return seen === want
  }, 'both documents in the sidebar by their first lines').catch(e => { throw new Error(`${e.message}; the sidebar shows ${seen}`) })
})
