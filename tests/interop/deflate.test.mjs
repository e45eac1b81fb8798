// permessage-deflate with stock Node clients: y-websocket over the `ws`
// package with perMessageDeflate on and off, and over Node's own WebSocket,
// and the raw handshake (what the 101 answers to an offer, and to none).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { startWeft, until } from './server.mjs'

process.setMaxListeners(100)

let server
const cleanup = []
before(async () => { server = await startWeft() })
after(async () => {
  for (const f of cleanup) f()
  await server.stop()
})

/** A `ws` WebSocket class with perMessageDeflate on or off, remembering its sockets. */
function wsClass (perMessageDeflate, sockets) {
  return class extends WebSocket {
    constructor (url, protocols) {
      super(url, protocols, { perMessageDeflate })
      sockets.push(this)
    }
  }
}

function provider (doc, WebSocketPolyfill) {
  const ydoc = new Y.Doc()
  const p = new WebsocketProvider(server.url, doc, ydoc, { disableBc: true, WebSocketPolyfill })
  cleanup.push(() => { p.destroy(); ydoc.destroy() })
  return { ydoc, p, text: ydoc.getText('t') }
}

// Text that compresses: a document's first sync is mostly text.
const BIG = 'The first sync of a text document is mostly text, and compresses well. '.repeat(400)

for (const perMessageDeflate of [true, false]) {
  test(`y-websocket over ws with perMessageDeflate ${perMessageDeflate ? 'on' : 'off'} syncs a large document both ways`, async () => {
    const doc = `deflate-ws-${perMessageDeflate}`
    const sockets = []
    const writer = provider(doc, wsClass(perMessageDeflate, sockets))
    await until(() => writer.p.synced, 'sync')
    writer.text.insert(0, BIG)
    const readers = []
    const reader = provider(doc, wsClass(perMessageDeflate, readers))
    await until(() => reader.text.length === BIG.length, 'the large document reaches a second client')
    assert.equal(reader.text.toString(), BIG)
    // What crossed the wire: the text compresses many times over.
    const read = readers[0]._socket.bytesRead
    if (perMessageDeflate) assert.ok(read < BIG.length / 5, `${read} bytes read for ${BIG.length} of text`)
    else assert.ok(read > BIG.length, `${read} bytes read for ${BIG.length} of text`)
    sockets.push(...readers)
    reader.text.insert(0, 'short edit. ')
    await until(() => writer.text.toString().startsWith('short edit. '), 'a small edit back')
    for (const s of sockets) {
      assert.equal(s.extensions, perMessageDeflate ? 'permessage-deflate' : '', 'negotiated extension as seen by ws')
    }
  })
}

test('y-websocket over Node\'s own WebSocket syncs a large document', async () => {
  const writer = provider('deflate-node', WebSocket)
  await until(() => writer.p.synced, 'sync')
  writer.text.insert(0, BIG)
  const reader = provider('deflate-node', globalThis.WebSocket)
  await until(() => reader.text.length === BIG.length, 'the large document')
  assert.equal(reader.text.toString(), BIG)
})

/** The raw 101 response to an upgrade with these extension headers. */
function handshake (extensions) {
  const { hostname, port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => {
      sock.write([
        'GET /raw-handshake HTTP/1.1', `Host: ${hostname}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
        ...extensions.map(e => `Sec-WebSocket-Extensions: ${e}`), '', ''
      ].join('\r\n'))
    })
    let got = ''
    sock.on('data', d => {
      got += d.toString('latin1')
      const end = got.indexOf('\r\n\r\n')
      if (end >= 0) { sock.destroy(); resolve(got.slice(0, end)) }
    })
    sock.on('error', reject)
  })
}

const extensionOf = head => head.split('\r\n').find(l => /^sec-websocket-extensions:/i.test(l))?.split(':')[1].trim() ?? null

test('the 101 carries the negotiated extension when offered, and none otherwise', async () => {
  const offered = await handshake(['permessage-deflate; client_max_window_bits'])
  assert.match(offered, /^HTTP\/1\.1 101/)
  assert.equal(extensionOf(offered), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover')
  const none = await handshake([])
  assert.match(none, /^HTTP\/1\.1 101/)
  assert.equal(extensionOf(none), null)
  // A window the client asks for is honoured; an offer it cannot take is skipped for the next.
  assert.equal(extensionOf(await handshake(['permessage-deflate; server_max_window_bits=10'])),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10')
  assert.equal(extensionOf(await handshake(['permessage-deflate; server_max_window_bits=7, permessage-deflate'])),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover')
  assert.equal(extensionOf(await handshake(['x-webkit-deflate-frame', 'permessage-deflate; unknown_param'])), null)
})

test('--no-deflate answers an offer without the extension, and clients still sync', async () => {
  const plain = await startWeft(['--no-deflate'])
  try {
    const sockets = []
    const Ws = wsClass(true, sockets)
    const ydoc = new Y.Doc()
    const p = new WebsocketProvider(plain.url, 'no-deflate', ydoc, { disableBc: true, WebSocketPolyfill: Ws })
    cleanup.push(() => { p.destroy(); ydoc.destroy() })
    await until(() => p.synced, 'sync')
    assert.equal(sockets[0].extensions, '')
  } finally {
    await plain.stop()
  }
})

/**
 * A raw connection: upgrades with `extensions`, sends `frames` (already
 * encoded), and resolves with the close code the server sends, or with
 * 'sync step 2' when it answers a sync step 1 instead.
 */
function closeCodeFor (extensions, frames, doc = 'raw-close') {
  const { hostname, port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => {
      sock.write([
        `GET /${doc} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
        ...extensions.map(e => `Sec-WebSocket-Extensions: ${e}`), '', ''
      ].join('\r\n'))
    })
    let buf = Buffer.alloc(0)
    let upgraded = false
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no close frame')) }, 10000)
    sock.on('data', d => {
      buf = Buffer.concat([buf, d])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        upgraded = true
        buf = buf.subarray(end + 4)
        for (const f of frames) sock.write(f)
      }
      // Server frames are unmasked; find the close frame (opcode 8).
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f
        let at = 2
        if (len === 126) { len = buf.readUInt16BE(2); at = 4 } else if (len === 127) { len = Number(buf.readBigUInt64BE(2)); at = 10 }
        if (buf.length < at + len) return
        if ((buf[0] & 0x0f) === 8) {
          clearTimeout(timer)
          sock.destroy()
          return resolve(buf.readUInt16BE(at))
        }
        // The server's answer to a sync step 1: the message was taken.
        if ((buf[0] & 0x0f) === 2 && buf[at] === 0 && buf[at + 1] === 1) {
          clearTimeout(timer)
          sock.destroy()
          return resolve('sync step 2')
        }
        buf = buf.subarray(at + len)
      }
    })
    sock.on('error', e => { clearTimeout(timer); reject(e) })
  })
}

