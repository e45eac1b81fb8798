// Images, files and tables in the editor's schema. Every node a document
// may hold must be here: y-prosemirror deletes from the shared document
// any node the schema does not know, so an editor without these would
// erase a table someone else made.
import { Extension, Node, mergeAttributes, type AnyExtension, type Editor } from '@tiptap/core'
import Image from '@tiptap/extension-image'
import { TableKit } from '@tiptap/extension-table'
import { Plugin } from '@tiptap/pm/state'
import type { StoredBlob } from './types'

/** What the editor needs from its platform for images and files. */
export interface Files {
  /** Uploads a file to the document's server. */
  upload(file: File): Promise<StoredBlob>
  /** A URL the page can load for an address the document holds. */
  src(address: string): string
  /** Tells the person how an upload goes. */
  say(text: string, isError?: boolean): void
}

/** No uploads, addresses as they are (tests, and before a document opens). */
const plain: Files = {
  upload: async () => { throw { code: 'unsupported', message: 'no uploads here' } },
  src: a => a,
  say: () => {}
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
      type: { default: null }
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
    const node = blob.type.startsWith('image/') && blob.type !== 'image/svg+xml'
      ? { type: 'image', attrs: { src: blob.url, alt: file.name.replace(/\.[^.]+$/, '') } }
      : { type: 'fileAttachment', attrs: { src: blob.url, name: file.name, size: blob.size, type: blob.type } }
    const chain = editor.chain().focus()
    if (pos === undefined) chain.insertContent(node).run()
    else chain.insertContentAt(pos, node).run()
    files.say(`${file.name} added`)
  }
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
          renderHTML: attrs => ({ src: attrs.src ? files.src(attrs.src as string) : null })
        }
      }
    }
  })
  return [
    WeftImage.configure({ inline: false, allowBase64: false, resize: { enabled: true, minWidth: 60, minHeight: 40, alwaysPreserveAspectRatio: true } }),
    TableKit.configure({ table: { resizable: false } }),
    FileAttachment.configure({ files }),
    uploads(files)
  ]
}
