// Native TLS: the CLI and a stock y-websocket client reach weft-server over
// wss:// with no proxy, trusting a self-signed certificate the way users do
// (SSL_CERT_FILE for the CLI, NODE_EXTRA_CA_CERTS for Node).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startWeft, weft } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'weft-tls-'))
const cert = join(dir, 'cert.pem')
const key = join(dir, 'key.pem')
let server

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    // A leaf, not a CA: rustls (rightly) refuses a CA certificate as a server's.
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth'], { stdio: 'ignore' })
  server = await startWeft(['--tls-cert', cert, '--tls-key', key])
})
after(async () => {
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('the server announces wss://', () => {
  assert.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+$/)
})

test('weft put over wss, then a stock y-websocket client reads it over wss', async () => {
  const url = `${server.url}/secure-doc`
  writeFileSync(join(dir, 'note.md'), 'hello over wss\n')
  const put = await weft(['put', url, join(dir, 'note.md')], { SSL_CERT_FILE: cert })
  assert.equal(put.code, 0, put.stderr)

  const child = spawn(process.execPath, ['--experimental-websocket', join(here, 'wss-reader.mjs'), server.url, 'secure-doc'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }
  })
  let out = ''
  child.stdout.on('data', d => { out += d })
  const code = await new Promise(resolve => child.on('exit', resolve))
  assert.equal(code, 0)
  assert.match(out, /hello over wss/)
})

test('a client that does not trust the certificate is refused', async () => {
  const r = await weft(['cat', `${server.url}/secure-doc`, '--timeout', '3s'], { SSL_CERT_FILE: '/dev/null' })
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /certificate|tls|TLS/)
})
