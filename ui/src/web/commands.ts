// The app's commands (src-tauri/src/commands.rs) in the browser: the
// document list, settings and tokens in localStorage, everything about the
// server through its API. Same names and arguments as the app's, so the
// shell's code is the same for both.
import type { DocEntry, RemoteDoc, Settings, SharedLink } from '../types'
import type { DocSession } from '../platform'
import { json, request } from './api'
import * as local from './local'
import { WebSession } from './session'

type Args = Record<string, any>

/** The sessions open on this page, by document id (for `doc_status`). */
export const sessions = new Map<string, WebSession>()

const COLOURS = ['#2563eb', '#db2777', '#16a34a', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626']

/** Settings on a first visit: a colour picked for this person, no name yet. */
export function defaultSettings (): Settings {
  return { serverUrl: location.origin, name: '', color: COLOURS[Math.floor(Math.random() * COLOURS.length)], tokens: {}, theme: 'system' }
}

function settings (): Settings {
  return local.settings() ?? defaultSettings()
}

/** The token in Settings for this server (lists documents, makes new ones). */
function serverToken (): string | null {
  return settings().tokens[location.origin] ?? null
}

export function tokenFor (id: string): string | null {
  return local.token(id) ?? serverToken()
}

/** The unverified claims of a token: only to decide what the UI offers. */
function claims (token: string | null): { access?: string, sub?: string } | null {
  try {
    const payload = token?.split('.')[1]
    return payload ? JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) : null
  } catch {
    return null
  }
}

function newId (): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), b => alphabet[b % 32]).join('')
}

function entryFor (id: string, title?: string | null): DocEntry {
  const known = local.docs()[id]
  const c = claims(local.token(id))
  const access = { viewOnly: c?.access === 'read' || c?.access === 'comment', commentOnly: c?.access === 'comment', sub: c?.sub ?? '' }
  const base: DocEntry = known ?? { key: id, url: `${location.origin}/d/${id}`, title: 'Untitled', untitled: true, preview: null, lastOpened: 0, unsaved: 0, ...access }
  const named = title ? { title, untitled: false } : {}
  return local.saveDoc({ ...base, ...named, ...access, lastOpened: Date.now() })
}

/** A link to a document on this server: `https://host/d/<id>#token=…`, a
 * `weft://`/`ws://` link, or a bare id. Links to other servers are refused:
 * this page can only talk to the server that served it. */
export function parseLink (link: string): { id: string, token: string | null } {
  const text = link.trim()
  if (/^[A-Za-z0-9._~-]{1,255}$/.test(text)) return { id: text, token: null }
  let url: URL
  try {
    url = new URL(text.replace(/^weft:/, 'http:'))
  } catch {
    throw { code: 'bad_url', message: `${text}: not a link` }
  }
  const web = url.pathname.match(/^\/d\/([A-Za-z0-9._~-]{1,255})$/)
  const ws = url.pathname.match(/^\/([A-Za-z0-9._~-]{1,255})$/)
  const id = web?.[1] ?? ws?.[1]
  if (!id) throw { code: 'bad_url', message: `${text}: no document in it` }
  if (url.host !== location.host) {
    throw { code: 'other_server', message: `This link is for the server at ${url.host}. Open it there, or in the Weft app.` }
  }
  const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? url.searchParams.get('token')
  return { id, token }
}

function download (name: string, body: Blob): void {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(body), download: name })
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 10000)
}

const versions = (a: Args) => `/docs/${encodeURIComponent(a.key)}/versions`

