// The app shell: documents sidebar, editor, status bar, settings.
import './styles.css'
import type { Editor } from '@tiptap/core'
import { DocBridge, asError, type Status } from './bridge'
import { CONNECTION_CODES, forPerson } from './messages'
import { createEditor, findNext, groups, renderToolbar } from './editor'
import { invoke, tauriTransport } from './tauri'
import { listen } from '@tauri-apps/api/event'

interface DocEntry { key: string, url: string, title: string, lastOpened: number, unsaved: number, viewOnly: boolean }
interface Settings { serverUrl: string, name: string, color: string, tokens: Record<string, string>, theme: string }
interface ShareLinks { edit: string | null, view: string | null, note: string }

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
let settings: Settings
let current: { entry: DocEntry, bridge: DocBridge, editor: Editor, untoolbar: () => void } | null = null

// `kind` 'connection': the message describes the connection, and goes
// once it is back.
function say (text: string, isError = false, kind = '') {
  const m = $('message')
  m.textContent = text
  m.title = text
  m.classList.toggle('error', isError)
  m.dataset.kind = kind
}

async function call<T> (cmd: string, args?: Record<string, unknown>): Promise<T | undefined> {
  try {
    return await invoke<T>(cmd, args)
  } catch (e) {
    say(forPerson(asError(e)), true)
    return undefined
  }
}

// ---- theme ----
function applyTheme () {
  const dark = settings.theme === 'dark' || (settings.theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches)
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
}
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme())

// ---- sidebar ----
async function refreshList () {
  const search = $<HTMLInputElement>('search').value.trim()
  const docs = await call<DocEntry[]>('list_docs', { search: search || null }) ?? []
  const list = $('doc-list')
  list.replaceChildren()
  for (const d of docs) {
    const li = document.createElement('li')
    li.className = current?.entry.key === d.key ? 'current' : ''
    li.dataset.key = d.key
    const name = Object.assign(document.createElement('span'), { className: 'title', textContent: d.title, title: d.url })
    name.addEventListener('click', () => openDoc(d))
    const rename = Object.assign(document.createElement('button'), { textContent: '✎', title: 'Rename' })
    rename.addEventListener('click', async () => {
      const title = await ask('Rename document', d.title)
      if (title) { await call('rename_doc', { key: d.key, title }); if (current?.entry.key === d.key) $<HTMLInputElement>('doc-title').value = title; refreshList() }
    })
    const del = Object.assign(document.createElement('button'), { textContent: '🗑', title: 'Remove from this computer (the server keeps it)' })
    del.addEventListener('click', async () => {
      if (!confirm(`Remove “${d.title}” from this computer? The server keeps its copy.`)) return
      if (current?.entry.key === d.key) await closeCurrent()
      await call('delete_doc', { key: d.key })
      refreshList()
    })
    li.append(name, rename, del)
    list.append(li)
  }
}

const promptDialog = $<HTMLDialogElement>('prompt')
function ask (title: string, value = '', multiline = false): Promise<string | null> {
  $('prompt-title').textContent = title
  const input = $<HTMLInputElement>('prompt-input')
  const area = $<HTMLTextAreaElement>('prompt-area')
  input.hidden = multiline
  area.hidden = !multiline
  input.value = value
  area.value = value
  promptDialog.showModal()
  ;(multiline ? area : input).focus()
  return new Promise(resolve => {
    promptDialog.addEventListener('close', () => {
      resolve(promptDialog.returnValue === 'ok' ? (multiline ? area.value : input.value.trim()) : null)
    }, { once: true })
  })
}

// ---- documents ----
async function closeCurrent () {
  if (!current) return
  const c = current
  current = null
  c.untoolbar()
  c.editor.destroy()
  await c.bridge.close()
}

function showStatus (s: Status) {
  if (s.status) {
    const labels: Record<string, string> = { offline: 'Offline', connecting: 'Connecting…', syncing: 'Syncing…', synced: 'Connected' }
    $('status').textContent = labels[s.status] ?? s.status
    $('status-dot').className = s.status
    // A connection problem is over once connected again.
    if (s.status === 'synced' && $('message').dataset.kind === 'connection') say('')
  }
  if (s.pending !== undefined) {
    const pending = s.pending > 0
    // The server said it cannot write: say so, rather than "not yet".
    const stuck = pending && s.serverCannotSave === true
    $('counts').textContent = stuck
      ? 'Not saved on server: the server cannot write (disk full?)'
      : pending ? `${s.pending} change${s.pending === 1 ? '' : 's'} not yet saved on server` : 'Saved on server'
    $('counts').className = stuck ? 'not-saved' : pending ? 'pending' : 'saved'
    $('counts').title = stuck ? 'Your changes are kept on this computer and sent again until the server stores them.' : ''
  }
}

