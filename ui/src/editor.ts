// The TipTap editor bound to a DocBridge, with its toolbar and find bar.
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import { Placeholder } from '@tiptap/extensions'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { TextSelection } from '@tiptap/pm/state'
import type { DocBridge } from './bridge'

export interface User { name: string, color: string }

export function createEditor (element: HTMLElement, bridge: DocBridge, user: User): Editor {
  return new Editor({
    element,
    extensions: [
      // Collaboration brings its own (per-user) undo; StarterKit's would track everyone.
      StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true } }),
      TaskList,
      TaskItem.configure({ nested: true }),
      Placeholder.configure({ placeholder: 'Start writing… (Markdown shortcuts work: # , - , 1. , [ ] , > , ```)' }),
      Collaboration.configure({ document: bridge.doc, field: 'default' }),
      CollaborationCaret.configure({ provider: bridge, user })
    ],
    autofocus: true
  })
}

type Button = [label: string, title: string, run: (e: Editor) => void, active?: (e: Editor) => boolean]

const buttons: (Button | '|')[] = [
  ['H1', 'Heading 1 (Ctrl+Alt+1)', e => e.chain().focus().toggleHeading({ level: 1 }).run(), e => e.isActive('heading', { level: 1 })],
  ['H2', 'Heading 2 (Ctrl+Alt+2)', e => e.chain().focus().toggleHeading({ level: 2 }).run(), e => e.isActive('heading', { level: 2 })],
  ['H3', 'Heading 3 (Ctrl+Alt+3)', e => e.chain().focus().toggleHeading({ level: 3 }).run(), e => e.isActive('heading', { level: 3 })],
  '|',
  ['B', 'Bold (Ctrl+B)', e => e.chain().focus().toggleBold().run(), e => e.isActive('bold')],
  ['I', 'Italic (Ctrl+I)', e => e.chain().focus().toggleItalic().run(), e => e.isActive('italic')],
  ['U', 'Underline (Ctrl+U)', e => e.chain().focus().toggleUnderline().run(), e => e.isActive('underline')],
  ['S', 'Strikethrough (Ctrl+Shift+S)', e => e.chain().focus().toggleStrike().run(), e => e.isActive('strike')],
  ['</>', 'Code (Ctrl+E)', e => e.chain().focus().toggleCode().run(), e => e.isActive('code')],
  ['Link', 'Link', e => {
    const prev = e.getAttributes('link').href as string | undefined
    const href = window.prompt('Link address (empty to remove)', prev ?? 'https://')
    if (href === null) return
    if (href === '') e.chain().focus().extendMarkRange('link').unsetLink().run()
    else e.chain().focus().extendMarkRange('link').setLink({ href }).run()
  }, e => e.isActive('link')],
  '|',
  ['• List', 'Bullet list (Ctrl+Shift+8)', e => e.chain().focus().toggleBulletList().run(), e => e.isActive('bulletList')],
  ['1. List', 'Ordered list (Ctrl+Shift+7)', e => e.chain().focus().toggleOrderedList().run(), e => e.isActive('orderedList')],
  ['☑ Tasks', 'Task list (Ctrl+Shift+9)', e => e.chain().focus().toggleTaskList().run(), e => e.isActive('taskList')],
  ['❝', 'Quote (Ctrl+Shift+B)', e => e.chain().focus().toggleBlockquote().run(), e => e.isActive('blockquote')],
  ['{ }', 'Code block (Ctrl+Alt+C)', e => e.chain().focus().toggleCodeBlock().run(), e => e.isActive('codeBlock')],
  ['―', 'Horizontal rule', e => e.chain().focus().setHorizontalRule().run()],
  '|',
  ['↶', 'Undo your last change (Ctrl+Z)', e => e.chain().focus().undo().run()],
  ['↷', 'Redo (Ctrl+Shift+Z)', e => e.chain().focus().redo().run()],
  ['Find', 'Find in document (Ctrl+F)', () => document.dispatchEvent(new CustomEvent('weft-find'))]
]

export function renderToolbar (toolbar: HTMLElement, editor: Editor): () => void {
  toolbar.replaceChildren()
  const refreshers: (() => void)[] = []
  for (const b of buttons) {
    if (b === '|') { toolbar.append(Object.assign(document.createElement('span'), { className: 'sep' })); continue }
    const [label, title, run, active] = b
    const el = Object.assign(document.createElement('button'), { textContent: label, title, type: 'button' })
    el.setAttribute('aria-label', title)
    el.addEventListener('mousedown', ev => ev.preventDefault())
    el.addEventListener('click', () => run(editor))
    toolbar.append(el)
    if (active) refreshers.push(() => el.classList.toggle('active', active(editor)))
  }
  const refresh = () => refreshers.forEach(r => r())
  editor.on('transaction', refresh)
  refresh()
  return () => editor.off('transaction', refresh)
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