export const commands: Record<string, (a: Args) => Promise<unknown>> = {
  async get_settings () { return settings() },
  async set_settings (a) { return local.saveSettings(a.settings as Settings) },
  async launch_link () {
    const m = location.pathname.match(/^\/d\/([^/]+)$/)
    if (!m) return null
    const link = location.href
    // The token has been read: keep it out of the address bar, bookmarks and screenshots.
    if (location.hash) history.replaceState(null, '', location.pathname)
    return link
  },
  async list_docs (a) {
    const q = (a.search as string | null)?.toLowerCase()
    return Object.values(local.docs())
      .filter(d => !q || [d.title, d.preview ?? '', d.key].some(t => t.toLowerCase().includes(q)))
      .sort((x, y) => y.lastOpened - x.lastOpened)
  },
  async create_doc (a) { return entryFor(newId(), a.title === 'Untitled' ? null : a.title) },
  async add_link (a) {
    const { id, token } = parseLink(a.link)
    if (token) local.saveToken(id, token)
    return entryFor(id)
  },
  async add_remote (a) { return entryFor(a.id, a.title) },
  async rename_doc (a) {
    const d = local.docs()[a.key]
    if (d) local.saveDoc({ ...d, title: a.title, untitled: a.title === 'Untitled' })
    return null
  },
  async set_preview (a) {
    const d = local.docs()[a.key]
    if (d) local.saveDoc({ ...d, preview: a.preview || null })
    return null
  },
  async delete_doc (a) {
    if (local.hasUnsaved(a.key)) {
      throw { code: 'unsaved', message: 'This document has changes the server has not saved yet. Open it while connected, wait for “Saved on server”, then remove it.' }
    }
    local.removeDoc(a.key)
    indexedDB.deleteDatabase(`weft-${a.key}`)
    return null
  },
  async doc_status (a) { return sessions.get(a.key)?.status() ?? null },
  async export_doc (a) {
    const res = await request('GET', `/docs/${encodeURIComponent(a.key)}/content?format=${a.format}`, tokenFor(a.key))
    download(a.path, await res.blob())
    return null
  },
  async import_markdown (a) {
    const id = newId()
    await request('PUT', `/docs/${id}/content`, serverToken(), a.markdown, 'text/markdown')
    return entryFor(id, a.title)
  },
  async server_docs (a) {
    // A server that gave this browser document tokens checks tokens: listing
    // it needs one for the whole server, which only Settings can hold.
    if (!serverToken() && Object.keys(local.docs()).some(id => local.token(id))) {
      throw { code: 'needs_token', message: 'listing this server needs a server token' }
    }
    const q = a.search ? `&q=${encodeURIComponent(a.search)}` : ''
    const list = await json<{ docs: RemoteDoc[] }>('GET', `/docs?limit=200${q}`, serverToken())
    return list.docs
  },
  async trash_remote (a) { await request('DELETE', `/docs/${encodeURIComponent(a.id)}`, tokenFor(a.id)); return null },
  async restore_remote (a) { await request('POST', `/docs/${encodeURIComponent(a.id)}/restore`, tokenFor(a.id)); return null },
  async mint_link (a): Promise<SharedLink> {
    const minted = await json<{ token: string | null, access: string, exp: number | null }>('POST', `/docs/${encodeURIComponent(a.key)}/links`, tokenFor(a.key), { access: a.access, expires_in: a.expiresIn ?? null })
    const tls = location.protocol === 'https:'
    const query = [tls ? 'tls=1' : '', minted.token ? `token=${minted.token}` : ''].filter(Boolean).join('&')
    return {
      link: `weft://${location.host}/${a.key}${query ? `?${query}` : ''}`,
      web: `${location.origin}/d/${a.key}${minted.token ? `#token=${minted.token}` : ''}`,
      access: minted.access,
      exp: minted.exp
    }
  },
  async reset_links (a) { await request('POST', `/docs/${encodeURIComponent(a.key)}/links/reset`, tokenFor(a.key)); return null },
  async versions (a) { return (await json<{ versions: unknown[] }>('GET', versions(a), tokenFor(a.key))).versions },
  async save_version (a) { return await json('POST', versions(a), tokenFor(a.key), { name: a.name }) },
  async name_version (a) { return await json('PATCH', `${versions(a)}/${a.vid}`, tokenFor(a.key), { name: a.name }) },
  async version_diff (a) { return (await json<{ blocks: unknown[] }>('GET', `${versions(a)}/${a.vid}/diff`, tokenFor(a.key))).blocks },
  async restore_version (a) { return await json('POST', `${versions(a)}/${a.vid}/restore`, tokenFor(a.key)) }
}

/** A session for a document, with its token. */
export function session (entry: DocEntry): DocSession {
  const s = new WebSession(entry.key, tokenFor(entry.key), () => sessions.delete(entry.key))
  sessions.set(entry.key, s)
  // The address bar names the open document, so a reload reopens it.
  if (location.pathname !== `/d/${entry.key}`) history.pushState(null, '', `/d/${entry.key}`)
  return s
}
