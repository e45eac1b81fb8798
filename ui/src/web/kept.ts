// Images and files added while the server cannot be reached: kept in this
// browser (IndexedDB, so a reload or a closed tab loses nothing) and
// uploaded once it can be. The same idea as the app's engine
// (core/src/engine/kept_blobs.rs). While one waits, this page shows it
// from an object URL; others see a placeholder (attachments.ts).
import { digest } from 'lib0/hash/sha256'
import type { AppError, KeptOutcome, StoredBlob } from '../types'

/** One image or file still to upload. */
export interface Kept { key: string, hash: string, bytes: Blob, type: string }


const DB = 'weft-kept-blobs'
const STORE = 'waiting'
const id = (key: string, hash: string) => `${key} ${hash}`
/** hash → object URL, for images this page shows from here. */
const urls = new Map<string, string>()

function open (): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function run<T> (mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open()
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode)
      const req = f(tx.objectStore(STORE))
      // Resolved once the transaction commits: kept means durable.
      tx.oncomplete = () => resolve(req.result)
      tx.onerror = tx.onabort = () => reject(tx.error ?? req.error)
    })
  } finally {
    db.close()
  }
}

/** SHA-256 of `bytes`, hex: the name the server will give them. */
export function hashOf (bytes: Uint8Array): string {
  return Array.from(digest(bytes), b => b.toString(16).padStart(2, '0')).join('')
}

/** The types the server shows in place as images; the rest become file chips. */
const IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']

/** Keeps `file` for the document `key` until uploaded. */
export async function keep (key: string, file: Blob): Promise<StoredBlob> {
  const hash = hashOf(new Uint8Array(await file.arrayBuffer()))
  // The browser's word for the type only picks image or chip here; the
  // server sniffs the bytes when it gets them.
  const type = IMAGES.includes(file.type) ? file.type : 'application/octet-stream'
  await run('readwrite', s => s.put({ key, hash, bytes: file, type } satisfies Kept, id(key, hash)))
  if (!urls.has(hash)) urls.set(hash, URL.createObjectURL(file))
  return { hash, url: `/api/v1/docs/${encodeURIComponent(key)}/blobs/${hash}`, size: file.size, type, pending: true }
}

/** Everything still to upload. */
export async function waiting (): Promise<Kept[]> {
  return await run('readonly', s => s.getAll() as IDBRequest<Kept[]>)
}

/** Done with: uploaded, or refused for good. */
export async function forget (key: string, hash: string): Promise<void> {
  await run('readwrite', s => s.delete(id(key, hash)))
}

/** Makes object URLs for what waits, so a reloaded page shows it offline. */
export async function load (): Promise<void> {
  for (const k of await waiting().catch(() => [])) {
    if (!urls.has(k.hash)) urls.set(k.hash, URL.createObjectURL(k.bytes))
  }
}

/** An object URL for `hash` if this page keeps it. */
export function localUrl (hash: string): string | undefined {
  return urls.get(hash)
}

/** True if an upload failed in a way that may work later: the server
 * could not be reached, was busy, or could not store for now. */
export function isTemporary (e: unknown): boolean {
  const { code, status = 0 } = (e ?? {}) as Partial<AppError>
  return code === 'unreachable' || status === 429 || status >= 500
}

/** Uploads each waiting blob with `upload`; the outcomes of those done. */
export async function uploadWaiting (upload: (k: Kept) => Promise<unknown>): Promise<KeptOutcome[]> {
  const done: KeptOutcome[] = []
  for (const k of await waiting()) {
    let error: string | null = null
    try {
      await upload(k)
    } catch (e) {
      if (isTemporary(e)) continue
      error = (e as AppError).message ?? String(e)
    }
    await forget(k.key, k.hash)
    done.push({ key: k.key, hash: k.hash, error })
  }
  return done
}
