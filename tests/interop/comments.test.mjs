// Comment access with stock y-websocket clients: a comment token adds a
// thread a writer sees; its body edits and its deletion of another author's
// message are refused with permission-denied and change nothing; a read
// token cannot comment; the CLI comments through a comment link; threads
// come back over HTTP. The threads are written as docs/PROTOCOL.md says.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { startWeft, until, weft } from './server.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = process.env.WEFT_SERVER_BIN || join(root, 'target', 'debug', 'weft-server')
const secret = join(mkdtempSync(join(tmpdir(), 'weft-comments-')), 'secret')
writeFileSync(secret, 'interop-secret-that-is-long-enough-1234')
const DOC = 'reviewed'

let server, http
const cleanup = []
before(async () => {
  server = await startWeft(['--auth-secret-file', secret])
  http = server.url.replace(/^ws/, 'http')
})
after(async () => {
  for (const f of cleanup) f()
  await server.stop()
})

const mint = (access, sub) => execFileSync(bin, ['--auth-secret-file', secret, 'token', '--doc', DOC,
  '--access', access, '--ttl', '1h', ...(sub ? ['--sub', sub] : [])]).toString().trim()

// A stock client; `denied` collects the permission-denied reasons it gets
// (y-websocket hands them to console.warn).
function client (token) {
  const ydoc = new Y.Doc()
  const p = new WebsocketProvider(server.url, DOC, ydoc, { disableBc: true, params: { token } })
  const denied = []
  const handler = p.messageHandlers[2]
  p.messageHandlers[2] = (encoder, decoder, provider, emitSynced, type) => {
    const warn = console.warn
    console.warn = (msg) => denied.push(String(msg))
    try { handler(encoder, decoder, provider, emitSynced, type) } finally { console.warn = warn }
  }
  cleanup.push(() => { p.destroy(); ydoc.destroy() })
  return { ydoc, p, denied }
}

const body = ydoc => ydoc.getXmlFragment('default').toString()
const rand = () => Math.random().toString(36).slice(2, 10)

// A thread on `from`..`to` of the first paragraph's text, as the app makes it.
function addThread (ydoc, sub, name, from, to, message) {
  const text = ydoc.getXmlFragment('default').get(0).get(0)
  const rel = (i, assoc) => Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, i, assoc))
  const id = `${sub}:${rand()}`
  ydoc.transact(() => {
    const thread = new Y.Map()
    ydoc.getMap('comments').set(id, thread)
    thread.set('start', rel(from, 0))
    thread.set('end', rel(to, -1))
    thread.set('quote', text.toString().slice(from, to))
    thread.set('author', name)
    thread.set('color', '#0a7')
    thread.set('created', Date.now())
    thread.set('resolution', new Y.Array())
    const messages = new Y.Map()
    thread.set('messages', messages)
    const m = new Y.Map()
    messages.set(`${sub}:${rand()}`, m)
    m.set('author', name)
    m.set('color', '#0a7')
    m.set('text', message)
    m.set('created', Date.now())
  })
  return id
}

async function api (path, token) {
  const res = await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.text() }
}

