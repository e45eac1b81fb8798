// Starts weft-server (built by cargo) on a free port and returns its URL.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

// `dataDir`, if given, is the caller's: kept after stop.
export async function startWeft (extraArgs = [], { dataDir: given, listen = '127.0.0.1:0' } = {}) {
  const bin = process.env.WEFT_SERVER_BIN || join(root, 'target', 'debug', 'weft-server')
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'weft-interop-'))
  const child = spawn(bin, ['--listen', listen, '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' }
  })
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('weft-server did not start')), 10000)
    child.once('exit', code => reject(new Error(`weft-server exited with ${code}; is it built? (${bin})`)))
    createInterface({ input: child.stdout }).on('line', line => {
      const m = line.match(/wss?:\/\/\S+/)
      if (m) { clearTimeout(timer); resolve(m[0]) }
    })
  })
  return {
    url,
    pid: child.pid,
    // Resolves with the exit code.
    async stop () {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const code = await exited
      if (!given) rmSync(dataDir, { recursive: true, force: true })
      return code
    }
  }
}

// Starts the reference server, @y/websocket-server@0.1.1, on a free port.
export async function startReference () {
  const net = await import('node:net')
  const port = await new Promise(resolve => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)) })
  })
  const child = spawn(process.execPath, [join(root, 'tests', 'interop', 'node_modules', '@y', 'websocket-server', 'src', 'server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) }
  })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('@y/websocket-server did not start')), 10000)
    createInterface({ input: child.stdout }).on('line', line => {
      if (line.includes('running')) { clearTimeout(timer); resolve() }
    })
  })
  return {
    url: `ws://127.0.0.1:${port}`,
    async stop () {
      child.kill('SIGTERM')
      await new Promise(resolve => child.once('exit', resolve))
    }
  }
}

// Runs the weft CLI; resolves with { code, stdout, stderr }.
export function weft (args, env = {}) {
  const bin = process.env.WEFT_CLI_BIN || join(root, 'target', 'debug', 'weft')
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.on('error', reject)
    child.on('exit', code => resolve({ code, stdout, stderr }))
  })
}

// Resolves once `check()` is true, polling; rejects with `what` after 10 s.
export function until (check, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const tick = () => {
      if (check()) return resolve()
      if (Date.now() - started > 10000) return reject(new Error(`timed out waiting for ${what}`))
      setTimeout(tick, 10)
    }
    tick()
  })
}
