// The documents sidebar: this computer's documents, searchable, each with
// rename and remove.
import { call, type DocEntry } from './commands'
import { ask } from './dialogs'
import { $ } from './dom'

/** What the sidebar asks of the shell. */
export interface SidebarHost {
  currentKey(): string | undefined
  open(entry: DocEntry): void
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
  $('doc-list').replaceChildren(...docs.map(item))
}

function item (d: DocEntry): HTMLLIElement {
  const li = document.createElement('li')
  li.className = host.currentKey() === d.key ? 'current' : ''
  li.dataset.key = d.key
  const name = Object.assign(document.createElement('span'), { className: 'title', textContent: d.title, title: d.url })
  name.addEventListener('click', () => host.open(d))
  const rename = Object.assign(document.createElement('button'), { textContent: '✎', title: 'Rename' })
  rename.addEventListener('click', async () => {
    const title = await ask('Rename document', d.title)
    if (!title) return
    await call('rename_doc', { key: d.key, title })
    host.renamed(d, title)
    refresh()
  })
  const del = Object.assign(document.createElement('button'), { textContent: '🗑', title: 'Remove from this computer (the server keeps it)' })
  del.addEventListener('click', async () => {
    if (!confirm(`Remove “${d.title}” from this computer? The server keeps its copy.`)) return
    await host.removing(d)
    await call('delete_doc', { key: d.key })
    refresh()
  })
  li.append(name, rename, del)
  return li
}
