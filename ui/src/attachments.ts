// Images, files and tables in the editor's schema. Every node a document
// may hold must be here: y-prosemirror deletes from the shared document
// any node the schema does not know, so an editor without these would
// erase a table someone else made.
import { Extension, Node, mergeAttributes, type AnyExtension, type Editor } from '@tiptap/core'
import Image from '@tiptap/extension-image'
import { TableKit } from '@tiptap/extension-table'
import type { Node as PmNode } from '@tiptap/pm/model'
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state'
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view'
import type { BlobState, KeptOutcome, StoredBlob } from './types'

/** What the editor needs from its platform for images and files. */
export interface Files {
  /** Uploads a file to the document's server. */
  upload(file: File): Promise<StoredBlob>
  /** A URL the page can load for an address the document holds. */
  src(address: string): string
  /** Tells the person how an upload goes. */
  say(text: string, isError?: boolean): void
  /** Where the image or file at `address` is. */
  state(address: string): Promise<BlobState>
  /** Says how many in this document wait here to be uploaded. */
  waiting(count: number): void
  /** Calls `cb` as each one kept while offline is uploaded (or refused),
   * until the function it returns is called. */
  onStored(cb: (e: KeptOutcome) => void): () => void
}

/** No uploads, addresses as they are (tests, and before a document opens). */
const plain: Files = {
  upload: async () => { throw { code: 'unsupported', message: 'no uploads here' } },
  src: a => a,
  say: () => {},
  state: async () => 'stored',
  waiting: () => {},
  onStored: () => () => {}
}

