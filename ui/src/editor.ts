// The TipTap editor bound to a DocBridge, with its toolbar and find bar.
import { Editor, type AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import { Placeholder } from '@tiptap/extensions'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { TextSelection } from '@tiptap/pm/state'
import type { DocSession } from './platform'
import { attachmentExtensions, insertFiles, type Files } from './attachments'
import {
  Bold, Code, Ellipsis, Heading1, Heading2, Heading3, Italic, Keyboard, Link, List, ListOrdered, ListTodo,
  MessageSquarePlus, Minus, Redo2, Search, SquareCode, Strikethrough, TextQuote, Underline, Undo2, createElement, type IconNode,
  Captions, ImagePlus, Table, BetweenHorizontalEnd, BetweenVerticalEnd, TableRowsSplit, TableColumnsSplit
} from 'lucide'

export interface User { name: string, color: string }

export function createEditor (element: HTMLElement, bridge: DocSession, user: User, more: AnyExtension[] = [], files?: Files): Editor {
  editorFiles = files
  return new Editor({
    element,
    extensions: [
      // Collaboration brings its own (per-user) undo; StarterKit's would track everyone.
      StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true } }),
      TaskList,
      TaskItem.configure({ nested: true }),
      ...attachmentExtensions(files),
      Placeholder.configure({ placeholder: 'Start writing… (Markdown shortcuts work: # , - , 1. , [ ] , > , ```)' }),
      Collaboration.configure({ document: bridge.doc, field: 'default' }),
      CollaborationCaret.configure({ provider: bridge, user }),
      ...more
    ],
    autofocus: true
  })
}

/** The open editor's uploads, for the toolbar's "Insert image or file". */
let editorFiles: Files | undefined

/** Asks for files and inserts them at the cursor. */
function pickFiles (e: Editor): void {
  const files = editorFiles
  if (!files) return
  const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true })
  input.addEventListener('change', () => { void insertFiles(e, files, Array.from(input.files ?? [])) })
  input.click()
}

/** One toolbar command: its icon, name, shortcut, what it does, when it is on. */
interface Command {
  icon: IconNode
  name: string
  keys?: string
  run: (e: Editor) => void
  active?: (e: Editor) => boolean
}

