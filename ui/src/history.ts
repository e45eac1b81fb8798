// The history panel: the open document's versions on its server, one
// shown read-only against the current document, and restoring, naming
// and saving versions. The server does the work (see docs/PROTOCOL.md).
import { ask } from './dialogs'
import type { DocEntry } from './commands'
import { call } from './commands'
import { $ } from './dom'
import { say } from './statusbar'

export interface Version { id: string, kind: 'auto' | 'named' | 'pre-restore', name: string | null, created_at: number, authors: string[], size: number }
export interface DiffPart { op: 'equal' | 'insert' | 'delete', text: string }

let current: () => DocEntry | undefined = () => undefined
let selected: Version | undefined

const KIND: Record<Version['kind'], string> = { auto: 'Automatic', named: 'Named', 'pre-restore': 'Before a restore' }

/** A stable colour for a person, from their token's `sub`. */
function colour (who: string): string {
  let h = 0
  for (const c of who) h = (h * 31 + c.charCodeAt(0)) % 360
  return `hsl(${h} 65% 45%)`
}

function when (ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

function item (v: Version): HTMLLIElement {
  const li = document.createElement('li')
  li.dataset.id = v.id
  li.classList.toggle('current', selected?.id === v.id)
  const title = Object.assign(document.createElement('div'), { className: 'v-title', textContent: v.name ?? when(v.created_at) })
  const meta = Object.assign(document.createElement('div'), { className: 'v-meta' })
  const kind = Object.assign(document.createElement('span'), { className: `v-kind ${v.kind}`, textContent: KIND[v.kind] })
  meta.append(kind, document.createTextNode(v.name ? ` · ${when(v.created_at)}` : ''))
  const people = Object.assign(document.createElement('div'), { className: 'v-authors' })
  for (const a of v.authors) {
    const dot = Object.assign(document.createElement('span'), { className: 'v-author', textContent: a.slice(0, 1).toUpperCase(), title: a })
    dot.style.background = colour(a)
    people.append(dot)
  }
  li.append(title, meta, people)
  li.addEventListener('click', () => { show(v) })
  return li
}

/** Lists the versions again (after a save or restore, or on opening). */
export async function refresh (): Promise<void> {
  const entry = current()
  if (!entry || $('history').hidden) return
  const note = $('history-note')
  note.textContent = 'Loading versions…'
  note.hidden = false
  const versions = await call<Version[]>('versions', { key: entry.key })
  if (!versions) { note.textContent = 'The server could not list versions.'; return }
  $('history-list').replaceChildren(...versions.map(item))
  note.hidden = versions.length > 0
  note.textContent = 'No versions yet. The server saves one every ten minutes while the document is edited, or save one now.'
}

/** Shows `v` read-only, marked against the current document. */
async function show (v: Version): Promise<void> {
  const entry = current()
  if (!entry) return
  selected = v
  for (const li of $('history-list').querySelectorAll<HTMLElement>('li')) li.classList.toggle('current', li.dataset.id === v.id)
  $('history-view').hidden = false
  $('history-view-title').textContent = v.name ?? `${KIND[v.kind]} version, ${when(v.created_at)}`
  const out = $('history-diff')
  out.textContent = 'Comparing with the current document…'
  const blocks = await call<DiffPart[][]>('version_diff', { key: entry.key, vid: v.id })
  if (!blocks) { out.textContent = ''; return }
  out.replaceChildren(...blocks.map(parts => {
    const block = document.createElement('div')
    block.className = 'diff-block'
    // What restoring would bring back (only in the version) and take away
    // (only in the document now).
    const only = parts.every(p => p.op === parts[0].op) ? parts[0]?.op : 'changed'
    block.classList.add(only ?? 'equal')
    for (const p of parts) {
      const tag = p.op === 'delete' ? 'ins' : p.op === 'insert' ? 'del' : 'span'
      block.append(Object.assign(document.createElement(tag), { textContent: p.text }))
    }
    return block
  }))
  if (!blocks.length) out.textContent = 'This version is empty.'
}

async function restore (): Promise<void> {
  const entry = current()
  if (!entry || !selected) return
  const label = selected.name ? `“${selected.name}”` : `the version of ${when(selected.created_at)}`
  if (!confirm(`Restore ${label}? Everyone sees the document as it was then. The current state is kept as a version, and edits made offline are kept too.`)) return
  const done = await call<Version>('restore_version', { key: entry.key, vid: selected.id })
  if (!done) return
  say(`Restored ${label}.`)
  selected = undefined
  $('history-view').hidden = true
  await refresh()
}

async function nameSelected (): Promise<void> {
  const entry = current()
  if (!entry || !selected) return
  const name = await ask('Name this version', selected.name ?? '')
  if (!name) return
  const v = await call<Version>('name_version', { key: entry.key, vid: selected.id, name })
  if (!v) return
  selected = v
  $('history-view-title').textContent = name
  await refresh()
}

async function saveNow (): Promise<void> {
  const entry = current()
  if (!entry) return
  const name = await ask('Save a named version of the document as it is now', '')
  if (!name) return
  const v = await call<Version>('save_version', { key: entry.key, name })
  if (!v) return
  say(`Saved the version “${name}”.`)
  await refresh()
}

/** Opens or closes the panel. */
export function toggle (open = $('history').hidden): void {
  if (open && !current()) { say('Open a document to see its history.'); return }
  if (open && !$('comments-panel').hidden) $('comments-close').click()
  $('history').hidden = !open
  $('app').classList.toggle('with-history', open)
  $('history-toggle').classList.toggle('active', open)
  if (open) { selected = undefined; $('history-view').hidden = true; refresh() }
}

/** The open document changed: start over, or close without one. */
export function documentChanged (): void {
  selected = undefined
  $('history-view').hidden = true
  if (!current()) toggle(false)
  else refresh()
}

export function wire (entry: () => DocEntry | undefined): void {
  current = entry
  $('history-toggle').addEventListener('click', () => toggle())
  $('history-close').addEventListener('click', () => toggle(false))
  $('history-save').addEventListener('click', saveNow)
  $('history-restore').addEventListener('click', restore)
  $('history-name').addEventListener('click', nameSelected)
}
