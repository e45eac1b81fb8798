// The document API (/api/v1) with stock npm Yjs clients: a title a stock
// y-websocket client sets is listed; an update posted over HTTP reaches a
// connected client live; Markdown put over HTTP reaches a TipTap-shaped
// document that TipTap's own schema accepts.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { getSchema } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { TaskList, TaskItem } from '@tiptap/extension-list'
import Link from '@tiptap/extension-link'
import { yXmlFragmentToProsemirrorJSON } from '@tiptap/y-tiptap'
import { request as httpRequest } from 'node:http'
import { startWeft, until } from './server.mjs'

// One request on its own connection (no keep-alive pool to outlive the
// tests): `{ status, text() , json() }`, like the parts of fetch we need.
function fetch (url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode, text: async () => text, json: async () => JSON.parse(text) })
      })
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : Buffer.from(body))
  })
}

const schema = getSchema([
  StarterKit.configure({ link: false, undoRedo: false }),
  TaskList,
  TaskItem.configure({ nested: true }),
  Link
])

let server, http
const providers = []
before(async () => {
  server = await startWeft()
  http = server.url.replace(/^ws/, 'http')
})
after(async () => {
  // The doc too: its awareness keeps a timer that would hold Node open.
  for (const p of providers) { p.destroy(); p.doc.destroy() }
  await server.stop()
})

function connect (room) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, room, doc, { disableBc: true })
  providers.push(provider)
  return { doc, provider }
}

test('a title a stock client sets is in the document list', async () => {
  const { doc, provider } = connect('stock-title')
  await until(() => provider.synced, 'sync')
  doc.getMap('meta').set('title', 'Set by a stock client')
  doc.getText('t').insert(0, 'hello')
  let listed
  const started = Date.now()
  while (listed?.title !== 'Set by a stock client') {
    assert.ok(Date.now() - started < 10000, `the title never reached GET /api/v1/docs: ${JSON.stringify(listed)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
    const list = await (await fetch(`${http}/api/v1/docs`)).json()
    listed = list.docs.find(d => d.id === 'stock-title')
  }
  assert.ok(listed.size > 0)
})

test('an update posted over HTTP reaches a connected stock client at once', async () => {
  const { doc, provider } = connect('stock-live')
  await until(() => provider.synced, 'sync')
  const other = new Y.Doc()
  other.getText('t').insert(0, 'posted over HTTP')
  const res = await fetch(`${http}/api/v1/docs/stock-live/updates`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Y.encodeStateAsUpdate(other)
  })
  assert.equal(res.status, 200)
  await until(() => doc.getText('t').toString() === 'posted over HTTP', 'the update on the live client')
})

test('Markdown put over HTTP reaches a TipTap document and passes its schema', async () => {
  const { doc, provider } = connect('tiptap-put')
  await until(() => provider.synced, 'sync')
  const markdown = '# Plan\n\nShip **soon**, [docs](https://weft.example).\n\n- [x] index\n- [ ] history\n\n> Quote\n'
  const res = await fetch(`${http}/api/v1/docs/tiptap-put/content`, {
    method: 'PUT',
    headers: { 'content-type': 'text/markdown' },
    body: markdown
  })
  assert.equal(res.status, 200, await res.text())
  const fragment = doc.getXmlFragment('default')
  await until(() => fragment.length === 4, 'the blocks on the live client')
  const json = yXmlFragmentToProsemirrorJSON(fragment)
  const node = schema.nodeFromJSON(json)
  node.check()
  assert.equal(node.child(0).type.name, 'heading')
  assert.equal(node.child(0).textContent, 'Plan')
  assert.equal(node.child(2).type.name, 'taskList')
  assert.equal(node.child(2).child(0).attrs.checked, true)
  // And back out through the API, as weft cat would print it.
  const md = await (await fetch(`${http}/api/v1/docs/tiptap-put/content?format=md`)).text()
  assert.equal(md, markdown)
})