/** Commands in groups; a group stays together, in the bar or in the menu. */
export const groups: Command[][] = [
  [
    { icon: Heading1, name: 'Heading 1', keys: 'Ctrl+Alt+1', run: e => e.chain().focus().toggleHeading({ level: 1 }).run(), active: e => e.isActive('heading', { level: 1 }) },
    { icon: Heading2, name: 'Heading 2', keys: 'Ctrl+Alt+2', run: e => e.chain().focus().toggleHeading({ level: 2 }).run(), active: e => e.isActive('heading', { level: 2 }) },
    { icon: Heading3, name: 'Heading 3', keys: 'Ctrl+Alt+3', run: e => e.chain().focus().toggleHeading({ level: 3 }).run(), active: e => e.isActive('heading', { level: 3 }) }
  ],
  [
    { icon: Bold, name: 'Bold', keys: 'Ctrl+B', run: e => e.chain().focus().toggleBold().run(), active: e => e.isActive('bold') },
    { icon: Italic, name: 'Italic', keys: 'Ctrl+I', run: e => e.chain().focus().toggleItalic().run(), active: e => e.isActive('italic') },
    { icon: Underline, name: 'Underline', keys: 'Ctrl+U', run: e => e.chain().focus().toggleUnderline().run(), active: e => e.isActive('underline') },
    { icon: Strikethrough, name: 'Strikethrough', keys: 'Ctrl+Shift+S', run: e => e.chain().focus().toggleStrike().run(), active: e => e.isActive('strike') },
    { icon: Code, name: 'Inline code', keys: 'Ctrl+E', run: e => e.chain().focus().toggleCode().run(), active: e => e.isActive('code') },
    {
      icon: Link,
      name: 'Link',
      run: e => {
        const prev = e.getAttributes('link').href as string | undefined
        const href = window.prompt('Link address (empty to remove)', prev ?? 'https://')
        if (href === null) return
        if (href === '') e.chain().focus().extendMarkRange('link').unsetLink().run()
        else e.chain().focus().extendMarkRange('link').setLink({ href }).run()
      },
      active: e => e.isActive('link')
    }
  ],
  [
    { icon: List, name: 'Bullet list', keys: 'Ctrl+Shift+8', run: e => e.chain().focus().toggleBulletList().run(), active: e => e.isActive('bulletList') },
    { icon: ListOrdered, name: 'Numbered list', keys: 'Ctrl+Shift+7', run: e => e.chain().focus().toggleOrderedList().run(), active: e => e.isActive('orderedList') },
    { icon: ListTodo, name: 'Task list', keys: 'Ctrl+Shift+9', run: e => e.chain().focus().toggleTaskList().run(), active: e => e.isActive('taskList') }
  ],
  [
    { icon: TextQuote, name: 'Quote', keys: 'Ctrl+Shift+B', run: e => e.chain().focus().toggleBlockquote().run(), active: e => e.isActive('blockquote') },
    { icon: SquareCode, name: 'Code block', keys: 'Ctrl+Alt+C', run: e => e.chain().focus().toggleCodeBlock().run(), active: e => e.isActive('codeBlock') },
    { icon: Minus, name: 'Horizontal rule', run: e => e.chain().focus().setHorizontalRule().run() }
  ],
  [
    { icon: ImagePlus, name: 'Insert image or file', run: pickFiles },
    { icon: Table, name: 'Insert table', run: e => e.chain().focus().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run(), active: e => e.isActive('table') },
    { icon: BetweenHorizontalEnd, name: 'Add row below', run: e => e.chain().focus().addRowAfter().run() },
    { icon: BetweenVerticalEnd, name: 'Add column right', run: e => e.chain().focus().addColumnAfter().run() },
    { icon: TableRowsSplit, name: 'Delete row', run: e => e.chain().focus().deleteRow().run() },
    { icon: TableColumnsSplit, name: 'Delete column', run: e => e.chain().focus().deleteColumn().run() }
  ],
  [
    { icon: Undo2, name: 'Undo your last change', keys: 'Ctrl+Z', run: e => e.chain().focus().undo().run() },
    { icon: Redo2, name: 'Redo', keys: 'Ctrl+Shift+Z', run: e => e.chain().focus().redo().run() }
  ],
  [
    { icon: MessageSquarePlus, name: 'Comment on the selection', keys: 'Ctrl+Alt+M', run: () => document.dispatchEvent(new CustomEvent('weft-comment')) },
    { icon: Search, name: 'Find in document', keys: 'Ctrl+F', run: () => document.dispatchEvent(new CustomEvent('weft-find')) },
    { icon: Keyboard, name: 'Keyboard shortcuts', keys: 'Ctrl+/', run: () => document.dispatchEvent(new CustomEvent('weft-shortcuts')) }
  ],
  // Only for a selected image, so the first to go to the menu.
  [
    { icon: Captions, name: 'Describe the selected image (alt text)', run: () => document.dispatchEvent(new CustomEvent('weft-describe-image')), active: e => e.isActive('image') }
  ]
]

/** "Bold (Ctrl+B)": the tooltip. */
export function label (c: Command): string {
  return c.keys ? `${c.name} (${c.keys})` : c.name
}

function icon (node: IconNode): SVGElement {
  return createElement(node, { width: 18, height: 18, 'aria-hidden': 'true' })
}

/**
 * Renders the groups into `toolbar` on one row. Groups that do not fit go,
 * whole, into the "More" menu at the end, and come back when there is room.
 * Returns a function that removes the toolbar's listeners.
 */
