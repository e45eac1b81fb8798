// The comments panel: the open document's threads in document order, each
// with its messages, a reply box, resolve/reopen, and edit/delete for one's
// own messages; resolved threads behind a toggle; threads whose text was
// deleted apart. Everything lives in the document (model.ts), so it syncs,
// works offline, and others' comments appear as they are written.
import type { Editor } from '@tiptap/core'
import { TextSelection } from '@tiptap/pm/state'
import type * as Y from 'yjs'
import { $ } from '../dom'
import { say } from '../statusbar'
import { pointAt, rangeOf, refresh as redraw } from './highlight'
import * as model from './model'

interface Open { doc: Y.Doc, editor: Editor, me: () => model.Author, canComment: boolean }

let open: Open | null = null
let active: string | null = null
let showResolved = false
/** Unsent reply text per thread, kept across re-renders. */
const drafts = new Map<string, string>()
let unobserve: (() => void) | null = null

/** The threads in document order (by where their text is now). */
export function ordered (): { placed: model.Thread[], detached: model.Thread[] } {
  if (!open) return { placed: [], detached: [] }
  const state = open.editor.state
  const all = model.threads(open.doc).map(t => ({ t, r: rangeOf(state, t) }))
  const placed = all.filter(x => x.r).sort((a, b) => a.r!.from - b.r!.from || a.t.created - b.t.created).map(x => x.t)
  const detached = all.filter(x => !x.r).map(x => x.t).sort((a, b) => a.created - b.created)
  return { placed, detached }
}

export function activeThread (): string | null { return active }

function when (ms: number): string {
  const d = new Date(ms)
  const today = new Date().toDateString() === d.toDateString()
  return today ? d.toLocaleTimeString(undefined, { timeStyle: 'short' }) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

function el<K extends keyof HTMLElementTagNameMap> (tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props)
  e.append(...kids)
  return e
}

function button (text: string, title: string, run: () => void, className = ''): HTMLButtonElement {
  const b = el('button', { type: 'button', textContent: text, title, className })
  b.addEventListener('click', ev => { ev.stopPropagation(); run() })
  return b
}

/** Runs a change; the server refuses some (see docs/PROTOCOL.md). */
function change (what: string, f: (doc: Y.Doc, me: model.Author) => void): void {
  if (!open) return
  try { f(open.doc, open.me()) } catch (e) { say(`Could not ${what}: ${(e as Error).message}`, true) }
}

function messageView (t: model.Thread, m: model.Message): HTMLElement {
  const dot = el('span', { className: 'c-dot', textContent: (m.author || '?').slice(0, 1).toUpperCase() })
  dot.style.background = m.color || '#888'
  const head = el('div', { className: 'c-head' }, dot, el('strong', { textContent: m.author || 'Someone' }),
    el('span', { className: 'c-when', textContent: when(m.created) + (m.edited ? ' · edited' : '') }))
  const body = el('div', { className: 'c-text', textContent: m.text })
  const li = el('li', { className: 'c-message' }, head, body)
  li.dataset.message = m.id
  if (open?.canComment && model.mine(m, open.me())) {
    const tools = el('span', { className: 'c-tools' },
      button('Edit', 'Edit your comment', () => editInPlace(t, m, li)),
      button('Delete', 'Delete your comment', () => {
        if (confirm('Delete this comment?')) change('delete the comment', doc => model.deleteMessage(doc, t.id, m.id))
      }))
    head.append(tools)
  }
  return li
}

function editInPlace (t: model.Thread, m: model.Message, li: HTMLElement): void {
  const area = el('textarea', { className: 'c-input', value: m.text, rows: 3 })
  const save = () => {
    const text = area.value.trim()
    if (text && text !== m.text) change('edit the comment', doc => model.editMessage(doc, t.id, m.id, text))
    else render()
  }
  area.addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save() }
    if (e.key === 'Escape') render()
  })
  li.querySelector('.c-text')?.replaceWith(el('div', { className: 'c-edit' }, area,
    el('div', { className: 'c-actions' }, button('Cancel', 'Keep it as it was', render), button('Save', 'Save (Ctrl+Enter)', save, 'primary'))))
  area.focus()
}

