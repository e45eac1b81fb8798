// Commented text, highlighted in the editor, and the link between editor
// positions and thread anchors (through y-tiptap's Y <-> ProseMirror mapping).
import { Extension, type Editor } from '@tiptap/core'
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import {
  absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey
} from '@tiptap/y-tiptap'
import * as Y from 'yjs'
import type { Point, Thread } from './model'

export interface Highlights {
  /** Open threads to highlight, and the one to show as active. */
  threads: () => Thread[]
  active: () => string | null
}

const key = new PluginKey<DecorationSet>('weft-comments')

interface Binding { type: Y.XmlFragment, mapping: Map<Y.AbstractType<unknown>, unknown>, doc: Y.Doc }

function binding (state: EditorState): Binding | null {
  const b = (ySyncPluginKey.getState(state) as { binding?: Binding } | undefined)?.binding
  return b ?? null
}

/** A thread's range in the editor now, or null if its text is gone. */
export function rangeOf (state: EditorState, t: Thread): { from: number, to: number } | null {
  const b = binding(state)
  if (!b || !t.start || !t.end) return null
  const from = relativePositionToAbsolutePosition(b.doc, b.type, t.start, b.mapping as never)
  const to = relativePositionToAbsolutePosition(b.doc, b.type, t.end, b.mapping as never)
  return from !== null && to !== null && from < to ? { from, to } : null
}

/** An editor position as an anchor end in the body's text, if it is in text. */
export function pointAt (state: EditorState, pos: number): Point | null {
  const b = binding(state)
  if (!b) return null
  const rel = absolutePositionToRelativePosition(pos, b.type, b.mapping as never)
  const abs = Y.createAbsolutePositionFromRelativePosition(rel, b.doc)
  return abs && abs.type instanceof Y.XmlText ? { text: abs.type, index: abs.index } : null
}

function decorations (state: EditorState, h: Highlights): DecorationSet {
  const threads = h.threads()
  if (threads.length === 0) return DecorationSet.empty
  const active = h.active()
  const decos: Decoration[] = []
  for (const t of threads) {
    if (t.resolved) continue
    const r = rangeOf(state, t)
    if (!r) continue
    decos.push(Decoration.inline(r.from, r.to, { class: t.id === active ? 'comment-mark active' : 'comment-mark', 'data-thread': t.id }, { thread: t.id }))
  }
  return DecorationSet.create(state.doc, decos)
}

/** The extension; `refresh(editor)` redraws after the comments change. */
export function CommentHighlights (h: Highlights) {
  return Extension.create({
    name: 'weftComments',
    addProseMirrorPlugins () {
      return [new Plugin<DecorationSet>({
        key,
        state: {
          init: (_, state) => decorations(state, h),
          apply: (tr, old, _prev, state) => tr.docChanged || tr.getMeta(key) ? decorations(state, h) : old.map(tr.mapping, tr.doc)
        },
        // Clicks on marks are handled on the DOM (see panel.ts): ProseMirror
        // does not pass clicks on to plugins while the editor is read-only.
        props: { decorations: state => key.getState(state) }
      })]
    }
  })
}

export function refresh (editor: Editor): void {
  if (editor.isDestroyed) return
  editor.view.dispatch(editor.state.tr.setMeta(key, true))
}