export function renderToolbar (toolbar: HTMLElement, editor: Editor): () => void {
  toolbar.replaceChildren()
  const refreshers: (() => void)[] = []
  const bar: HTMLElement[] = []
  const menuItems: HTMLElement[][] = []
  const menu = Object.assign(document.createElement('div'), { className: 'toolbar-menu', hidden: true })
  menu.setAttribute('role', 'menu')
  const more = Object.assign(document.createElement('button'), { type: 'button', title: 'More', className: 'toolbar-more' })
  more.setAttribute('aria-label', 'More')
  more.setAttribute('aria-haspopup', 'menu')
  more.append(icon(Ellipsis))
  groups.forEach((group, i) => {
    const box = Object.assign(document.createElement('div'), { className: 'group' })
    box.setAttribute('role', 'group')
    const items: HTMLElement[] = []
    for (const c of group) {
      const el = Object.assign(document.createElement('button'), { type: 'button', title: label(c) })
      el.setAttribute('aria-label', c.name)
      el.append(icon(c.icon))
      el.addEventListener('mousedown', ev => ev.preventDefault())
      el.addEventListener('click', () => c.run(editor))
      box.append(el)
      const item = Object.assign(document.createElement('button'), { type: 'button', className: 'menu-item' })
      item.setAttribute('role', 'menuitem')
      item.append(icon(c.icon), Object.assign(document.createElement('span'), { textContent: c.name }))
      if (c.keys) item.append(Object.assign(document.createElement('kbd'), { textContent: c.keys }))
      item.addEventListener('mousedown', ev => ev.preventDefault())
      item.addEventListener('click', () => { menu.hidden = true; c.run(editor) })
      items.push(item)
      if (c.active) refreshers.push(() => { const on = c.active!(editor); el.classList.toggle('active', on); item.classList.toggle('active', on) })
    }
    if (i > 0) box.classList.add('after-sep')
    bar.push(box)
    menuItems.push(items)
    toolbar.append(box)
  })
  toolbar.append(more, menu)

  // Shows groups from the left while they fit beside the More button.
  const layout = () => {
    for (const box of bar) box.hidden = false
    more.hidden = true
    menu.replaceChildren()
    if (toolbar.scrollWidth <= toolbar.clientWidth) { menu.hidden = true; return }
    more.hidden = false
    for (let i = bar.length - 1; i >= 0 && toolbar.scrollWidth > toolbar.clientWidth; i--) {
      bar[i].hidden = true
    }
    bar.forEach((box, i) => { if (box.hidden) menu.append(...menuItems[i]) })
  }
  more.addEventListener('mousedown', ev => ev.preventDefault())
  more.addEventListener('click', () => { menu.hidden = !menu.hidden })
  const closeMenu = (ev: MouseEvent) => { if (!toolbar.contains(ev.target as Node)) menu.hidden = true }
  document.addEventListener('mousedown', closeMenu)
  const resize = new ResizeObserver(layout)
  resize.observe(toolbar)
  layout()

  const refresh = () => refreshers.forEach(r => r())
  editor.on('transaction', refresh)
  refresh()
  return () => {
    editor.off('transaction', refresh)
    resize.disconnect()
    document.removeEventListener('mousedown', closeMenu)
  }
}

/** Every match of `query` (case-insensitive) as document ranges. */
export function findAll (editor: Editor, query: string): { from: number, to: number }[] {
  const out: { from: number, to: number }[] = []
  if (!query) return out
  const needle = query.toLowerCase()
  editor.state.doc.descendants((node, pos) => {
    if (!node.isText || !node.text) return
    const hay = node.text.toLowerCase()
    for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) out.push({ from: pos + i, to: pos + i + needle.length })
  })
  return out
}

/** Selects the next match after the selection; returns "n of m". */
export function findNext (editor: Editor, query: string): string {
  const matches = findAll(editor, query)
  if (matches.length === 0) return query ? 'no matches' : ''
  const after = editor.state.selection.to
  const idx = Math.max(0, matches.findIndex(m => m.from >= after))
  const m = matches[matches.findIndex(m => m.from >= after) === -1 ? 0 : idx]
  const tr = editor.state.tr.setSelection(TextSelection.create(editor.state.doc, m.from, m.to)).scrollIntoView()
  editor.view.dispatch(tr)
  return `${matches.indexOf(m) + 1} of ${matches.length}`
}
