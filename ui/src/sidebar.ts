// The documents sidebar: this computer's documents, each with rename and
// remove, and the server's documents (its document API), each with delete
// to the trash and undo. One search filters both.
import { call, type DocEntry, type RemoteDoc } from './commands'
import { ask } from './dialogs'
import { $ } from './dom'
import { forPerson } from './messages'
import { say, sayWithUndo } from './statusbar'
import { platform } from './platform'
import { asError } from './types'

/** What the sidebar asks of the shell. */
export interface SidebarHost {
  currentKey(): string | undefined
  /** The open document's entry as the editor knows it (its first line may
   * be newer than the library's). */
  currentEntry(): DocEntry | undefined
  open(entry: DocEntry): void
  /** A server document, opened (and added to this computer's list). */
  openRemote(doc: RemoteDoc): void
  renamed(entry: DocEntry, title: string): void
  removing(entry: DocEntry): Promise<void>
}

let host: SidebarHost

export function wire (h: SidebarHost): void {
  host = h
  $('search').addEventListener('input', () => refresh())
}

/** Lists the documents again (after any change to them). */
export async function refresh (): Promise<void> {
  const search = $<HTMLInputElement>('search').value.trim()
  const docs = await call<DocEntry[]>('list_docs', { search: search || null }) ?? []
  const open = host.currentEntry()
  $('doc-list').replaceChildren(...docs.map(d => item(d.key === open?.key && open.untitled ? { ...d, preview: open.preview } : d)))
  await refreshServer(search)
}

/** Lists the server's documents again (others create and rename them). */
export function refreshServerList (): Promise<void> {
  return refreshServer($<HTMLInputElement>('search').value.trim())
}

/** The server's list; a sentence in its place when it cannot be had. */
async function refreshServer (search: string): Promise<void> {
  const note = $('server-note')
  try {
    const docs = await platform.invoke<RemoteDoc[]>('server_docs', { search: search || null })
    $('server-list').replaceChildren(...docs.map(remoteItem))
    note.hidden = docs.length > 0
    note.textContent = search ? 'No document on the server matches.' : 'No documents on the server yet.'
  } catch (e) {
    $('server-list').replaceChildren()
    note.hidden = false
    note.textContent = forPerson(asError(e))
  }
}

function remoteItem (d: RemoteDoc): HTMLLIElement {
  const li = document.createElement('li')
  li.dataset.id = d.id
  const when = new Date(d.updated_at * 1000).toLocaleString()
  const name = Object.assign(document.createElement('span'), {
    className: d.title ? 'title' : 'title untitled',
    textContent: d.title ?? d.id,
    title: `${d.id} · changed ${when}`
  })
  name.addEventListener('click', () => host.openRemote(d))
  const del = Object.assign(document.createElement('button'), { textContent: '🗑', title: 'Move to the server\'s trash (restorable)' })
  del.addEventListener('click', async () => {
    const label = d.title ?? d.id
    if (!confirm(`Move “${label}” to the server’s trash? Everyone loses access until it is restored.`)) return
    if (await call('trash_remote', { id: d.id }) === undefined) return
    sayWithUndo(`Moved “${label}” to the trash.`, async () => {
      if (await call('restore_remote', { id: d.id }) !== undefined) { say(`Restored “${label}”.`); refresh() }
    })
    refresh()
  })
  li.append(name, del)
  return li
}

/** Shows an untitled document's first line in its sidebar entry. */
export function showPreview (d: DocEntry): void {
  const name = document.querySelector<HTMLElement>(`#doc-list li[data-key="${CSS.escape(d.key)}"] .title`)
  if (name && d.untitled) name.textContent = d.preview ?? 'Untitled'
}

function item (d: DocEntry): HTMLLIElement {
  const li = document.createElement('li')
  li.className = host.currentKey() === d.key ? 'current' : ''
  li.dataset.key = d.key
  // No title: the first line, greyed, as in the header.
  const name = Object.assign(document.createElement('span'), {
    className: d.untitled ? 'title untitled' : 'title',
    textContent: d.untitled ? d.preview ?? 'Untitled' : d.title,
    title: d.url
  })
  name.addEventListener('click', () => host.open(d))
  const rename = Object.assign(document.createElement('button'), { textContent: '✎', title: 'Rename' })
  rename.addEventListener('click', async () => {
    const title = await ask('Rename document', d.untitled ? '' : d.title)
    if (!title) return
    await call('rename_doc', { key: d.key, title })
    host.renamed(d, title)
    refresh()
  })
  const del = Object.assign(document.createElement('button'), { textContent: '🗑', title: `Remove from ${platform.here} (the server keeps it)` })
  del.addEventListener('click', async () => {
    if (!confirm(`Remove “${d.untitled ? d.preview ?? 'Untitled' : d.title}” from ${platform.here}? The server keeps its copy.`)) return
    await host.removing(d)
    await call('delete_doc', { key: d.key })
    refresh()
  })
  li.append(name, rename, del)
  return li
}