test('comment access: threads in, body and other people\'s messages untouchable', async () => {
  const writer = client(mint('write', 'alice'))
  await until(() => writer.p.synced, 'the writer syncs')
  writer.ydoc.transact(() => {
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText('Hello brave new world')])
    writer.ydoc.getXmlFragment('default').insert(0, [p])
  })
  const alicesThread = addThread(writer.ydoc, 'alice', 'Alice', 6, 11, 'Why brave?')
  const original = body(writer.ydoc)

  const reviewer = client(mint('comment', 'carol'))
  await until(() => reviewer.p.synced && body(reviewer.ydoc) === original, 'the reviewer has the document')
  const mine = addThread(reviewer.ydoc, 'carol', 'Carol', 12, 15, 'Say "newer"?')
  await until(() => writer.ydoc.getMap('comments').has(mine), 'the writer sees the reviewer\'s thread')
  assert.equal(reviewer.denied.length, 0, reviewer.denied.join('\n'))

  // A reply to Alice's thread is the reviewer's to make.
  const replies = reviewer.ydoc.getMap('comments').get(alicesThread).get('messages')
  const reply = new Y.Map()
  replies.set(`carol:${rand()}`, reply)
  reply.set('text', 'Because it is.')
  reply.set('created', Date.now())
  await until(() => writer.ydoc.getMap('comments').get(alicesThread).get('messages').size === 2, 'the reply arrives')

  // The body: refused, and unchanged everywhere.
  reviewer.ydoc.getXmlFragment('default').get(0).get(0).insert(0, 'Sneaky ')
  await until(() => reviewer.denied.length === 1, 'permission-denied for the body edit')
  assert.match(reviewer.denied[0], /comment access cannot change the document itself/)

  // Alice's message: refused too.
  const aliceMessage = [...replies.keys()].find(k => k.startsWith('alice:'))
  replies.delete(aliceMessage)
  await until(() => reviewer.denied.length === 2, 'permission-denied for deleting Alice\'s message')
  assert.match(reviewer.denied[1], /other people's comments/)

  const fresh = client(mint('read'))
  await until(() => fresh.p.synced && fresh.ydoc.getMap('comments').size === 2, 'a fresh client syncs')
  assert.equal(body(fresh.ydoc), original)
  assert.equal(body(writer.ydoc), original)
  assert.ok(fresh.ydoc.getMap('comments').get(alicesThread).get('messages').has(aliceMessage))

  // Connecting with a read token is refused nothing; commenting is.
  assert.deepEqual(fresh.denied, [])
  addThread(fresh.ydoc, '', 'Reader', 0, 5, 'hi')
  await until(() => fresh.denied.length > 0, 'permission-denied for a reader')
  await new Promise(resolve => setTimeout(resolve, 200))
  assert.equal(fresh.denied.length, 1, fresh.denied.join('\n'))
  assert.match(fresh.denied[0], /read-only access/)
  assert.equal(writer.ydoc.getMap('comments').size, 2)

  // Over HTTP, in document order, anchored where they were made.
  const { status, body: json } = await api(`/api/v1/docs/${DOC}/comments`, mint('read'))
  assert.equal(status, 200)
  const threads = JSON.parse(json).threads
  assert.deepEqual(threads.map(t => [t.id, t.anchored, t.owner]), [[alicesThread, 'brave', 'alice'], [mine, 'new', 'carol']])
  assert.deepEqual(threads[0].messages.map(m => m.text), ['Why brave?', 'Because it is.'])
})

test('the CLI comments, lists and resolves through a comment link', async () => {
  const writer = client(mint('write', 'alice'))
  await until(() => writer.p.synced && body(writer.ydoc).includes('brave'), 'the writer has the document')
  // A comment link as the share dialog mints it: its own owner.
  const res = await fetch(`${http}/share/${DOC}?access=comment`, { method: 'POST', headers: { authorization: `Bearer ${mint('write', 'alice')}` } })
  assert.equal(res.status, 200)
  const link = await res.json()
  assert.equal(link.access, 'comment')
  const url = `${server.url}/${DOC}?token=${link.token}`

  const made = await weft(['comment', url, '--quote', 'world', 'A bigger world?'], { WEFT_NAME: 'Dan' })
  assert.equal(made.code, 0, made.stderr)
  const id = made.stdout.trim()
  assert.match(id, /^link-[0-9a-f]+:/)
  await until(() => writer.ydoc.getMap('comments').has(id), 'the writer sees the CLI\'s thread')

  const resolved = await weft(['comments', 'resolve', url, id], { WEFT_NAME: 'Dan' })
  assert.equal(resolved.code, 0, resolved.stderr)
  const ls = await weft(['comments', 'ls', url, '--all'])
  assert.equal(ls.code, 0, ls.stderr)
  assert.match(ls.stdout, new RegExp(`${id} \\(resolved\\)  “world”\\n    Dan: A bigger world\\?`))

  const md = await weft(['cat', url, '--comments'])
  assert.match(md.stdout, /Hello brave\[\^c1\] new\[\^c2\] world\[\^c3\]/)
  assert.match(md.stdout, /\[\^c3\]: \(resolved\) \*\*Dan\*\*: A bigger world\?/)

  const reader = await weft(['comment', `${server.url}/${DOC}?token=${mint('read')}`, '--quote', 'world', 'hi'])
  assert.equal(reader.code, 1)
  assert.match(reader.stderr, /view-only: it cannot comment/)

  const put = await weft(['put', url, '-'])
  assert.notEqual(put.code, 0)
  assert.match(put.stderr, /can comment .* but not change the document/)
})
