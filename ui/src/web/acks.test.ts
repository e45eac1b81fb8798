import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { Acks, isUpdateMessage } from './acks'

function message (write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  write(e)
  return encoding.toUint8Array(e)
}

describe('isUpdateMessage', () => {
  it('counts sync step 2 and updates, as the server does, and nothing else', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'x')
    expect(isUpdateMessage(message(e => syncProtocol.writeSyncStep2(e, doc)))).toBe(true)
    expect(isUpdateMessage(message(e => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc))).buffer)).toBe(true)
    expect(isUpdateMessage(message(e => syncProtocol.writeSyncStep1(e, doc)))).toBe(false)
    expect(isUpdateMessage(new Uint8Array([1, 3, 0, 0, 0]))).toBe(false) // awareness
    expect(isUpdateMessage('text')).toBe(false)
  })
})

describe('Acks', () => {
  it('counts edits as saved only when an ack covers the message that carried them', () => {
    const a = new Acks(0)
    a.connected()
    a.edited(); a.sent() // message 1 carries edit 1
    a.edited(); a.edited(); a.sent() // message 2 carries edits 2-3
    expect(a.pending()).toBe(3)
    a.acked(1)
    expect(a.pending()).toBe(2)
    a.acked(2)
    expect(a.pending()).toBe(0)
  })

  it('edits made offline are carried by the next connection\'s step 2', () => {
    const a = new Acks(0)
    a.connected(); a.edited(); a.sent()
    // Disconnected before the ack; two more edits offline.
    a.edited(); a.edited()
    expect(a.pending()).toBe(3)
    a.connected()
    a.acked(5) // an ack from the old connection's numbering must not count: reset
    expect(a.pending()).toBe(3)
    a.sent() // step 2 on the new connection carries all three
    a.acked(1)
    expect(a.pending()).toBe(0)
  })

  it('starts unsaved when a reload found unacknowledged edits', () => {
    const a = new Acks(1)
    expect(a.pending()).toBe(1)
    a.connected(); a.sent(); a.acked(1)
    expect(a.pending()).toBe(0)
  })
})
