// The stock npm y-websocket client, with no extra options, against weft-server.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { spawn } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startWeft, until } from './server.mjs'

// Each provider adds a process 'exit' listener.
process.setMaxListeners(100)

let server
const providers = []
before(async () => { server = await startWeft() })
after(async () => {
  // Destroying the doc also stops its awareness timer, which would keep
  // the process alive.
  for (const p of providers) { p.destroy(); p.doc.destroy() }
  await server.stop()
})

// Providers in one process would otherwise also talk over BroadcastChannel
// and converge without the server; the tests must go through the server.
// (The child-process test below uses no options at all.)
function client (doc) {
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, doc, ydoc, { disableBc: true })
  providers.push(provider)
  return { ydoc, provider, text: ydoc.getText('t') }
}

test('a stock client with no options, in its own process, syncs both ways', async () => {
  const here = client('interop-stock')
  await until(() => here.provider.synced, 'sync')
  here.text.insert(0, 'from parent. ')
  const child = spawn(process.execPath, ['--experimental-websocket', 'stock-client.mjs', server.url, 'interop-stock'], {
    cwd: dirname(fileURLToPath(import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.on('data', d => { out += d })
  const code = await new Promise(resolve => child.on('exit', resolve))
  assert.equal(code, 0)
  assert.match(out, /from parent\./)
  await until(() => here.text.toString().includes('from child.'), 'child edit')
})

test('two stock clients edit one doc and converge', async () => {
  const a = client('interop-converge')
  const b = client('interop-converge')
  await until(() => a.provider.synced && b.provider.synced, 'sync')
  a.text.insert(0, 'hello from a. ')
  b.text.insert(0, 'hello from b. ')
  await until(() => a.text.length === 28 && b.text.length === 28, 'convergence')
  assert.equal(a.text.toString(), b.text.toString())
})

test('a late stock client receives the whole document', async () => {
  const a = client('interop-late')
  await until(() => a.provider.synced, 'sync')
  for (let i = 0; i < 100; i++) a.text.insert(a.text.length, `${i},`)
  const expected = a.text.toString()
  const late = client('interop-late')
  await until(() => late.text.toString() === expected, 'late join')
})

test('awareness crosses clients and is cleared when one leaves', async () => {
  const a = client('interop-awareness')
  const b = client('interop-awareness')
  await until(() => a.provider.synced && b.provider.synced, 'sync')
  a.provider.awareness.setLocalStateField('user', { name: 'ann', color: '#f00' })
  const id = a.ydoc.clientID
  await until(() => b.provider.awareness.getStates().get(id)?.user?.name === 'ann', 'awareness')
  // Close the socket without saying goodbye: the server must clear ann.
  a.provider.shouldConnect = false
  a.provider.ws.close()
  await until(() => !b.provider.awareness.getStates().has(id), 'awareness removal')
})

test('a stock client never receives a message type it does not know', async () => {
  const errors = []
  const original = console.error
  console.error = (...args) => { errors.push(args.join(' ')); original(...args) }
  try {
    const a = client('interop-unknown')
    const b = client('interop-unknown')
    await until(() => a.provider.synced && b.provider.synced, 'sync')
    for (let i = 0; i < 20; i++) a.text.insert(0, 'x')
    await until(() => b.text.length === 20, 'updates')
    // Give any stray message time to arrive.
    await new Promise(resolve => setTimeout(resolve, 200))
  } finally {
    console.error = original
  }
  assert.deepEqual(errors.filter(e => e.includes('Unable to compute message')), [])
})

test('edits made while disconnected merge on reconnect', async () => {
  const a = client('interop-offline')
  const b = client('interop-offline')
  await until(() => a.provider.synced && b.provider.synced, 'sync')
  a.provider.disconnect()
  a.text.insert(0, 'offline edit. ')
  b.text.insert(0, 'online edit. ')
  a.provider.connect()
  await until(() => a.text.length === 27 && b.text.length === 27, 'merge')
  assert.equal(a.text.toString(), b.text.toString())
})