function renderAvatars (bridge: DocBridge) {
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

// A view-only document: the editor refuses input and the header says so.
function setViewOnly (on: boolean) {
  current?.editor.setEditable(!on)
  $('view-only').hidden = !on
  $('main').classList.toggle('read-only', on)
}

async function openDoc (entry: DocEntry) {
  if (current?.entry.key === entry.key) return
  await closeCurrent()
  const bridge = new DocBridge(entry.key, tauriTransport)
  bridge.onStatus = showStatus
  bridge.onError = e => {
    // The server refused an edit: this link only allows reading.
    if (e.code === 'denied') { setViewOnly(true); say('This link is view-only: your changes are not saved.', true); return }
    say(forPerson(e, entry.url), true, CONNECTION_CODES.has(e.code) ? 'connection' : '')
  }
  try {
    await bridge.open()
  } catch (e) {
    say(forPerson(asError(e), entry.url), true)
    return
  }
  $('empty').hidden = true
  const editor = createEditor($('editor'), bridge, { name: settings.name, color: settings.color })
  const untoolbar = renderToolbar($('toolbar'), editor)
  current = { entry, bridge, editor, untoolbar }
  setViewOnly(entry.viewOnly)
  bridge.awareness.on('change', () => renderAvatars(bridge))
  renderAvatars(bridge)
  $<HTMLInputElement>('doc-title').value = entry.title
  document.title = `${entry.title} — Weft`
  const status = await call<Status>('doc_status', { key: entry.key })
  if (status) showStatus(status)
  say('')
  refreshList()
}

async function newDoc () {
  const entry = await call<DocEntry>('create_doc', { title: 'Untitled' })
  if (entry) { await refreshList(); await openDoc(entry); $<HTMLInputElement>('doc-title').select() }
}

async function openLink (link?: string) {
  const url = link ?? await ask('Paste a document link (weft://, ws:// or wss://)')
  if (!url) return
  const entry = await call<DocEntry>('add_link', { link: url })
  if (!entry) return
  // Same doc, maybe a new token: reopen so the editor matches its access.
  if (current?.entry.key === entry.key) await closeCurrent()
  await refreshList()
  await openDoc(entry)
}

// ---- wiring ----
$('new-doc').addEventListener('click', newDoc)
$('open-link').addEventListener('click', () => openLink())
$('search').addEventListener('input', () => refreshList())
$('doc-title').addEventListener('change', async () => {
  if (!current) return
  const title = $<HTMLInputElement>('doc-title').value.trim() || 'Untitled'
  await call('rename_doc', { key: current.entry.key, title })
  current.entry.title = title
  document.title = `${title} — Weft`
  refreshList()
})
// Share: an edit link and a view-only link minted by the server.
const shareDialog = $<HTMLDialogElement>('share-dialog')
$('share').addEventListener('click', async () => {
  if (!current) return
  $('share-title').textContent = current.entry.title
  $('share-status').textContent = 'Asking the server for a view-only link…'
  $('share-edit-row').hidden = true
  $('share-view-row').hidden = true
  $('share-note').textContent = ''
  shareDialog.showModal()
  try {
    const links = await invoke<ShareLinks>('share_links', { key: current.entry.key })
    $('share-status').textContent = ''
    $<HTMLInputElement>('share-edit').value = links.edit ?? ''
    $<HTMLInputElement>('share-view').value = links.view ?? ''
    $('share-edit-row').hidden = !links.edit
    $('share-view-row').hidden = !links.view
    $('share-note').textContent = links.note
  } catch (e) {
    $('share-status').textContent = `Could not make share links. ${forPerson(asError(e), current?.entry.url)}`
  }
})
for (const button of shareDialog.querySelectorAll<HTMLButtonElement>('[data-copy]')) {
  button.addEventListener('click', async () => {
    const input = $<HTMLInputElement>(button.dataset.copy!)
    input.select()
    await navigator.clipboard?.writeText(input.value).catch(() => {})
    button.textContent = 'Copied'
    setTimeout(() => { button.textContent = 'Copy' }, 1500)
  })
}
for (const format of ['md', 'html']) {
  $(`export-${format}`).addEventListener('click', async () => {
    if (!current) return
    const path = await ask(`Export as ${format === 'md' ? 'Markdown' : 'HTML'} to`, `~/${current.entry.title.replace(/[/\\]/g, '-')}.${format}`)
    if (!path) return
    const ok = await call('export_doc', { key: current.entry.key, format, path }) !== undefined
    if (ok) say(`Exported to ${path}`)
  })
}
$('import').addEventListener('click', () => {
  const input = Object.assign(document.createElement('input'), { type: 'file', accept: '.md,.markdown,text/markdown,text/plain' })
  input.addEventListener('change', async () => {
    const file = input.files?.[0]
    if (!file) return
    const entry = await call<DocEntry>('import_markdown', { title: file.name.replace(/\.(md|markdown)$/i, ''), markdown: await file.text() })
    if (entry) { await refreshList(); await openDoc(entry); say(`Imported ${file.name}`) }
  })
  input.click()
})

// Find in document.
function openFind () {
  if (!current) return
  $('findbar').hidden = false
  $<HTMLInputElement>('find-input').select()
}
function doFind () {
  if (current) $('find-count').textContent = findNext(current.editor, $<HTMLInputElement>('find-input').value)
}
document.addEventListener('weft-find', openFind)
$('find-next').addEventListener('click', doFind)
$('find-input').addEventListener('keydown', e => { if (e.key === 'Enter') { e.preventDefault(); doFind() } if (e.key === 'Escape') $('findbar').hidden = true })
$('find-close').addEventListener('click', () => { $('findbar').hidden = true })
// The keyboard shortcut sheet: every toolbar command with keys, and the app's own.
function openShortcuts () {
  const rows: [string, string][] = [
    ...groups.flat().filter(c => c.keys).map(c => [c.name, c.keys!] as [string, string]),
    ['New document', 'Ctrl+N']
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
document.addEventListener('weft-shortcuts', openShortcuts)
document.addEventListener('keydown', e => {
  if ((e.ctrlKey || e.metaKey) && e.key === '/') { e.preventDefault(); openShortcuts() }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') { e.preventDefault(); openFind() }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'n') { e.preventDefault(); newDoc() }
})

// Settings.
const settingsDialog = $<HTMLDialogElement>('settings')
$('open-settings').addEventListener('click', () => {
  const form = settingsDialog.querySelector('form')!
  for (const [k, v] of Object.entries(settings)) {
    const el = form.elements.namedItem(k) as HTMLInputElement | null
    if (el && typeof v === 'string') el.value = v
  }
  const server = form.elements.namedItem('serverUrl') as HTMLInputElement
  const token = form.elements.namedItem('token') as HTMLInputElement
  const serverKey = () => server.value.trim().replace(/\/+$/, '')
  token.value = settings.tokens[serverKey()] ?? ''
  // Tokens are per server: show the one for whatever server is typed.
  server.oninput = () => { token.value = settings.tokens[serverKey()] ?? '' }
  settingsDialog.showModal()
})
settingsDialog.addEventListener('close', async () => {
  if (settingsDialog.returnValue !== 'save') return
  const form = settingsDialog.querySelector('form')!
  const next: Settings = { ...settings, tokens: { ...settings.tokens } }
  for (const k of ['serverUrl', 'name', 'color', 'theme'] as const) {
    const el = form.elements.namedItem(k) as HTMLInputElement | null
    if (el) next[k] = el.value
  }
  const serverKey = next.serverUrl.trim().replace(/\/+$/, '')
  const token = (form.elements.namedItem('token') as HTMLInputElement).value.trim()
  if (token) next.tokens[serverKey] = token
  else delete next.tokens[serverKey]
  const saved = await call<Settings>('set_settings', { settings: next })
  if (saved) {
    settings = saved
    applyTheme()
    current?.editor.commands.updateUser({ name: settings.name, color: settings.color })
    say('Settings saved')
  }
})
$('theme-toggle').addEventListener('click', async () => {
  const dark = document.documentElement.dataset.theme === 'dark'
  const saved = await call<Settings>('set_settings', { settings: { ...settings, theme: dark ? 'light' : 'dark' } })
  if (saved) { settings = saved; applyTheme() }
})

window.addEventListener('beforeunload', () => { closeCurrent() })

// A handle for end-to-end tests and debugging from the inspector.
;(window as unknown as { __weft: unknown }).__weft = { get editor () { return current?.editor }, get bridge () { return current?.bridge } }

// A weft:// link opened while the app runs (handed over by a second launch).
listen<string>('open-link', e => { openLink(e.payload) }).catch(() => {})

async function start () {
  settings = await call<Settings>('get_settings') ?? { serverUrl: 'ws://127.0.0.1:4455', name: 'Anonymous', color: '#2563eb', tokens: {}, theme: 'system' }
  applyTheme()
  await refreshList()
  const link = await call<string | null>('launch_link')
  if (link) { await openLink(link); return }
  const docs = await call<DocEntry[]>('list_docs', { search: null }) ?? []
  if (docs[0]) await openDoc(docs[0])
}
start()
