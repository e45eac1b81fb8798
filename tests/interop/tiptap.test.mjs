// Documents in TipTap 3's exact Yjs shape (built with TipTap's schema and
// y-tiptap, the binding TipTap's Collaboration extension uses) go through
// weft-server and the weft CLI, in both directions.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { getSchema } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { TaskList, TaskItem } from '@tiptap/extension-list'
import Link from '@tiptap/extension-link'
import Image from '@tiptap/extension-image'
import { TableKit } from '@tiptap/extension-table'
import { prosemirrorJSONToYDoc, yXmlFragmentToProsemirrorJSON } from '@tiptap/y-tiptap'
import { startWeft, weft, until } from './server.mjs'

process.setMaxListeners(100)

// The editor's extensions, as the desktop app configures them.
const schema = getSchema([
  StarterKit.configure({ link: false, undoRedo: false }),
  TaskList,
  TaskItem.configure({ nested: true }),
  Link,
  Image.configure({ inline: false }),
  TableKit
])

const text = (t, ...marks) => ({ type: 'text', text: t, ...(marks.length ? { marks } : {}) })
const p = (...content) => ({ type: 'paragraph', content })
const li = (...content) => ({ type: 'listItem', content })

// What a user could type in the editor, as TipTap's editor.getJSON() gives it.
export const tiptapDoc = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [text('Meeting notes')] },
    p(text('Plain, '), text('bold', { type: 'bold' }), text(', '), text('italic', { type: 'italic' }), text(', '),
      text('struck', { type: 'strike' }), text(', '), text('underlined', { type: 'underline' }), text(', '),
      text('code', { type: 'code' }), text(' and '), text('a link', { type: 'link', attrs: { href: 'https://weft.example/doc' } }),
      text('.'), { type: 'hardBreak' }, text('After a break.')),
    { type: 'bulletList', content: [li(p(text('one'))), li(p(text('two')), { type: 'bulletList', content: [li(p(text('nested')))] })] },
    { type: 'orderedList', attrs: { start: 3 }, content: [li(p(text('third'))), li(p(text('fourth')))] },
    { type: 'taskList', content: [
      { type: 'taskItem', attrs: { checked: true }, content: [p(text('done'))] },
      { type: 'taskItem', attrs: { checked: false }, content: [p(text('todo'))] }
    ] },
    { type: 'blockquote', content: [p(text('A quote'))] },
    { type: 'codeBlock', attrs: { language: 'js' }, content: [text('console.log(1)')] },
    { type: 'horizontalRule' }
  ]
}

const expectedMarkdown = `# Meeting notes

Plain, **bold**, *italic*, ~~struck~~, <u>underlined</u>, \`code\` and [a link](https://weft.example/doc).\\
After a break.

- one
- two
  - nested

3. third
4. fourth

- [x] done
- [ ] todo

> A quote

\`\`\`js
console.log(1)
\`\`\`

---
`

let server
const cleanup = []
before(async () => { server = await startWeft() })
after(async () => {
  for (const f of cleanup) f()
  await server.stop()
})

function connect (doc) {
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, doc, ydoc, { disableBc: true })
  cleanup.push(() => { provider.destroy(); ydoc.destroy() })
  return { ydoc, provider }
}

test('a TipTap-written document comes out of weft cat as Markdown and HTML', async () => {
  const { ydoc, provider } = connect('tiptap-out')
  await until(() => provider.synced, 'sync')
  // Exactly the Yjs content TipTap's Collaboration extension would write.
  Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(prosemirrorJSONToYDoc(schema, tiptapDoc, 'default')))
  // Let the update reach the server (a second stock client sees it).
  const probe = connect('tiptap-out')
  await until(() => probe.ydoc.getXmlFragment('default').length === tiptapDoc.content.length, 'propagation')

  const md = await weft(['cat', `${server.url}/tiptap-out`, '--format', 'md'])
  assert.equal(md.code, 0, md.stderr)
  assert.equal(md.stdout, expectedMarkdown)

  const html = await weft(['cat', `${server.url}/tiptap-out`, '--format', 'html'])
  assert.equal(html.code, 0, html.stderr)
  for (const needle of ['<h1>Meeting notes</h1>', '<strong>bold</strong>', '<em>italic</em>', '<del>struck</del>',
    '<u>underlined</u>', '<code>code</code>', '<a href="https://weft.example/doc">a link</a>', '<br />',
    '<ol start="3">', 'checked=""', '<blockquote>', '<code class="language-js">console.log(1)', '<hr />']) {
    assert.ok(html.stdout.includes(needle), `${needle} missing from\n${html.stdout}`)
  }

  const json = await weft(['cat', `${server.url}/tiptap-out`, '--format', 'json'])
  assert.deepEqual(schema.nodeFromJSON(JSON.parse(json.stdout)).toJSON(), schema.nodeFromJSON(tiptapDoc).toJSON())
})

