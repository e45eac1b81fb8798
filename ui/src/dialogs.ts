// Dialogs and bars over the editor: the prompt, sharing, find, and the
// keyboard shortcut sheet.
import type { Editor } from '@tiptap/core'
import { asError } from './bridge'
import type { DocEntry, ShareLinks } from './commands'
import { $ } from './dom'
import { findNext, groups } from './editor'
import { forPerson } from './messages'
import { invoke } from './tauri'

/** Asks for one line (or several) of text; `null` if cancelled. */
export function ask (title: string, value = '', multiline = false): Promise<string | null> {
  const dialog = $<HTMLDialogElement>('prompt')
  $('prompt-title').textContent = title
  const input = $<HTMLInputElement>('prompt-input')
  const area = $<HTMLTextAreaElement>('prompt-area')
  input.hidden = multiline
  area.hidden = !multiline
  input.value = value
  area.value = value
  dialog.showModal()
  ;(multiline ? area : input).focus()
  return new Promise(resolve => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok' ? (multiline ? area.value : input.value.trim()) : null)
    }, { once: true })
  })
}

/** The share dialog: an edit link and a view-only link minted by the server. */
export async function openShare (entry: DocEntry): Promise<void> {
  $('share-title').textContent = entry.title
  $('share-status').textContent = 'Asking the server for a view-only link…'
  $('share-edit-row').hidden = true
  $('share-view-row').hidden = true
  $('share-note').textContent = ''
  $<HTMLDialogElement>('share-dialog').showModal()
  try {
    const links = await invoke<ShareLinks>('share_links', { key: entry.key })
    $('share-status').textContent = ''
    $<HTMLInputElement>('share-edit').value = links.edit ?? ''
    $<HTMLInputElement>('share-view').value = links.view ?? ''
    $('share-edit-row').hidden = !links.edit
    $('share-view-row').hidden = !links.view
    $('share-note').textContent = links.note
  } catch (e) {
    $('share-status').textContent = `Could not make share links. ${forPerson(asError(e), entry.url)}`
  }
}

/** Wires the share dialog's copy buttons. */
export function wireShareCopy (): void {
  for (const button of $('share-dialog').querySelectorAll<HTMLButtonElement>('[data-copy]')) {
    button.addEventListener('click', async () => {
      const input = $<HTMLInputElement>(button.dataset.copy!)
      input.select()
      await navigator.clipboard?.writeText(input.value).catch(() => {})
      button.textContent = 'Copied'
      setTimeout(() => { button.textContent = 'Copy' }, 1500)
    })
  }
}

/** Wires the find bar to whichever editor `editor()` returns. */
export function wireFind (editor: () => Editor | undefined): { open: () => void } {
  const open = () => {
    if (!editor()) return
    $('findbar').hidden = false
    $<HTMLInputElement>('find-input').select()
  }
  const next = () => {
    const e = editor()
    if (e) $('find-count').textContent = findNext(e, $<HTMLInputElement>('find-input').value)
  }
  document.addEventListener('weft-find', open)
  $('find-next').addEventListener('click', next)
  $('find-input').addEventListener('keydown', e => {
    if (e.key === 'Enter') { e.preventDefault(); next() }
    if (e.key === 'Escape') $('findbar').hidden = true
  })
  $('find-close').addEventListener('click', () => { $('findbar').hidden = true })
  return { open }
}

/** The keyboard shortcut sheet: every toolbar command with keys, and the app's own. */
export function openShortcuts (): void {
  const rows: [string, string][] = [
    ...groups.flat().filter(c => c.keys).map(c => [c.name, c.keys!] as [string, string]),
    ['New document', 'Ctrl+N']
  ]
  const seen = new Set<string>()
  $('shortcut-list').replaceChildren(...rows.filter(([name]) => !seen.has(name) && seen.add(name)).map(([name, keys]) => {
    const tr = document.createElement('tr')
    tr.append(Object.assign(document.createElement('td'), { textContent: name }))
    const td = document.createElement('td')
    td.append(...keys.split('+').map(k => Object.assign(document.createElement('kbd'), { textContent: k })))
    tr.append(td)
    return tr
  }))
  const d = $<HTMLDialogElement>('shortcuts')
  if (!d.open) d.showModal()
}
