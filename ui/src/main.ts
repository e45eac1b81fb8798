// The app shell: which document is open, and the wiring between the
// sidebar, the editor, the dialogs, the status bar and the settings, each
// in its own module.
import './styles.css'
import type { Editor } from '@tiptap/core'
import { call, type DocEntry, type RemoteDoc } from './commands'
import { ask, openShare, openShortcuts, wireFind, wireShare, wireShareCopy } from './dialogs'
import { $ } from './dom'
import { createEditor, renderToolbar } from './editor'
import { CONNECTION_CODES, forPerson } from './messages'
import { platform, type DocSession } from './platform'
import * as settings from './settings'
import * as history from './history'
import * as comments from './comments/panel'
import { CommentHighlights } from './comments/highlight'
import { threads as commentThreads } from './comments/model'
import * as sidebar from './sidebar'
import { say, sayConnection, showStatus, showWaitingFiles } from './statusbar'
import { asError, mayComment, type KeptOutcome, type Status } from './types'

let current: { entry: DocEntry, bridge: DocSession, editor: Editor, untoolbar: () => void } | null = null

async function closeCurrent () {
  if (!current) return
  const c = current
  current = null
  document.body.classList.add('no-doc')
  $('empty').hidden = false
  await flushPreview(c.entry.key)
  comments.detach()
  c.untoolbar()
  c.editor.destroy()
  await c.bridge.close()
}

function renderAvatars (bridge: DocSession) {
  const box = $('avatars')
  box.replaceChildren()
  const seen = new Set<string>()
  for (const [id, state] of bridge.awareness.getStates()) {
    const user = (state as { user?: { name?: string, color?: string } }).user
    if (!user?.name) continue
    const k = `${user.name}|${user.color}`
    if (seen.has(k)) continue
    seen.add(k)
    const a = Object.assign(document.createElement('span'), { className: 'avatar', textContent: user.name.slice(0, 1).toUpperCase(), title: id === bridge.doc.clientID ? `${user.name} (you)` : user.name })
    a.style.background = user.color ?? '#888'
    box.append(a)
  }
}

// A view-only document: the editor refuses input and the header says so
// (with a comment link, comments still work).
function setViewOnly (on: boolean, commentOnly = false) {
  current?.editor.setEditable(!on)
  const badge = $('view-only')
  badge.hidden = !on
  badge.textContent = commentOnly ? 'Can comment' : 'View only'
  badge.title = commentOnly ? 'Your link lets you comment but not edit' : 'Your link only allows reading'
  $('main').classList.toggle('read-only', on)
  $('main').classList.toggle('comment-only', on && commentOnly)
}

// ---- the shared title: `meta.title` inside the document ----
function sharedTitle (bridge: DocSession): string | undefined {
  const t = bridge.doc.getMap('meta').get('title')
  return typeof t === 'string' && t.trim() ? t.trim() : undefined
}

// Untitled documents show their first line, greyed, as Google Docs does:
// in the header, the window title and the sidebar.
function showTitle (bridge: DocSession, editor: Editor) {
  const title = sharedTitle(bridge)
  const firstLine = editor.state.doc.firstChild?.textContent.trim() ?? ''
  const input = $<HTMLInputElement>('doc-title')
  if (document.activeElement !== input) input.value = title ?? ''
  input.placeholder = title ? '' : firstLine || 'Untitled'
  document.title = `${title ?? (firstLine || 'Untitled')} — Weft`
  if (!title && current?.editor === editor) rememberPreview(current.entry, firstLine)
}

// The sidebar's greyed first line follows typing at once; the library
// keeps it (for the next start) a second after typing stops.
// Per document, so switching documents never drops a pending save.
const pendingPreviews = new Map<string, { timer: ReturnType<typeof setTimeout>, save: () => Promise<unknown> }>()
function rememberPreview (entry: DocEntry, firstLine: string) {
  const preview = firstLine.slice(0, 120) || null
  if (!entry.untitled || entry.preview === preview) return
  entry.preview = preview
  sidebar.showPreview(entry)
  clearTimeout(pendingPreviews.get(entry.key)?.timer)
  const save = () => { pendingPreviews.delete(entry.key); return call('set_preview', { key: entry.key, preview: preview ?? '' }) }
  pendingPreviews.set(entry.key, { timer: setTimeout(save, 1000), save })
}

/** Saves a document's pending first line now (it is being closed). */
async function flushPreview (key: string) {
  const pending = pendingPreviews.get(key)
  if (!pending) return
  clearTimeout(pending.timer)
  await pending.save()
}

// Someone (here or elsewhere) changed the title: show it, and keep this
// computer's list in step.
async function titleChanged (entry: DocEntry, bridge: DocSession, editor: Editor) {
  showTitle(bridge, editor)
  const title = sharedTitle(bridge)
  if (title && (title !== entry.title || entry.untitled)) {
    entry.title = title
    entry.untitled = false
    await call('rename_doc', { key: entry.key, title })
    sidebar.refresh()
  }
}

