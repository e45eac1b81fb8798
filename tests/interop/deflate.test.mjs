// permessage-deflate with stock Node clients: y-websocket over the `ws`
// package with perMessageDeflate on and off, and over Node's own WebSocket,
// and the raw handshake (what the 101 answers to an offer, and to none).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { connect } from 'node:net'
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
