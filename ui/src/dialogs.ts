// Dialogs and bars over the editor: the prompt, sharing, find, and the
// keyboard shortcut sheet.
import type { Editor } from '@tiptap/core'
import type { DocEntry, SharedLink } from './commands'
import { $ } from './dom'
import { findNext, groups } from './editor'
import { forPerson } from './messages'
import { platform } from './platform'
import { asError, mayComment } from './types'

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

/** The share dialog: edit, comment and view links for exactly this
 * document, minted by its server with the chosen expiry, and a reset. */
export async function openShare (entry: DocEntry): Promise<void> {
  $('share-title').textContent = entry.untitled ? entry.preview ?? 'Untitled' : entry.title
  $<HTMLDialogElement>('share-dialog').showModal()
  await mintLinks(entry)
}

async function mintLinks (entry: DocEntry): Promise<void> {
  $('share-status').textContent = 'Asking the server for links…'
  $('share-edit-row').hidden = true
  $('share-comment-row').hidden = true
  $('share-view-row').hidden = true
  $('share-note').textContent = ''
  const raw = $<HTMLSelectElement>('share-expiry').value
  const expiresIn = raw ? Number(raw) : null
  try {
    const edit = entry.viewOnly ? null : await platform.invoke<SharedLink>('mint_link', { key: entry.key, access: 'write', expiresIn })
    // A link never gives more than the token that makes it.
    const comment = mayComment(entry) ? await platform.invoke<SharedLink>('mint_link', { key: entry.key, access: 'comment', expiresIn }) : null
    const view = await platform.invoke<SharedLink>('mint_link', { key: entry.key, access: 'read', expiresIn })
    $('share-status').textContent = ''
    $<HTMLInputElement>('share-edit').value = edit?.link ?? ''
    $<HTMLInputElement>('share-edit-web').value = edit?.web ?? ''
    $<HTMLInputElement>('share-view').value = view.link
    $<HTMLInputElement>('share-view-web').value = view.web
    $<HTMLInputElement>('share-comment').value = comment?.link ?? ''
    $<HTMLInputElement>('share-comment-web').value = comment?.web ?? ''
    $('share-edit-row').hidden = !edit
    $('share-comment-row').hidden = !comment || view.exp === null
    $('share-view-row').hidden = false
    $('share-note').textContent = view.exp === null
      ? 'This server has no access control: anyone who can reach it can open and edit with these links.'
      : `The links stop working ${new Date(view.exp * 1000).toLocaleString()}, or when you reset them.`
  } catch (e) {
    $('share-status').textContent = `Could not make share links. ${forPerson(asError(e), entry.url)}`
  }
}

/** Wires the expiry choice and "Reset links" to the open document. */
export function wireShare (current: () => DocEntry | undefined): void {
  $('share-expiry').addEventListener('change', () => { const e = current(); if (e) mintLinks(e) })
  $('share-reset').addEventListener('click', async () => {
    const e = current()
    if (!e || !confirm('Reset links? Every link made so far stops working, and people using one are disconnected.')) return
    try {
      await platform.invoke('reset_links', { key: e.key })
      await mintLinks(e)
      $('share-status').textContent = 'Links reset: earlier links no longer work. These are new.'
    } catch (err) {
      $('share-status').textContent = `Could not reset the links. ${forPerson(asError(err), e.url)}`
    }
  })
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
    ['New document', 'Ctrl+N'],
    ['Find', 'Ctrl+F'],
    ['Version history', 'Ctrl+Alt+H']
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