/** A client frame (masked), `first` being FIN/RSV/opcode. */
function frame (first, payload) {
  const key = Buffer.from([1, 2, 3, 4])
  const len = payload.length
  const head = len < 126
    ? Buffer.from([first, 0x80 | len])
    : len < 65536 ? Buffer.from([first, 0x80 | 126, len >> 8, len & 0xff]) : (() => { const b = Buffer.alloc(10); b[0] = first; b[1] = 0x80 | 127; b.writeBigUInt64BE(BigInt(len), 2); return b })()
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]))
  return Buffer.concat([head, key, body])
}

const { deflateRawSync } = await import('node:zlib')
const packed = data => { const d = deflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ }); return d.subarray(0, d.length - 4) }
const OFFER = ['permessage-deflate']

test('bad compressed input closes with its code: a bomb 1009, corrupt data 1007, a compressed ping 1002, RSV1 not negotiated 1002', async () => {
  const small = await startWeft(['--max-message-size', '1MiB'])
  const saved = server
  server = small
  try {
    // 64 MiB of zeros, about 64 KiB on the wire: closed once past 1 MiB.
    assert.equal(await closeCodeFor(OFFER, [frame(0xc2, packed(Buffer.alloc(64 << 20)))]), 1009)
    assert.equal(await closeCodeFor(OFFER, [frame(0xc2, Buffer.from([0xff, 0xff, 0xff, 0, 0x12]))]), 1007)
    assert.equal(await closeCodeFor(OFFER, [frame(0xc9, packed(Buffer.from('ping')))]), 1002)
    assert.equal(await closeCodeFor([], [frame(0xc2, packed(Buffer.from('not negotiated')))]), 1002)
    // A well-formed compressed sync step 1, in two fragments, is answered.
    const step1 = packed(Buffer.from([0, 0, 1, 0]))
    assert.equal(await closeCodeFor(OFFER, [frame(0x42, step1.subarray(0, 2)), frame(0x89, Buffer.from('hi')), frame(0x80, step1.subarray(2))], 'raw-fine'), 'sync step 2')
  } finally {
    server = saved
    await small.stop()
  }
})

/** Raw deflate of `gib` GiB of zeros, made in 1 MiB steps (about 1 MiB per GiB: deflate's ceiling is 1032:1). */
async function zeroBomb (gib) {
  const { createDeflateRaw, constants } = await import('node:zlib')
  const z = createDeflateRaw({ level: 9 })
  const parts = []
  z.on('data', d => parts.push(d))
  const mib = Buffer.alloc(1 << 20)
  for (let i = 0; i < gib * 1024; i++) {
    if (!z.write(mib)) await new Promise(resolve => z.once('drain', resolve))
  }
  await new Promise(resolve => z.flush(constants.Z_SYNC_FLUSH, resolve))
  const out = Buffer.concat(parts)
  return out.subarray(0, out.length - 4)
}

const rssKiB = pid => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1])

test('a message that inflates to 1 GiB is refused with 1009 at the default limit, and the server grows by less than 10 MiB', async t => {
  const bomb = await zeroBomb(1)
  assert.ok(bomb.length < 1.1 * (1 << 20), `${bomb.length} bytes on the wire`)
  const before = rssKiB(server.pid)
  assert.equal(await closeCodeFor(OFFER, [frame(0xc2, bomb)], 'raw-bomb'), 1009)
  // Measured once the connection is gone: what the bomb left behind.
  await new Promise(resolve => setTimeout(resolve, 1000))
  const grown = rssKiB(server.pid) - before
  t.diagnostic(`${bomb.length} bytes on the wire; RSS grew by ${grown} KiB`)
  assert.ok(grown < 10 * 1024, `RSS grew by ${grown} KiB`)
})
