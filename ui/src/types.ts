// What the shell and both platforms exchange: documents, settings, links.
export interface DocEntry { key: string, url: string, title: string, untitled: boolean, preview: string | null, lastOpened: number, unsaved: number, viewOnly: boolean, commentOnly: boolean, sub: string }
/** True if this document's link lets its holder comment (write, or comment access). */
export function mayComment (entry: DocEntry): boolean {
  return !entry.viewOnly || entry.commentOnly
}
export interface Settings { serverUrl: string, name: string, color: string, tokens: Record<string, string>, theme: string }
export interface ShareLinks { edit: string | null, view: string | null, note: string }
export interface RemoteDoc { id: string, title: string | null, created_at: number, updated_at: number, size: number }
/** `link` opens the app (`weft://`); `web` opens the web editor (`https://host/d/doc#token=…`). */
export interface SharedLink { link: string, web: string, access: string, exp: number | null }

/** An image or file the server stored (docs/PROTOCOL.md, "Images and files"). */
export interface StoredBlob { hash: string, url: string, size: number, type: string, pending?: boolean }
/** A blob kept while offline that is done with: stored, or refused for good (`error`). */
export interface KeptOutcome { key: string, hash: string, error: string | null }
/** Where a document's image or file is: kept here to upload, on the server, or neither yet. */
export type BlobState = 'waiting' | 'stored' | 'missing'

/** A document's sync state, as the status bar shows it. */
export interface Status { status?: string, pending?: number, saved?: number, savedLocally?: number, serverCannotSave?: boolean }

/** An error from the platform: a code to act on, a message for logs, and
 * the HTTP status when a server refused. */
export interface AppError { code: string, message: string, status?: number }

export function asError (e: unknown): AppError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as AppError
  return { code: 'unknown', message: String(e) }
}