test('Markdown written by weft put opens in TipTap as the same document', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tiptap-'))
  const file = join(dir, 'in.md')
  writeFileSync(file, expectedMarkdown)
  const put = await weft(['put', `${server.url}/tiptap-in`, file])
  assert.equal(put.code, 0, put.stderr)
  const { ydoc, provider } = connect('tiptap-in')
  await until(() => provider.synced && ydoc.getXmlFragment('default').length > 0, 'sync')
  const json = yXmlFragmentToProsemirrorJSON(ydoc.getXmlFragment('default'))
  // nodeFromJSON + check() throws if the content violates TipTap's schema.
  const node = schema.nodeFromJSON(json)
  node.check()
  assert.deepEqual(node.toJSON(), schema.nodeFromJSON(tiptapDoc).toJSON())
})

// A table and an image, as the editor makes them.
const cell = (kind, t) => ({ type: kind, attrs: { colspan: 1, rowspan: 1, colwidth: null }, content: [t ? p(text(t)) : { type: 'paragraph' }] })
const richDoc = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 2 }, content: [text('Options')] },
    { type: 'image', attrs: { src: '/api/v1/docs/rich/blobs/' + 'ab'.repeat(32), alt: 'The whiteboard', title: 'After the meeting', width: null, height: null } },
    { type: 'table', content: [
      { type: 'tableRow', content: [cell('tableHeader', 'Option'), cell('tableHeader', 'Cost')] },
      { type: 'tableRow', content: [cell('tableCell', 'Rust'), cell('tableCell', '3')] },
      { type: 'tableRow', content: [cell('tableCell', 'Go'), cell('tableCell', '')] }
    ] },
    p(text('After the table.'))
  ]
}

const richMarkdown = `## Options

![The whiteboard](/api/v1/docs/rich/blobs/${'ab'.repeat(32)} "After the meeting")

| Option | Cost |
| --- | --- |
| Rust | 3 |
| Go |  |

After the table.
`

test('a table and an image round-trip between TipTap and GFM Markdown and pass its schema', async () => {
  const { ydoc, provider } = connect('rich-out')
  await until(() => provider.synced, 'sync')
  Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(prosemirrorJSONToYDoc(schema, richDoc, 'default')))
  const probe = connect('rich-out')
  await until(() => probe.ydoc.getXmlFragment('default').length === richDoc.content.length, 'propagation')
  const md = await weft(['cat', `${server.url}/rich-out`, '--format', 'md'])
  assert.equal(md.code, 0, md.stderr)
  assert.equal(md.stdout, richMarkdown)
  const json = await weft(['cat', `${server.url}/rich-out`, '--format', 'json'])
  assert.deepEqual(schema.nodeFromJSON(JSON.parse(json.stdout)).toJSON(), schema.nodeFromJSON(richDoc).toJSON())
  const html = await weft(['cat', `${server.url}/rich-out`, '--format', 'html'])
  for (const needle of ['<img src="/api/v1/docs/rich/blobs/', 'alt="The whiteboard"', '<table>', '<th>Option</th>', '<td>Rust</td>']) {
    assert.ok(html.stdout.includes(needle), `${needle} missing from\n${html.stdout}`)
  }

  const dir = mkdtempSync(join(tmpdir(), 'weft-rich-'))
  writeFileSync(join(dir, 'in.md'), richMarkdown)
  const put = await weft(['put', `${server.url}/rich-in`, join(dir, 'in.md')])
  assert.equal(put.code, 0, put.stderr)
  const back = connect('rich-in')
  await until(() => back.provider.synced && back.ydoc.getXmlFragment('default').length > 0, 'sync')
  const node = schema.nodeFromJSON(yXmlFragmentToProsemirrorJSON(back.ydoc.getXmlFragment('default')))
  node.check()
  assert.deepEqual(node.toJSON(), schema.nodeFromJSON(richDoc).toJSON())
})
