// Comment threads in the Y.Doc, in the shape docs/PROTOCOL.md ("Comments")
// describes and weft_core::comments reads: the root map `comments`, keys
// `<owner>:<random>` (the owner is the token's `sub`, which the server
// checks), anchors as relative positions on the body's Y.XmlText.
import * as Y from 'yjs'

export const ROOT = 'comments'

export interface Author { name: string, color: string, sub: string }

export interface Message { id: string, owner: string, author: string, color: string, text: string, created: number, edited: number | null }

export interface Thread {
  id: string
  owner: string
  quote: string
  author: string
  color: string
  created: number
  resolved: boolean
  /** Who resolved it, when it is. */
  resolvedBy: string | null
  messages: Message[]
  start: Y.RelativePosition | null
  end: Y.RelativePosition | null
}

/** An anchor end: a text node of the body and an index in it. */
export interface Point { text: Y.XmlText, index: number }

export function ownerOf (key: string): string {
  const at = key.lastIndexOf(':')
  return at < 0 ? '' : key.slice(0, at)
}

function newKey (sub: string): string {
  const random = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`
  return `${sub}:${random}`
}

/** Every thread, unordered (see `ordered`). */
export function threads (doc: Y.Doc): Thread[] {
  const out: Thread[] = []
  doc.getMap(ROOT).forEach((value, key) => {
    if (value instanceof Y.Map) out.push(readThread(key, value))
  })
  return out
}

function readThread (key: string, m: Y.Map<unknown>): Thread {
  const str = (k: string) => { const v = m.get(k); return typeof v === 'string' ? v : '' }
  const rel = (k: string) => {
    const v = m.get(k)
    if (!(v instanceof Uint8Array)) return null
    try { return Y.decodeRelativePosition(v) } catch { return null }
  }
  const messages: Message[] = []
  const ms = m.get('messages')
  if (ms instanceof Y.Map) {
    ms.forEach((v, k) => { if (v instanceof Y.Map) messages.push(readMessage(k, v)) })
  }
  messages.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1))
  const log = m.get('resolution')
  const last = log instanceof Y.Array && log.length > 0 ? log.get(log.length - 1) as { resolved?: boolean, by?: string } : null
  const created = m.get('created')
  return {
    id: key,
    owner: ownerOf(key),
    quote: str('quote'),
    author: str('author'),
    color: str('color'),
    created: typeof created === 'number' ? created : 0,
    resolved: last?.resolved === true,
    resolvedBy: last?.resolved === true ? last.by ?? null : null,
    messages,
    start: rel('start'),
    end: rel('end')
  }
}

function readMessage (key: string, m: Y.Map<unknown>): Message {
  const str = (k: string) => { const v = m.get(k); return typeof v === 'string' ? v : '' }
  const num = (k: string) => { const v = m.get(k); return typeof v === 'number' ? v : null }
  return { id: key, owner: ownerOf(key), author: str('author'), color: str('color'), text: str('text'), created: num('created') ?? 0, edited: num('edited') }
}

function thread (doc: Y.Doc, id: string): Y.Map<unknown> {
  const t = doc.getMap(ROOT).get(id)
  if (!(t instanceof Y.Map)) throw new Error(`no comment thread ${id}`)
  return t
}

function messageMap (author: Author, text: string, now: number): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('author', author.name)
  m.set('color', author.color)
  m.set('text', text)
  m.set('created', now)
  return m
}

/** A new thread on `from`..`to` (within the body) with its first message. */
export function create (doc: Y.Doc, from: Point, to: Point, quote: string, text: string, author: Author, now = Date.now()): string {
  const id = newKey(author.sub)
  doc.transact(() => {
    const t = new Y.Map<unknown>()
    doc.getMap(ROOT).set(id, t)
    t.set('start', Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(from.text, from.index, 0)))
    t.set('end', Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(to.text, to.index, -1)))
    t.set('quote', quote)
    t.set('author', author.name)
    t.set('color', author.color)
    t.set('created', now)
    t.set('resolution', new Y.Array())
    const messages = new Y.Map<unknown>()
    t.set('messages', messages)
    messages.set(newKey(author.sub), messageMap(author, text, now))
  })
  return id
}

export function reply (doc: Y.Doc, id: string, text: string, author: Author, now = Date.now()): void {
  const messages = thread(doc, id).get('messages')
  if (!(messages instanceof Y.Map)) throw new Error('the thread has no messages')
  messages.set(newKey(author.sub), messageMap(author, text, now))
}

export function setResolved (doc: Y.Doc, id: string, resolved: boolean, author: Author, now = Date.now()): void {
  const log = thread(doc, id).get('resolution')
  if (!(log instanceof Y.Array)) throw new Error('the thread has no resolution log')
  log.push([{ resolved, by: author.name, sub: author.sub, at: now }])
}

export function editMessage (doc: Y.Doc, id: string, message: string, text: string, now = Date.now()): void {
  const m = (thread(doc, id).get('messages') as Y.Map<unknown>).get(message)
  if (!(m instanceof Y.Map)) return
  doc.transact(() => { m.set('text', text); m.set('edited', now) })
}

/** Deletes a message; a thread left with none goes too (its owner's to delete). */
export function deleteMessage (doc: Y.Doc, id: string, message: string): void {
  const t = thread(doc, id)
  const messages = t.get('messages') as Y.Map<unknown>
  doc.transact(() => {
    messages.delete(message)
    if (messages.size === 0) doc.getMap(ROOT).delete(id)
  })
}

/** Where a thread's ends are now, or null if they no longer enclose text. */
export function anchorOf (doc: Y.Doc, t: Thread): { from: Point, to: Point } | null {
  if (!t.start || !t.end) return null
  const a = Y.createAbsolutePositionFromRelativePosition(t.start, doc)
  const b = Y.createAbsolutePositionFromRelativePosition(t.end, doc)
  if (!a || !b || !(a.type instanceof Y.XmlText) || !(b.type instanceof Y.XmlText)) return null
  if (a.type === b.type && a.index >= b.index) return null
  return { from: { text: a.type, index: a.index }, to: { text: b.type, index: b.index } }
}

/** May the person with `me` change this message (edit, delete)? */
export function mine (m: { owner: string, author: string }, me: Author): boolean {
  return me.sub ? m.owner === me.sub : m.owner === '' && m.author === me.name
}
