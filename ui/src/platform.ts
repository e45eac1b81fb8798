// Where the editor runs: the desktop app (Tauri IPC to the Rust engine) or
// a browser (y-websocket straight to the server). The shell, editor,
// sidebar, dialogs and panels use only this interface; the build picks the
// implementation (`#target`: src/desktop or src/web, see vite.config.ts).
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import type { AppError, BlobState, DocEntry, KeptOutcome, Status, StoredBlob } from './types'
import { platform as target } from '#target'

/** One open document: a Y.Doc and an Awareness kept in sync with the server. */
export interface DocSession {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  onStatus: (s: Status) => void
  onError: (e: AppError) => void
  /** Loads what is kept locally, then starts syncing. */
  open(): Promise<void>
  /** Tells others we left and stops syncing. */
  close(): Promise<void>
}

export interface Platform {
  /** Where documents are kept besides the server, for sentences: "this computer". */
  readonly here: string
  /** True when exporting asks for a file path (the app); a browser downloads. */
  readonly exportsToPath: boolean
  /** Runs one of the app's commands (names as in src-tauri/src/commands.rs). */
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>
  /** A session for the document; call `open()` on it. */
  session(entry: DocEntry): DocSession
  /** Calls `cb` with each link handed to the running app from outside. */
  onOpenLink(cb: (link: string) => void): void
  /** Adapts the page before the shell starts (labels, first-visit questions). */
  setup(): Promise<void>
  /** Uploads an image or file to the document's server; what it stored.
   * If the server cannot be reached it is kept here and comes back
   * `pending`: uploaded when it can be, then `onBlobStored` says so. */
  uploadBlob(key: string, file: Blob): Promise<StoredBlob>
  /** Where the image or file at `src` is. */
  blobState(key: string, src: string): Promise<BlobState>
  /** Calls `cb` as each image or file kept while offline is done with,
   * until the function it returns is called. */
  onBlobStored(cb: (e: KeptOutcome) => void): () => void
  /** A URL the page can load for an address the document holds: the
   * server's blob addresses need the document's token; anything else is
   * returned as it is. */
  blobSrc(key: string, src: string): string
}

export const platform: Platform = target