// A title kept only on this computer (from before titles were shared)
// goes into the document once it is synced, if the document has none.
function shareLocalTitle (entry: DocEntry, bridge: DocSession) {
  const id = entry.url.split('/').pop()?.split('?')[0]
  if (entry.viewOnly || sharedTitle(bridge) || entry.untitled || entry.title === id) return
  bridge.doc.getMap('meta').set('title', entry.title)
}

async function openDoc (entry: DocEntry) {
  if (current?.entry.key === entry.key) return
  await closeCurrent()
  const bridge = platform.session(entry)
  let shared = false
  bridge.onStatus = s => {
    showStatus(s)
    if (s.status === 'synced' && !shared) { shared = true; shareLocalTitle(entry, bridge) }
  }
  bridge.onError = e => {
    // The server refused an edit: this link only allows reading.
    if (e.code === 'denied' && entry.commentOnly) { say('Your link lets you comment but not edit: that change is not saved.', true); return }
    if (e.code === 'denied') { setViewOnly(true); say('This link is view-only: your changes are not saved.', true); return }
    if (CONNECTION_CODES.has(e.code)) sayConnection(forPerson(e, entry.url))
    else say(forPerson(e, entry.url), true)
  }
  try {
    await bridge.open()
  } catch (e) {
    say(forPerson(asError(e), entry.url), true)
    return
  }
  $('empty').hidden = true
  document.body.classList.remove('no-doc')
  const me = settings.current()
  const highlights = CommentHighlights({ threads: () => commentThreads(bridge.doc), active: comments.activeThread })
  const files = {
    upload: (file: File) => platform.uploadBlob(entry.key, file),
    src: (address: string) => platform.blobSrc(entry.key, address),
    say,
    state: (address: string) => platform.blobState(entry.key, address),
    waiting: showWaitingFiles,
    onStored: (cb: (e: KeptOutcome) => void) => platform.onBlobStored(e => { if (e.key === entry.key) cb(e) })
  }
  const editor = createEditor($('editor'), bridge, { name: me.name, color: me.color }, [highlights], files)
  const untoolbar = renderToolbar($('toolbar'), editor)
  current = { entry, bridge, editor, untoolbar }
  setViewOnly(entry.viewOnly, entry.commentOnly)
  const author = () => { const s = settings.current(); return { name: s.name, color: s.color, sub: entry.sub ?? '' } }
  comments.attach(bridge.doc, editor, author, mayComment(entry))
  // Typing names an untitled document in the sidebar (its first line).
  editor.on('update', () => { if (!sharedTitle(bridge)) showTitle(bridge, editor) })
  bridge.awareness.on('change', () => renderAvatars(bridge))
  renderAvatars(bridge)
  showTitle(bridge, editor)
  bridge.doc.getMap('meta').observe(() => { titleChanged(entry, bridge, editor) })
  const status = await call<Status>('doc_status', { key: entry.key })
  if (status) showStatus(status)
  say('')
  sidebar.refresh()
  history.documentChanged()
}

async function newDoc () {
  const entry = await call<DocEntry>('create_doc', { title: 'Untitled' })
  if (entry) { await sidebar.refresh(); await openDoc(entry); $<HTMLInputElement>('doc-title').select() }
}

async function openLink (link?: string) {
  const url = link ?? await ask('Paste a document link (https://…/d/…, weft://, ws:// or wss://)')
  if (!url) return
  const entry = await call<DocEntry>('add_link', { link: url })
  if (!entry) return
  // Same doc, maybe a new token: reopen so the editor matches its access.
  if (current?.entry.key === entry.key) await closeCurrent()
  // openDoc refreshes the sidebar once the document is open.
  await openDoc(entry)
}

// A file chip: a browser downloads it through its link; the app asks
// where to save it.
document.addEventListener('click', ev => {
  const link = (ev.target as HTMLElement).closest<HTMLAnchorElement>('.tiptap .file-chip a')
  if (!link || !current || !platform.exportsToPath) return
  ev.preventDefault()
  const node = link.closest('.file-chip')
  const pos = node ? current.editor.view.posAtDOM(node, 0) : -1
  const attrs = pos >= 0 ? current.editor.state.doc.nodeAt(pos)?.attrs : undefined
  if (attrs?.src) void saveFile(attrs.src as string, (attrs.name as string) || 'file')
})

async function saveFile (src: string, name: string) {
  if (!current) return
  const path = await ask(`Save ${name} to`, `~/${name.replace(/[/\\]/g, '-')}`)
  if (!path) return
  const ok = await call('save_blob', { key: current.entry.key, src, path }) !== undefined
  if (ok) say(`Saved ${path}`)
}

