// The server's durable acks, from the browser's side: which local edits
// the messages sent on this connection carried, and so how many edits the
// server has stored. (The Rust engine's counterpart is core/src/client.)
import * as decoding from 'lib0/decoding'

/** True for a y-websocket message the server counts for acks: sync step 2 or update. */
export function isUpdateMessage (data: unknown): boolean {
  const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null
  if (!bytes || bytes.length < 2) return false
  const d = decoding.createDecoder(bytes)
  if (decoding.readVarUint(d) !== 0) return false
  const step = decoding.readVarUint(d)
  return step === 1 || step === 2
}

export class Acks {
  private edits: number
  private savedEdits = 0
  /** For each update message sent on this connection (from 1): the edits it covers. */
  private covers: number[] = []

  /** `unsaved`: edits from before this page that may not be on the server. */
  constructor (unsaved: number) {
    this.edits = unsaved
  }

  /** A local edit. */
  edited (): void { this.edits++ }

  /** A new connection: its messages are counted from 1 again. */
  connected (): void { this.covers = [] }

  /** An update message goes out now: it carries every edit so far (a step 2 carries all the server lacks; an update follows the ones before it). */
  sent (): void { this.covers.push(this.edits) }

  /** The server stored the first `count` update messages of this connection. */
  acked (count: number): void {
    const covered = this.covers[Math.min(count, this.covers.length) - 1]
    if (covered !== undefined) this.savedEdits = Math.max(this.savedEdits, covered)
  }

  /** Edits the server has not stored yet. */
  pending (): number { return Math.max(0, this.edits - this.savedEdits) }
}
