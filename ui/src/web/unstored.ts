// Local edits IndexedDB may not hold yet. y-indexeddb writes each update in
// a transaction of its own, and a reload or a closed tab can abort one that
// has not committed: an edit typed offline just before would be gone. So
// local edits are held here until a later IndexedDB transaction completes
// (transactions on one store run in order), and whatever is still held at
// `pagehide` goes to localStorage, which writes at once. The next open
// applies it again; a Yjs update applied twice changes nothing.
import * as Y from 'yjs'
import { fromBase64, toBase64 } from 'lib0/buffer'

export class Unstored {
  private updates: Uint8Array[] = []
  /** The sequence number of `updates[0]`. */
  private first = 0

  constructor (private readonly key: string, private readonly storage: Storage) {}

  /** Records a local edit; returns the mark `stored` takes once IndexedDB has it. */
  add (update: Uint8Array): number {
    this.updates.push(update)
    return this.mark()
  }

  /** The mark that covers every edit recorded so far. */
  mark (): number {
    return this.first + this.updates.length
  }

  /** Everything recorded before `mark` is in IndexedDB. */
  stored (mark: number): void {
    const done = mark - this.first
    if (done <= 0) return
    this.updates.splice(0, done)
    this.first += done
    if (this.updates.length === 0) this.storage.removeItem(this.key)
  }

  /** How many edits IndexedDB may still lack. */
  get count (): number { return this.updates.length }

  /** Writes what IndexedDB may lack where the next open finds it. */
  keep (): void {
    if (this.updates.length > 0) this.storage.setItem(this.key, toBase64(Y.mergeUpdates(this.updates)))
  }

  /** After applying what an earlier page kept: if that recorded nothing here, the document had it (IndexedDB did commit), so drop it. */
  forget (): void {
    if (this.updates.length === 0) this.storage.removeItem(this.key)
  }

  /** What an earlier page kept (it stays kept until IndexedDB has it again). */
  kept (): Uint8Array | null {
    const raw = this.storage.getItem(this.key)
    return raw === null ? null : fromBase64(raw)
  }
}