/** The hash a blob address names, if it is one. */
export function hashIn (src: unknown): string | null {
  if (typeof src !== 'string' || !src.startsWith('/api/v1/docs/')) return null
  const hash = src.split(/[?#]/)[0].split('/').pop() ?? ''
  return /^[0-9a-f]{64}$/.test(hash) ? hash : null
}

/** `pending`: added while its uploader was offline, not on the server yet.
 * Everyone shows a placeholder until it is cleared, which the uploader
 * (or anyone who finds it stored) does once the server has it. */
const pendingAttr = {
  default: false,
  parseHTML: (el: HTMLElement) => el.hasAttribute('data-pending'),
  renderHTML: (a: Record<string, unknown>) => a.pending ? { 'data-pending': '' } : {}
}

/** A blob address without a `token=` a page URL may have carried in. */
function stored (src: string | null): string | null {
  if (!src || !src.includes('/api/v1/docs/')) return src
  const url = new URL(src, 'http://x')
  if (!url.pathname.startsWith('/api/v1/docs/')) return src
  url.searchParams.delete('token')
  return url.pathname + url.search
}

/** `12.3 MB`, `820 KB`, `5 bytes`: a size as a person reads it. */
export function sizeText (bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`
  const units = ['KB', 'MB', 'GB']
  let v = bytes / 1000
  let u = 0
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`
}

/** A file chip: the file's name and size, linking to it. */
export const FileAttachment = Node.create<{ files: Files }>({
  name: 'fileAttachment',
  addOptions () { return { files: plain } },
  group: 'block',
  atom: true,
  draggable: true,
  addAttributes () {
    return {
      src: { default: null },
      name: { default: '' },
      size: { default: null },
      type: { default: null },
      pending: pendingAttr
    }
  },
  parseHTML () {
    return [{
      tag: 'div[data-file-attachment]',
      getAttrs: el => {
        const a = el.querySelector('a')
        const name = a?.getAttribute('download') ?? ''
        const src = stored(a?.getAttribute('href') ?? null)?.replace(/[?&]name=[^&]*$/, '') ?? null
        return { src, name }
      }
    }]
  },
  renderHTML ({ node, HTMLAttributes }) {
    const { src, name, size } = node.attrs as { src: string | null, name: string, size: number | null }
    const href = src ? this.options.files.src(`${src}?name=${encodeURIComponent(name)}`) : ''
    return ['div', mergeAttributes(HTMLAttributes, { 'data-file-attachment': '', class: 'file-chip' }),
      ['a', { href, download: name, target: '_blank', rel: 'noopener' },
        ['span', { class: 'file-name' }, name || 'file'],
        ['span', { class: 'file-size' }, size === null ? '' : sizeText(size)]]]
  }
})

/** Uploads `files` and inserts each at `pos` (an image, or a file chip). */
export async function insertFiles (editor: Editor, files: Files, list: File[], pos?: number): Promise<void> {
  for (const file of list) {
    files.say(`Uploading ${file.name}…`)
    let blob: StoredBlob
    try {
      blob = await files.upload(file)
    } catch (e) {
      const why = (e as { message?: string }).message ?? String(e)
      files.say(`${file.name} was not uploaded: ${why}`, true)
      return
    }
    const pending = blob.pending === true
    const node = blob.type.startsWith('image/') && blob.type !== 'image/svg+xml'
      ? { type: 'image', attrs: { src: blob.url, alt: file.name.replace(/\.[^.]+$/, ''), pending } }
      : { type: 'fileAttachment', attrs: { src: blob.url, name: file.name, size: blob.size, type: blob.type, pending } }
    const chain = editor.chain().focus()
    if (pos === undefined) chain.insertContent(node).run()
    else chain.insertContentAt(pos, node).run()
    files.say(pending
      ? `${file.name} is kept on this device and will be uploaded when the server is back`
      : `${file.name} added`)
  }
}

interface PendingNode { pos: number, node: PmNode, hash: string }
/** The pending nodes (found again only when the document changes) and
 * what is known of each hash. */
interface Pending { nodes: PendingNode[], known: Map<string, BlobState> }
const pendingKey = new PluginKey<Pending>('weftPendingBlobs')

/** Every pending image or file chip: its position, node and hash. Both are
 * blocks, so text blocks' inline content is not walked. */
function pendingNodes (doc: PmNode): PendingNode[] {
  const out: PendingNode[] = []
  doc.descendants((node, pos) => {
    const hash = node.attrs.pending ? hashIn(node.attrs.src) : null
    if (hash) out.push({ pos, node, hash })
    return !node.isTextblock
  })
  return out
}

/** Clears `pending` on every node naming `hash` (not an undoable edit). */
function markStored (view: EditorView, hash: string): void {
  if (!view.editable) return
  const tr = view.state.tr
  for (const n of pendingKey.getState(view.state)!.nodes) {
    if (n.hash === hash) tr.setNodeMarkup(n.pos, undefined, { ...n.node.attrs, pending: false })
  }
  if (tr.docChanged) view.dispatch(tr.setMeta('addToHistory', false).setMeta(pendingKey, { hash, state: 'stored' }))
}

const WAITING_TEXT = 'Not uploaded yet: it goes up when the server can be reached'
const AWAITED_TEXT = 'Not here yet: it appears once the person who added it is back online'

/** Pending images and files: shown from this device to whoever keeps it,
 * a placeholder to everyone else, checked again every few seconds. */
function pendingUploads (files: Files) {
  return Extension.create({
    name: 'weftPendingUploads',
    addProseMirrorPlugins () {
      return [new Plugin<Pending>({
        key: pendingKey,
        state: {
          init: (_, state) => ({ nodes: pendingNodes(state.doc), known: new Map() }),
          apply (tr, prev) {
            const meta = tr.getMeta(pendingKey) as { hash: string, state: BlobState | null } | undefined
            if (!meta && !tr.docChanged) return prev
            const known = meta ? new Map(prev.known) : prev.known
            if (meta?.state) known.set(meta.hash, meta.state)
            else if (meta) known.delete(meta.hash)
            return { nodes: tr.docChanged ? pendingNodes(tr.doc) : prev.nodes, known }
          }
        },
        props: {
          decorations (state: EditorState) {
            const { nodes, known } = pendingKey.getState(state)!
            if (nodes.length === 0) return DecorationSet.empty
            return DecorationSet.create(state.doc, nodes.map(({ pos, node, hash }) => {
              const waiting = known.get(hash) === 'waiting'
              return Decoration.node(pos, pos + node.nodeSize, {
                class: waiting ? 'blob-waiting' : 'blob-awaited',
                'data-placeholder': waiting ? WAITING_TEXT : AWAITED_TEXT
              })
            }))
          }
        },
        view (view) {
          const checking = new Set<string>()
          const timers = new Set<ReturnType<typeof setTimeout>>()
          let gone = false
          const check = (hash: string, src: string) => {
            checking.add(hash)
            files.state(src).catch(() => 'missing' as BlobState).then(state => {
              checking.delete(hash)
              if (gone) return
              if (state === 'stored') return markStored(view, hash)
              view.dispatch(view.state.tr.setMeta(pendingKey, { hash, state }))
              // Asked again in a while: its uploader may be back by then.
              const t = setTimeout(() => {
                timers.delete(t)
                if (!gone) view.dispatch(view.state.tr.setMeta(pendingKey, { hash, state: null }))
              }, state === 'waiting' ? 3000 : 5000)
              timers.add(t)
            })
          }
          let shown = -1
          const scan = () => {
            const { nodes, known } = pendingKey.getState(view.state)!
            const waiting = new Set<string>()
            for (const { node, hash } of nodes) {
              if (!known.has(hash) && !checking.has(hash)) check(hash, node.attrs.src as string)
              if (known.get(hash) === 'waiting') waiting.add(hash)
            }
            if (waiting.size !== shown) files.waiting(shown = waiting.size)
          }
          const unlisten = files.onStored(e => {
            if (gone) return
            if (e.error) files.say(`An image or file could not be uploaded: ${e.error}`, true)
            else markStored(view, e.hash)
          })
          scan()
          return { update: scan, destroy () { gone = true; unlisten(); files.waiting(0); for (const t of timers) clearTimeout(t) } }
        }
      })]
    }
  })
}

/** Pasted and dropped files are uploaded and inserted. */
function uploads (files: Files) {
  return Extension.create({
    name: 'weftUploads',
    addProseMirrorPlugins () {
      const editor = this.editor
      return [new Plugin({
        props: {
          handlePaste (_view, event) {
            const list = Array.from(event.clipboardData?.files ?? [])
            if (list.length === 0) return false
            void insertFiles(editor, files, list)
            return true
          },
          handleDrop (view, event) {
            const list = Array.from(event.dataTransfer?.files ?? [])
            if (list.length === 0) return false
            const at = view.posAtCoords({ left: event.clientX, top: event.clientY })
            void insertFiles(editor, files, list, at?.pos)
            return true
          }
        }
      })]
    }
  })
}

/** The extensions for images, files and tables. */
export function attachmentExtensions (files: Files = plain): AnyExtension[] {
  const WeftImage = Image.extend({
    addAttributes () {
      return {
        ...this.parent?.(),
        // Stored as the server's address; shown through the platform,
        // which adds what the page needs to load it.
        src: {
          default: null,
          parseHTML: el => stored(el.getAttribute('src')),
          // A pending one's address differs, so clearing `pending` loads
          // it afresh rather than from a failed attempt the page cached.
          renderHTML: attrs => ({ src: attrs.src ? files.src(`${attrs.src as string}${attrs.pending ? '?pending' : ''}`) : null })
        },
        pending: pendingAttr
      }
    }
  })
  return [
    WeftImage.configure({ inline: false, allowBase64: false, resize: { enabled: true, minWidth: 60, minHeight: 40, alwaysPreserveAspectRatio: true } }),
    TableKit.configure({ table: { resizable: false } }),
    FileAttachment.configure({ files }),
    uploads(files),
    pendingUploads(files)
  ]
}