function threadView (t: model.Thread, detached: boolean): HTMLElement {
  const card = el('li', { className: `c-thread${t.id === active ? ' active' : ''}${t.resolved ? ' resolved' : ''}` })
  card.dataset.thread = t.id
  const quote = el('blockquote', { className: 'c-quote', textContent: t.quote, title: detached ? 'The text this was about was deleted' : 'Show in the document' })
  card.append(quote)
  if (detached) card.append(el('p', { className: 'c-note', textContent: 'Its text was deleted.' }))
  if (t.resolved) card.append(el('p', { className: 'c-note', textContent: t.resolvedBy ? `Resolved by ${t.resolvedBy}` : 'Resolved' }))
  card.append(el('ul', { className: 'c-messages' }, ...t.messages.map(m => messageView(t, m))))
  if (open?.canComment) {
    const area = el('textarea', { className: 'c-input', rows: 1, placeholder: 'Reply…', value: drafts.get(t.id) ?? '' })
    area.setAttribute('aria-label', 'Reply')
    const send = () => {
      const text = area.value.trim()
      if (!text) return
      drafts.delete(t.id)
      change('reply', (doc, me) => model.reply(doc, t.id, text, me))
    }
    area.addEventListener('input', () => drafts.set(t.id, area.value))
    area.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send() } })
    area.addEventListener('click', e => e.stopPropagation())
    const toggle = t.resolved
      ? button('Reopen', 'Open this thread again', () => change('reopen the thread', (doc, me) => model.setResolved(doc, t.id, false, me)))
      : button('Resolve', 'Mark as done and hide', () => change('resolve the thread', (doc, me) => model.setResolved(doc, t.id, true, me)))
    card.append(el('div', { className: 'c-reply' }, area), el('div', { className: 'c-actions' }, toggle, button('Reply', 'Send (Enter)', send, 'primary')))
  }
  card.addEventListener('click', () => select(t.id, true))
  return card
}

/** Draws the list again, keeping focus and unsent text; `marks` also
 * redraws the highlights (the editor redraws them itself as text changes). */
export function render (marks = true): void {
  const { placed, detached } = ordered()
  const openCount = placed.filter(t => !t.resolved).length + detached.filter(t => !t.resolved).length
  const badge = $('comments-count')
  badge.textContent = String(openCount)
  badge.hidden = openCount === 0
  if (!open) return
  const focused = document.activeElement
  const refocus = focused instanceof HTMLTextAreaElement && focused.closest<HTMLElement>('.c-thread')?.dataset.thread
  const resolved = [...placed, ...detached].filter(t => t.resolved)
  const visible = (t: model.Thread) => showResolved || !t.resolved || t.id === active
  const list = $('comments-list')
  list.replaceChildren(...placed.filter(visible).map(t => threadView(t, false)))
  const apart = detached.filter(visible)
  $('comments-detached').hidden = apart.length === 0
  $('comments-detached-list').replaceChildren(...apart.map(t => threadView(t, true)))
  const toggle = $<HTMLButtonElement>('comments-resolved')
  toggle.hidden = resolved.length === 0
  toggle.textContent = showResolved ? `Hide resolved (${resolved.length})` : `Show resolved (${resolved.length})`
  const empty = placed.length + detached.length === 0
  $('comments-empty').hidden = !empty
  if (refocus) {
    const area = list.parentElement!.querySelector<HTMLTextAreaElement>(`.c-thread[data-thread="${CSS.escape(refocus)}"] .c-reply textarea`)
    if (area) { area.focus(); area.selectionStart = area.selectionEnd = area.value.length }
  }
  if (marks) redraw(open.editor)
}

