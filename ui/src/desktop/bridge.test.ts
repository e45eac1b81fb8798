import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { DocBridge, type Transport } from './bridge'

function fakeTransport (state: Uint8Array) {
  const pushed: Uint8Array[] = []
  const awareness: Uint8Array[] = []
  let onFrame: (f: ArrayBuffer) => void = () => {}
  const t: Transport = {
    async openDoc (_key, cb) { onFrame = cb; return state.slice().buffer },
    async pushUpdate (_key, u) { pushed.push(u) },
    async pushAwareness (_key, u) { awareness.push(u) },
    async closeDoc () {}
  }
  return { t, pushed, awareness, send: (tag: number, body: Uint8Array) => onFrame(new Uint8Array([tag, ...body]).buffer) }
}

describe('DocBridge', () => {
  it('loads the state from Rust without echoing it back', async () => {
    const src = new Y.Doc()
    src.getText('t').insert(0, 'hello')
    const f = fakeTransport(Y.encodeStateAsUpdate(src))
    const b = new DocBridge('k', f.t)
    await b.open()
    expect(b.doc.getText('t').toString()).toBe('hello')
    expect(f.pushed).toHaveLength(0)
  })

  it('sends local edits as raw bytes, and not remote ones', async () => {
    const f = fakeTransport(Y.encodeStateAsUpdate(new Y.Doc()))
    const b = new DocBridge('k', f.t)
    await b.open()
    b.doc.getText('t').insert(0, 'mine')
    expect(f.pushed).toHaveLength(1)
    expect(f.pushed[0]).toBeInstanceOf(Uint8Array)
    const other = new Y.Doc()
    other.getText('t').insert(0, 'theirs ')
    f.send(0, Y.encodeStateAsUpdate(other))
    expect(b.doc.getText('t').toString()).toContain('theirs')
    expect(f.pushed).toHaveLength(1)
  })

  it('relays only its own awareness, and applies remote awareness', async () => {
    const f = fakeTransport(Y.encodeStateAsUpdate(new Y.Doc()))
    const b = new DocBridge('k', f.t)
    await b.open()
    b.awareness.setLocalStateField('user', { name: 'Ann', color: '#f00' })
    expect(f.awareness.length).toBeGreaterThan(0)
    const before = f.awareness.length
    const remote = new Awareness(new Y.Doc())
    remote.setLocalStateField('user', { name: 'Bob' })
    f.send(1, encodeAwarenessUpdate(remote, [remote.clientID]))
    expect((b.awareness.getStates().get(remote.clientID) as { user: { name: string } }).user.name).toBe('Bob')
    expect(f.awareness.length).toBe(before)
  })

  it('forgets remote cursors when the connection drops', async () => {
    const f = fakeTransport(Y.encodeStateAsUpdate(new Y.Doc()))
    const b = new DocBridge('k', f.t)
    await b.open()
    b.awareness.setLocalStateField('user', { name: 'Ann' })
    const remote = new Awareness(new Y.Doc())
    remote.setLocalStateField('user', { name: 'Bob' })
    f.send(1, encodeAwarenessUpdate(remote, [remote.clientID]))
    expect(b.awareness.getStates().has(remote.clientID)).toBe(true)
    f.send(2, new TextEncoder().encode('{"status":"offline"}'))
    expect(b.awareness.getStates().has(remote.clientID)).toBe(false)
    expect(b.awareness.getStates().has(b.doc.clientID)).toBe(true)
    // Back online, the server re-sends Bob's state unchanged (same clock): he is back.
    f.send(1, encodeAwarenessUpdate(remote, [remote.clientID]))
    expect(b.awareness.getStates().has(remote.clientID)).toBe(true)
  })

  it('reports status and errors from tagged frames', async () => {
    const f = fakeTransport(Y.encodeStateAsUpdate(new Y.Doc()))
    const b = new DocBridge('k', f.t)
    const seen: unknown[] = []
    b.onStatus = s => seen.push(s)
    b.onError = e => seen.push(e)
    await b.open()
    f.send(2, new TextEncoder().encode('{"status":"synced"}'))
    f.send(3, new TextEncoder().encode('{"code":"unreachable","message":"down"}'))
    expect(seen).toEqual([{ status: 'synced' }, { code: 'unreachable', message: 'down' }])
  })
})
