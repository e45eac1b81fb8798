// What the browser keeps per origin, in localStorage: the documents opened
// here, the settings, each document's token (only for that document), and
// which documents hold edits the server has not acknowledged yet, and
// edits a closing page could not be sure IndexedDB had (unstored.ts). The
// documents' contents live in IndexedDB (y-indexeddb, see session.ts).
import type { DocEntry, Settings } from '../types'

const KEY = { docs: 'weft.docs', settings: 'weft.settings', token: 'weft.token.', unsaved: 'weft.unsaved.', unstored: 'weft.unstored.' }

function read<T> (key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key)
    return raw === null ? fallback : JSON.parse(raw) as T
  } catch {
    return fallback
  }
}

function write (key: string, value: unknown): void {
  localStorage.setItem(key, JSON.stringify(value))
}

/** The documents opened in this browser, by id. */
export function docs (): Record<string, DocEntry> {
  return read<Record<string, DocEntry>>(KEY.docs, {})
}

export function saveDoc (entry: DocEntry): DocEntry {
  write(KEY.docs, { ...docs(), [entry.key]: entry })
  return entry
}

export function removeDoc (id: string): void {
  const all = docs()
  delete all[id]
  write(KEY.docs, all)
  localStorage.removeItem(KEY.token + id)
  localStorage.removeItem(KEY.unsaved + id)
  localStorage.removeItem(KEY.unstored + id)
}

/** The settings, or `null` on a first visit. */
export function settings (): Settings | null {
  return read<Settings | null>(KEY.settings, null)
}

export function saveSettings (s: Settings): Settings {
  write(KEY.settings, s)
  return s
}

/** The token a link brought for this document (never sent elsewhere). */
export function token (id: string): string | null {
  return localStorage.getItem(KEY.token + id)
}

export function saveToken (id: string, token: string): void {
  localStorage.setItem(KEY.token + id, token)
}

/** True while edits to `id` made here may not be on the server yet (survives a reload). */
export function hasUnsaved (id: string): boolean {
  return localStorage.getItem(KEY.unsaved + id) !== null
}

export function setUnsaved (id: string, on: boolean): void {
  if (on) localStorage.setItem(KEY.unsaved + id, '1')
  else localStorage.removeItem(KEY.unsaved + id)
}

/** Where a closing page keeps the edits IndexedDB may lack (see unstored.ts). */
export function unstoredKey (id: string): string {
  return KEY.unstored + id
}
