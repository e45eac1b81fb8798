// The webview side of a document: a Y.Doc and an Awareness for the editor,
// kept in sync with the Rust engine over raw-byte IPC. Updates made here go
// to Rust as Uint8Array bodies; Rust's come back on a Channel, tagged by
// their first byte (`Tag`, the same as src-tauri/src/ipc.rs).
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import type { DocSession } from '../platform'
import { asError, type AppError, type Status } from '../types'

/** A frame's first byte: what it carries (src-tauri/src/ipc.rs `Tag`). */
export const Tag = { Update: 0, Awareness: 1, Status: 2, Error: 3 } as const

/** Origin of changes that came from Rust: never sent back. */
export const FROM_RUST = Symbol('weft-rust')


/** What the bridge needs from Tauri; a fake in tests. */
export interface Transport {
  openDoc(key: string, onFrame: (frame: ArrayBuffer) => void): Promise<ArrayBuffer>
  pushUpdate(key: string, update: Uint8Array): Promise<void>
  pushAwareness(key: string, update: Uint8Array): Promise<void>
  closeDoc(key: string): Promise<void>
}

export class DocBridge implements DocSession {
  readonly doc = new Y.Doc()
  readonly awareness = new Awareness(this.doc)
  onStatus: (s: Status) => void = () => {}
  onError: (e: AppError) => void = () => {}
  private closed = false

  constructor (readonly key: string, private readonly transport: Transport) {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === FROM_RUST || this.closed) return
      this.transport.pushUpdate(key, update).catch(e => this.onError(asError(e)))
    })
    this.awareness.on('update', ({ added, updated, removed }: { added: number[], updated: number[], removed: number[] }, origin: unknown) => {
      if (origin === FROM_RUST || this.closed) return
      const mine = [...added, ...updated, ...removed].includes(this.doc.clientID)
      if (!mine) return
      const update = encodeAwarenessUpdate(this.awareness, [this.doc.clientID])
      this.transport.pushAwareness(key, update).catch(e => this.onError(asError(e)))
    })
  }

  /** Loads the document's state from Rust and starts receiving changes. */
  async open (): Promise<void> {
    const state = await this.transport.openDoc(this.key, frame => this.handle(frame))
    Y.applyUpdate(this.doc, new Uint8Array(state), FROM_RUST)
  }

  /** Applies one tagged frame from Rust. */
  handle (frame: ArrayBuffer | Uint8Array): void {
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame)
    const body = bytes.subarray(1)
    switch (bytes[0]) {
      case Tag.Update: Y.applyUpdate(this.doc, body, FROM_RUST); break
      case Tag.Awareness: applyAwarenessUpdate(this.awareness, body, FROM_RUST); break
      case Tag.Status: {
        const status: Status = JSON.parse(new TextDecoder().decode(body))
        // Disconnected: nobody else is known to be here any more (the server
        // re-sends everyone's state on reconnect). No ghost cursors.
        if (status.status === 'offline' || status.status === 'connecting') this.forgetOthers()
        this.onStatus(status)
        break
      }
      case Tag.Error: this.onError(JSON.parse(new TextDecoder().decode(body))); break
    }
  }

  /** Drops every remote awareness state. */
  forgetOthers (): void {
    const others = [...this.awareness.getStates().keys()].filter(id => id !== this.doc.clientID)
    if (others.length) removeAwarenessStates(this.awareness, others, FROM_RUST)
    // Their clocks too: on reconnect the server re-sends each state with
    // the clock it had, which y-protocols ignores as old if it remembers it.
    for (const id of others) this.awareness.meta.delete(id)
  }

  /** Tells others we left, then stops syncing. */
  async close (): Promise<void> {
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'close')
    this.closed = true
    this.awareness.destroy()
    this.doc.destroy()
    await this.transport.closeDoc(this.key)
  }
}