/** Makes `id` the active thread: open the panel, scroll to it and, if asked, to its text. */
export function select (id: string, scrollText: boolean): void {
  if (!open) return
  active = id
  toggle(true)
  render()
  $('comments-panel').querySelector(`.c-thread[data-thread="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'nearest' })
  const t = model.threads(open.doc).find(x => x.id === id)
  const r = t && scrollText ? rangeOf(open.editor.state, t) : null
  if (r) {
    const { editor } = open
    editor.view.dispatch(editor.state.tr.setSelection(TextSelection.create(editor.state.doc, r.from, r.to)).scrollIntoView())
  }
}

/** The selection as editor positions; the DOM's when the editor is read-only. */
function selection (editor: Editor): { from: number, to: number } {
  const { from, to } = editor.state.selection
  if (from !== to || editor.isEditable) return { from, to }
  const s = window.getSelection()
  if (!s || s.rangeCount === 0 || !editor.view.dom.contains(s.anchorNode)) return { from, to }
  const r = s.getRangeAt(0)
  try {
    return { from: editor.view.posAtDOM(r.startContainer, r.startOffset), to: editor.view.posAtDOM(r.endContainer, r.endOffset) }
  } catch { return { from, to } }
}

/** Starts a thread on the selected text: asks for the first message. */
export function startThread (): void {
  if (!open) { say('Open a document to comment on it.'); return }
  if (!open.canComment) { say('Your link only allows reading: you cannot comment.', true); return }
  const { editor } = open
  const { from, to } = selection(editor)
  const a = pointAt(editor.state, from)
  const b = pointAt(editor.state, to)
  if (from === to || !a || !b) { say('Select some text first, then comment on it (Ctrl+Alt+M).'); return }
  const quote = editor.state.doc.textBetween(from, to, ' ').slice(0, 500)
  toggle(true)
  const area = $<HTMLTextAreaElement>('comments-new-text')
  $('comments-new-quote').textContent = quote
  $('comments-new').hidden = false
  area.value = ''
  area.focus()
  pending = { from: a, to: b, quote }
}

let pending: { from: model.Point, to: model.Point, quote: string } | null = null

function submitNew (): void {
  const text = $<HTMLTextAreaElement>('comments-new-text').value.trim()
  if (!open || !pending || !text) return
  const p = pending
  let id = ''
  change('comment', (doc, me) => { id = model.create(doc, p.from, p.to, p.quote, text, me) })
  cancelNew()
  if (id) select(id, false)
}

function cancelNew (): void {
  pending = null
  $('comments-new').hidden = true
}

/** Opens or closes the panel. */
export function toggle (show = $('comments-panel').hidden): void {
  if (show && !open) { say('Open a document to see its comments.'); return }
  if (show && !$('history').hidden) $('history-close').click()
  $('comments-panel').hidden = !show
  $('app').classList.toggle('with-comments', show)
  $('comments-toggle').classList.toggle('active', show)
  if (!show) { cancelNew(); active = null; if (open) redraw(open.editor) }
  render()
}

/** A document was opened: show its comments (the panel stays as it was). */
export function attach (doc: Y.Doc, editor: Editor, me: () => model.Author, canComment: boolean): void {
  detach()
  open = { doc, editor, me, canComment }
  const root = doc.getMap(model.ROOT)
  const changed = () => render()
  root.observeDeep(changed)
  // Typing moves threads (their order, what is detached) but must stay
  // cheap: with threads, the list follows once typing pauses.
  let typing: ReturnType<typeof setTimeout> | undefined
  const typed = () => {
    if (root.size === 0) return
    clearTimeout(typing)
    typing = setTimeout(() => render(false), 300)
  }
  const clicked = (e: MouseEvent) => {
    const id = (e.target as Element | null)?.closest<HTMLElement>('.comment-mark')?.dataset.thread
    if (id) select(id, false)
  }
  editor.view.dom.addEventListener('click', clicked)
  editor.on('update', typed)
  unobserve = () => {
    clearTimeout(typing)
    root.unobserveDeep(changed)
    editor.off('update', typed)
    editor.view.dom.removeEventListener('click', clicked)
  }
  $('comment-add').hidden = !canComment
  render()
}

export function detach (): void {
  unobserve?.()
  unobserve = null
  open = null
  active = null
  drafts.clear()
  cancelNew()
  $('comments-list').replaceChildren()
  $('comments-detached-list').replaceChildren()
  render()
  if (!$('comments-panel').hidden) toggle(false)
}

export function wire (): void {
  $('comments-toggle').addEventListener('click', () => toggle())
  $('comments-close').addEventListener('click', () => toggle(false))
  $('comment-add').addEventListener('click', startThread)
  $('comments-resolved').addEventListener('click', () => { showResolved = !showResolved; render() })
  $('comments-new-send').addEventListener('click', submitNew)
  $('comments-new-cancel').addEventListener('click', cancelNew)
  $('comments-new-text').addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); submitNew() }
    if (e.key === 'Escape') cancelNew()
  })
}
