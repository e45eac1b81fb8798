// Images, files and tables in the editor's schema. Every node a document
// may hold must be here: y-prosemirror deletes from the shared document
// any node the schema does not know, so an editor without these would
// erase a table someone else made.
import { Node, mergeAttributes, type AnyExtension } from '@tiptap/core'
import Image from '@tiptap/extension-image'
import { TableKit } from '@tiptap/extension-table'

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
export const FileAttachment = Node.create({
  name: 'fileAttachment',
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
    return [{ tag: 'div[data-file-attachment]' }]
  },
  renderHTML ({ node, HTMLAttributes }) {
    const { src, name, size } = node.attrs as { src: string | null, name: string, size: number | null }
    return ['div', mergeAttributes(HTMLAttributes, { 'data-file-attachment': '', class: 'file-chip' }),
      ['a', { href: src ?? '', download: name, target: '_blank', rel: 'noopener' },
        ['span', { class: 'file-name' }, name || 'file'],
        ['span', { class: 'file-size' }, size === null ? '' : sizeText(size)]]]
  }
})

/** The extensions for images, files and tables. */
export function attachmentExtensions (): AnyExtension[] {
  return [
    Image.configure({ inline: false, allowBase64: false }),
    TableKit.configure({ table: { resizable: false } }),
    FileAttachment
  ]
}
