// Shared by the web editor's tests: weft-server on a chosen port (so a
// restarted server has the same origin), with its whole log kept; Debian's
// Chromium, headless, through puppeteer-core (never a downloaded browser).
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import puppeteer from 'puppeteer-core'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Read when used: a benchmark sets WEFT_SERVER_BIN after importing this. */
export const serverBin = () => process.env.WEFT_SERVER_BIN || join(root, 'target', 'debug', 'weft-server')
export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

export async function freePort () {
  const net = await import('node:net')
  return new Promise(resolve => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)) })
  })
}

export function tempDir (name) { return mkdtempSync(join(tmpdir(), `weft-web-${name}-`)) }

/** weft-server on 127.0.0.1:`port` over `dataDir`, logging at debug level into `.log`. */
export async function startServer ({ port, dataDir, args = [], https = false }) {
  const child = spawn(serverBin(), ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'debug' }
  })
  const server = { child, port, dataDir, log: '', origin: `${https ? 'https' : 'http'}://127.0.0.1:${port}` }
  child.stdout.on('data', d => { server.log += d })
  child.stderr.on('data', d => { server.log += d })
  const exited = new Promise(resolve => child.once('exit', resolve))
  server.stop = async (signal = 'SIGTERM') => { child.kill(signal); await exited }
  for (let i = 0; ; i++) {
    try {
      // The log says when it listens (https: the test's certificate is not trusted by fetch).
      if (https ? /listening/.test(server.log) : (await fetch(`${server.origin}/healthz`)).ok) return server
    } catch {}
    if (i > 100 || child.exitCode !== null) throw new Error(`weft-server did not start:\n${server.log}`)
    await sleep(100)
  }
}

/** Mints a token with the server's key. */
export async function token (secretFile, doc, access) {
  const { execFileSync } = await import('node:child_process')
  return execFileSync(serverBin(), ['--auth-secret-file', secretFile, 'token', '--doc', doc, '--access', access, '--ttl', '1h', '--sub', `web-${access}`]).toString().trim()
}

export async function launchBrowser () {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    // Root in CI: Chromium's sandbox needs a user namespace it cannot have.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,860'],
    defaultViewport: { width: 1280, height: 860 }
  })
}

/** A page that records console errors and uncaught exceptions in `.errors`. */
export async function newPage (browser) {
  const page = await browser.newPage()
  page.errors = []
  page.on('console', m => { if (m.type() === 'error') page.errors.push(m.text()) })
  page.on('pageerror', e => page.errors.push(String(e)))
  return page
}

/** Answers the first-visit question (name and colour) if it is asked. */
export async function introduce (page, name) {
  await page.waitForFunction(() => document.readyState === 'complete')
  const asked = await page.waitForSelector('#welcome[open]', { timeout: 3000 }).catch(() => null)
  if (!asked) return
  await page.type('#welcome input[name=name]', name)
  await page.click('#welcome button[value=ok]')
}

/** Waits for the editor and puts the caret at the end of its text. */
export async function editorReady (page) {
  await page.waitForSelector('#editor .tiptap')
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Connected', { timeout: 15000 })
  await page.click('#editor .tiptap')
  await page.keyboard.press('End')
  await page.keyboard.down('Control'); await page.keyboard.press('End'); await page.keyboard.up('Control')
}

export const text = page => page.$eval('#editor .tiptap', el => el.innerText)

/** The document's text as the server holds it (the API). */
export async function serverText (server, doc, bearer) {
  const res = await fetch(`${server.origin}/api/v1/docs/${doc}/content?format=text`, bearer ? { headers: { Authorization: `Bearer ${bearer}` } } : {})
  return res.ok ? (await res.text()) : `HTTP ${res.status}`
}

export async function until (check, what, ms = 15000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}