async function exportAs (format: 'md' | 'html') {
  if (!current) return
  const name = `${current.entry.title.replace(/[/\\]/g, '-')}.${format}`
  // The app writes a file where asked; a browser downloads it.
  const path = platform.exportsToPath ? await ask(`Export as ${format === 'md' ? 'Markdown' : 'HTML'} to`, `~/${name}`) : name
  if (!path) return
  const ok = await call('export_doc', { key: current.entry.key, format, path }) !== undefined
  if (ok) say(platform.exportsToPath ? `Exported to ${path}` : `Downloaded ${path}`)
}

function importMarkdown () {
  const input = Object.assign(document.createElement('input'), { type: 'file', accept: '.md,.markdown,text/markdown,text/plain' })
  input.addEventListener('change', async () => {
    const file = input.files?.[0]
    if (!file) return
    const entry = await call<DocEntry>('import_markdown', { title: file.name.replace(/\.(md|markdown)$/i, ''), markdown: await file.text() })
    if (entry) { await sidebar.refresh(); await openDoc(entry); say(`Imported ${file.name}`) }
  })
  input.click()
}

// The header's title is the document's: everyone sees the change.
async function renameCurrent () {
  if (!current) return
  const title = $<HTMLInputElement>('doc-title').value.trim()
  const meta = current.bridge.doc.getMap('meta')
  if (title) meta.set('title', title)
  else meta.delete('title')
  if (!title) {
    await call('rename_doc', { key: current.entry.key, title: 'Untitled' })
    Object.assign(current.entry, { title: 'Untitled', untitled: true, preview: null })
    showTitle(current.bridge, current.editor)
    sidebar.refresh()
  }
}

async function openRemote (d: RemoteDoc) {
  const entry = await call<DocEntry>('add_remote', { id: d.id, title: d.title })
  if (!entry) return
  await sidebar.refresh()
  await openDoc(entry)
}

/** Asks for the selected image's description: read out to people who
 * cannot see it, and shown where it cannot load. */
async function describeImage () {
  const editor = current?.editor
  if (!editor) return
  if (!editor.isActive('image')) { say('Select an image first (click it), then describe it.'); return }
  const alt = await ask('Describe the image for people who cannot see it', (editor.getAttributes('image').alt as string | null) ?? '')
  if (alt !== null) editor.chain().focus().updateAttributes('image', { alt: alt.trim() }).run()
}

// ---- wiring ----
sidebar.wire({
  currentKey: () => current?.entry.key,
  currentEntry: () => current?.entry,
  open: openDoc,
  openRemote,
  renamed: (d, title) => { if (current?.entry.key === d.key) current.bridge.doc.getMap('meta').set('title', title) },
  removing: async d => { if (current?.entry.key === d.key) { await closeCurrent(); history.documentChanged() } }
})
settings.wire(s => current?.editor.commands.updateUser({ name: s.name, color: s.color }))
wireShareCopy()
history.wire(() => current?.entry)
wireShare(() => current?.entry)
comments.wire()
document.addEventListener('weft-comment', comments.startThread)
document.addEventListener('weft-describe-image', describeImage)
const find = wireFind(() => current?.editor)
$('new-doc').addEventListener('click', newDoc)
$('start-new').addEventListener('click', newDoc)
$('open-link').addEventListener('click', () => openLink())
$('start-open').addEventListener('click', () => openLink())
$('doc-title').addEventListener('change', renameCurrent)
$('share').addEventListener('click', () => { if (current) openShare(current.entry) })
$('export-md').addEventListener('click', () => exportAs('md'))
$('export-html').addEventListener('click', () => exportAs('html'))
$('import').addEventListener('click', importMarkdown)
document.addEventListener('weft-shortcuts', openShortcuts)
document.addEventListener('keydown', e => {
  if (!(e.ctrlKey || e.metaKey)) return
  const key = e.key.toLowerCase()
  if (e.altKey && key === 'h') { e.preventDefault(); history.toggle(); return }
  if (e.altKey && key === 'm') { e.preventDefault(); comments.startThread(); return }
  const action = key === '/' ? openShortcuts : key === 'f' ? find.open : key === 'n' ? newDoc : null
  if (action) { e.preventDefault(); action() }
})
window.addEventListener('beforeunload', () => { closeCurrent() })
// Teammates add and rename documents: the server list follows by itself.
setInterval(() => { if (!document.hidden) sidebar.refreshServerList() }, 10000)

// A handle for end-to-end tests and debugging from the inspector.
;(window as unknown as { __weft: unknown }).__weft = { get editor () { return current?.editor }, get bridge () { return current?.bridge } }

platform.onOpenLink(link => { openLink(link) })

async function start () {
  await platform.setup()
  await settings.load()
  // The link first: its token may be what lets the sidebar list the server.
  const link = await call<string | null>('launch_link')
  if (link) { await openLink(link); if (current) return }
  await sidebar.refresh()
  const docs = await call<DocEntry[]>('list_docs', { search: null }) ?? []
  if (docs[0]) await openDoc(docs[0])
}
start()
