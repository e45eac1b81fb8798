// The weft CLI (and so the engine) against the reference Node server,
// @y/websocket-server@0.1.1, which sends no acks.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { startReference, weft, until } from './server.mjs'

process.setMaxListeners(100)

let server
const cleanup = []
before(async () => { server = await startReference() })
after(async () => {
  for (const f of cleanup) f()
  await server.stop()
})

const doc = `# From weft

Some **bold** text.

- [x] a task
`

test('weft put then weft cat round-trips through @y/websocket-server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ref-'))
  const file = join(dir, 'in.md')
  writeFileSync(file, doc)
  const put = await weft(['put', `${server.url}/ref-doc`, file])
  assert.equal(put.code, 0, put.stderr)
  const cat = await weft(['cat', `${server.url}/ref-doc`])
  assert.equal(cat.code, 0, cat.stderr)
  assert.equal(cat.stdout, doc)
})

test('a stock client sees what weft put, and weft cat sees what it writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ref-'))
  const file = join(dir, 'in.md')
  writeFileSync(file, 'Hello from weft.\n')
  assert.equal((await weft(['put', `${server.url}/ref-shared`, file])).code, 0)
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, 'ref-shared', ydoc, { disableBc: true })
  cleanup.push(() => { provider.destroy(); ydoc.destroy() })
  const frag = ydoc.getXmlFragment('default')
  await until(() => provider.synced && frag.length === 1, 'sync')
  assert.equal(frag.get(0).nodeName, 'paragraph')
  const para = new Y.XmlElement('paragraph')
  para.insert(0, [new Y.XmlText('Hello from Node.')])
  frag.insert(1, [para])
  // The reference server sends no acks: wait until another client sees it.
  const probe = new Y.Doc()
  const probeProvider = new WebsocketProvider(server.url, 'ref-shared', probe, { disableBc: true })
  cleanup.push(() => { probeProvider.destroy(); probe.destroy() })
  await until(() => probe.getXmlFragment('default').length === 2, 'propagation')
  const cat = await weft(['cat', `${server.url}/ref-shared`])
  assert.equal(cat.stdout, 'Hello from weft.\n\nHello from Node.\n')
})
