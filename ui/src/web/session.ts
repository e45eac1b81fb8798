// A document in the browser: a Y.Doc kept in IndexedDB (y-indexeddb, so
// edits made offline survive a reload) and synced with the server that
// served the page (y-websocket, same origin). It opts in to the server's
// durable acks (`?ack=1`, message 100): "Saved on server" means stored.
import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import type { DocSession } from '../platform'
import type { AppError, Status } from '../types'
import * as local from './local'
import { Acks, isUpdateMessage } from './acks'
import { Unstored } from './unstored'

/** The ack message's type (docs/PROTOCOL.md, "durable acks"). */
const MESSAGE_ACK = 100
const MESSAGE_AUTH = 2
/** y-indexeddb's object store of updates. */
const IDB_UPDATES = 'updates'
/** The origin of edits an earlier page kept (see unstored.ts). */
const KEPT = Symbol('kept')

/** Where this page's documents sync: the server that served it. */
export function serverUrl (): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}

export class WebSession implements DocSession {
  readonly doc = new Y.Doc()
  readonly awareness = new Awareness(this.doc)
  onStatus: (s: Status) => void = () => {}
  onError: (e: AppError) => void = () => {}
  private provider: WebsocketProvider | null = null
  private idb: IndexeddbPersistence | null = null
  private readonly acks: Acks
  private readonly unstored: Unstored
  private readonly pagehide = (): void => this.unstored.keep()
  private state: Status = { status: 'connecting', pending: 0 }

  /** `closed` runs when the session is closed. */
  constructor (readonly id: string, private readonly token: string | null, private readonly closed: () => void = () => {}) {
    // Edits made before a reload that the server never acknowledged are
    // still unsaved: count them as one until an ack covers them.
    this.acks = new Acks(local.hasUnsaved(id) ? 1 : 0)
    this.state.pending = this.acks.pending()
    this.unstored = new Unstored(local.unstoredKey(id), localStorage)
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this.provider || origin === this.idb) return
      this.acks.edited()
      this.saved()
      // After y-indexeddb's own handler has opened its write.
      const mark = this.unstored.add(update)
      setTimeout(() => this.confirmStored(mark), 0)
    })
  }

  /** The status bar's view of this document now. */
  status (): Status { return { ...this.state } }

  async open (): Promise<void> {
    this.idb = new IndexeddbPersistence(`weft-${this.id}`, this.doc)
    addEventListener('pagehide', this.pagehide)
    const session = this
    // Counts the update-carrying messages y-websocket sends on each
    // connection, which is what the server's acks count.
    class CountingSocket extends WebSocket {
      constructor (url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        session.acks.connected()
      }

      send (data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
        if (isUpdateMessage(data)) session.acks.sent()
        super.send(data)
      }
    }
    const params: Record<string, string> = { ack: '1' }
    if (this.token) params.token = this.token
    const provider = new WebsocketProvider(serverUrl(), this.id, this.doc, {
      awareness: this.awareness,
      params,
      WebSocketPolyfill: CountingSocket as unknown as typeof WebSocket,
      // Tabs of one browser each talk to the server: every tab's edits
      // then get the server's acks.
      disableBc: true
    })
    this.provider = provider
    provider.messageHandlers[MESSAGE_ACK] = (_enc, dec) => {
      const payload = decoding.readVarUint8Array(dec)
      this.acks.acked(decoding.readVarUint(decoding.createDecoder(payload)))
      this.saved()
    }
    provider.messageHandlers[MESSAGE_AUTH] = (_enc, dec) => {
      // y-protocols auth: 0 = permission denied, then the reason.
      if (decoding.readVarUint(dec) === 0) this.onError({ code: 'denied', message: decoding.readVarString(dec) })
    }
    provider.on('status', ({ status }) => {
      if (status === 'connected') this.show({ status: 'syncing' })
      // While the server is away y-websocket keeps retrying: stay "offline"
      // between attempts rather than flicker.
      if (status === 'connecting' && this.state.status !== 'offline') this.show({ status: 'connecting' })
    })
    provider.on('connection-close', () => { if (this.state.status !== 'offline') this.show({ status: 'offline' }) })
    provider.on('sync', synced => { if (synced) this.show({ status: 'synced' }) })
    provider.on('closed', ({ code, reason }) => {
      // 4400-4499: the server decided (trash, link reset); no retry.
      this.onError({ code: code === 4410 ? 'in_trash' : code === 4401 ? 'unauthorized' : 'rejected', message: reason })
    })
    // The local copy and the server's are read at once; the editor starts
    // from the local one (offline, it is all there is).
    await this.idb.whenSynced
    const kept = this.unstored.kept()
    try {
      if (kept) Y.applyUpdate(this.doc, kept, KEPT)
    } catch (e) {
      console.warn('edits kept by an earlier page could not be read:', e)
    }
    // If they changed nothing, IndexedDB had them after all.
    this.unstored.forget()
    // Updates made before IndexedDB opened are in its first write.
    this.confirmStored(this.unstored.mark())
  }

  /** Once IndexedDB has written what came before `mark`, stops holding it. */
  private confirmStored (mark: number): void {
    const db = this.idb?.db
    // Not open yet: y-indexeddb stores the whole document when it opens,
    // and `open` confirms after that.
    if (!db) return
    try {
      db.transaction([IDB_UPDATES], 'readonly').oncomplete = () => this.unstored.stored(mark)
    } catch {
      // Closed under us (the document was closed): `close` kept the rest.
    }
  }

  private show (s: Status): void {
    this.state = { ...this.state, ...s }
    this.onStatus(this.status())
  }

  /** The unsaved count changed: show it, and remember it across reloads. */
  private saved (): void {
    local.setUnsaved(this.id, this.acks.pending() > 0)
    this.show({ pending: this.acks.pending() })
  }

  async close (): Promise<void> {
    this.closed()
    removeEventListener('pagehide', this.pagehide)
    this.unstored.keep()
    this.provider?.destroy()
    await this.idb?.destroy()
    this.awareness.destroy()
    this.doc.destroy()
  }
}
