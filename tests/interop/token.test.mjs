// A token minted by `weft-server token` works with a stock y-websocket client.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { startWeft, until } from './server.mjs'

process.setMaxListeners(100)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = process.env.WEFT_SERVER_BIN || join(root, 'target', 'debug', 'weft-server')
const secret = join(mkdtempSync(join(tmpdir(), 'weft-token-')), 'secret')
writeFileSync(secret, 'interop-secret-that-is-long-enough-1234')

let server
const cleanup = []
before(async () => { server = await startWeft(['--auth-secret-file', secret]) })
after(async () => {
  for (const f of cleanup) f()
  await server.stop()
})

function provider (doc, params) {
  const ydoc = new Y.Doc()
  const p = new WebsocketProvider(server.url, doc, ydoc, { disableBc: true, params })
  cleanup.push(() => { p.destroy(); ydoc.destroy() })
  return { ydoc, p }
}

test('stock clients sync with a minted token and cannot without one', async () => {
  const mint = access => execFileSync(bin, ['--auth-secret-file', secret, 'token', '--doc', 'secured', '--access', access, '--ttl', '1h']).toString().trim()
  const writer = provider('secured', { token: mint('write') })
  const reader = provider('secured', { token: mint('read') })
  await until(() => writer.p.synced && reader.p.synced, 'sync with tokens')
  writer.ydoc.getText('t').insert(0, 'for token holders')
  await until(() => reader.ydoc.getText('t').toString() === 'for token holders', 'the reader sees it')

  // Without a token: the upgrade is answered 401, the client sees its
  // connection fail, and it never syncs.
  const stranger = provider('secured', {})
  let failed = 0
  stranger.p.on('connection-error', () => { failed++ })
  stranger.p.on('connection-close', () => { failed++ })
  await until(() => failed > 0, 'the stranger\'s connection refused')
  assert.equal(stranger.p.synced, false)
  assert.equal(stranger.ydoc.getText('t').toString(), '')
  assert.equal(await upgradeStatus(server.url.replace(/^ws/, 'http') + '/secured'), 401)
})

/** The status a WebSocket upgrade request without a token is answered with. */
function upgradeStatus (url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      agent: false
    })
    req.on('response', res => { res.resume(); resolve(res.statusCode) })
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(101) })
    req.on('error', reject)
    req.end()
  })
}
