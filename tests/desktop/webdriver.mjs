// A minimal W3C WebDriver client (fetch) for tauri-driver, one app per driver.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export async function freePort () {
  const net = await import('node:net')
  return new Promise(resolve => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)) })
  })
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Starts tauri-driver (with the app's environment) and a session on the app. */
export async function launchApp ({ app, env, args = [], driver = 'tauri-driver' }) {
  const port = await freePort()
  const nativePort = await freePort()
  const child = spawn(driver, ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...process.env, ...env },
    // Not our stderr: an app outliving its driver would hold the pipe open
    // and keep the test runner waiting forever.
    stdio: ['ignore', 'ignore', 'ignore']
  })
  const base = `http://127.0.0.1:${port}`
  let session
  for (let i = 0; i < 100 && !session; i++) {
    try {
      const res = await fetch(`${base}/session`, {
        method: 'POST',
        body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: app, args } } } })
      })
      const json = await res.json()
      if (json.value?.sessionId) session = json.value.sessionId
      else if (json.value?.error) throw new Error(JSON.stringify(json.value))
    } catch (e) {
      if (i === 99) throw e
      await sleep(200)
    }
  }
  return new App(base, session, child)
}

export class App {
  constructor (base, session, child) { this.base = base; this.session = session; this.child = child }

  async cmd (method, path, body) {
    const res = await fetch(`${this.base}/session/${this.session}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body) } : {})
    })
    const json = await res.json()
    if (json.value?.error) throw new Error(`${path}: ${json.value.error}: ${json.value.message}`)
    return json.value
  }

  /** Runs a script in the page; `args` are passed as `arguments`. */
  exec (script, ...args) { return this.cmd('POST', '/execute/sync', { script, args }) }

  async find (css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css })
    return Object.values(v)[0]
  }

  async click (css) { await this.cmd('POST', `/element/${await this.find(css)}/click`, {}) }

  async type (css, text) { await this.cmd('POST', `/element/${await this.find(css)}/value`, { text }) }

  async text (css) { return await this.exec('const e = document.querySelector(arguments[0]); return e ? e.innerText : null', css) }

  /** Polls `fn` until it returns a truthy value. */
  async until (fn, what, timeout = 15000) {
    const started = Date.now()
    let last
    while (Date.now() - started < timeout) {
      try { last = await fn(); if (last) return last } catch (e) { last = e }
      await sleep(100)
    }
    throw new Error(`timed out waiting for ${what} (last: ${last})`)
  }

  async screenshot (dir, name) {
    mkdirSync(dir, { recursive: true })
    const png = await this.cmd('GET', '/screenshot')
    writeFileSync(join(dir, `${name}.png`), Buffer.from(png, 'base64'))
  }

  async quit () {
    try { await fetch(`${this.base}/session/${this.session}`, { method: 'DELETE' }) } catch {}
    this.child.kill('SIGTERM')
    await new Promise(resolve => { if (this.child.exitCode !== null) resolve(); else this.child.once('exit', resolve) })
  }
}
