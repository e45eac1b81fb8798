// The browser: documents sync straight to the server that served the page
// (session.ts), the app's commands run against its API and localStorage
// (commands.ts), and a service worker keeps the page itself available
// offline (web-public/sw.js).
import type { Platform } from '../platform'
import type { KeptOutcome, Settings, StoredBlob } from '../types'
import { request } from './api'
import { commands, defaultSettings, session, tokenFor } from './commands'
import { hashIn } from '../attachments'
import * as kept from './kept'
import * as local from './local'

const stored: Array<(e: KeptOutcome) => void> = []
const postBlob = (key: string, body: Blob) => request('POST', `/docs/${encodeURIComponent(key)}/blobs`, tokenFor(key), body, 'application/octet-stream')
let uploading = false

/** Uploads what was kept while the server could not be reached. */
async function uploadKept (): Promise<void> {
  if (uploading) return
  uploading = true
  try {
    const done = await kept.uploadWaiting(k => postBlob(k.key, k.bytes))
    for (const e of done) for (const cb of stored) cb(e)
  } catch (e) {
    console.warn('kept images and files: cannot read them back', e)
  } finally {
    uploading = false
  }
}

export const platform: Platform = {
  here: 'this browser',
  exportsToPath: false,
  async invoke<T> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const run = commands[cmd]
    if (!run) throw { code: 'unsupported', message: `“${cmd}” is not available in the browser` }
    return await run(args) as T
  },
  session,
  onOpenLink () {},
  async uploadBlob (key, file) {
    try {
      return await (await postBlob(key, file)).json() as StoredBlob
    } catch (e) {
      // Kept here and uploaded later, as an edit made offline is.
      if (kept.isTemporary(e)) return await kept.keep(key, file)
      throw e
    }
  },
  async blobState (key, src) {
    const hash = hashIn(src)
    if ((await kept.waiting().catch(() => [])).some(k => k.key === key && k.hash === hash)) return 'waiting'
    try {
      const token = tokenFor(key)
      const res = await fetch(src, { method: 'HEAD', cache: 'no-store', headers: token ? { Authorization: `Bearer ${token}` } : {} })
      return res.ok ? 'stored' : 'missing'
    } catch {
      return 'missing'
    }
  },
  onBlobStored (cb) {
    stored.push(cb)
    return () => { stored.splice(stored.indexOf(cb), 1) }
  },
  blobSrc (key, src) {
    const hash = hashIn(src)
    const here = hash ? kept.localUrl(hash) : undefined
    if (here) return here
    const token = tokenFor(key)
    if (!src.startsWith('/api/v1/docs/') || !token) return src
    return `${src}${src.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`
  },
  async setup () {
    document.documentElement.dataset.target = 'web'
    for (const el of document.querySelectorAll<HTMLElement>('[data-app-only]')) el.hidden = true
    // Labels that name where documents are kept besides the server.
    for (const el of document.querySelectorAll<HTMLElement>('[data-here]')) el.textContent = el.dataset.here!
    // Back and forward move between documents: the page opens what the address says.
    addEventListener('popstate', () => location.reload())
    navigator.serviceWorker?.register('/sw.js').catch(e => console.warn('offline page cache unavailable:', e))
    // Images kept while offline show from here, and go up once they can.
    await kept.load()
    setInterval(() => { void uploadKept() }, 3000)
    addEventListener('online', () => { void uploadKept() })
    if (!local.settings()) local.saveSettings(await welcome(defaultSettings()))
  }
}

/** First visit: the name (and colour) others see next to this person's cursor. */
function welcome (s: Settings): Promise<Settings> {
  const dialog = document.getElementById('welcome') as HTMLDialogElement
  const form = dialog.querySelector('form')!
  const name = form.elements.namedItem('name') as HTMLInputElement
  const color = form.elements.namedItem('color') as HTMLInputElement
  color.value = s.color
  dialog.showModal()
  name.focus()
  return new Promise(resolve => {
    dialog.addEventListener('close', () => {
      resolve({ ...s, name: name.value.trim() || 'Anonymous', color: color.value })
    }, { once: true })
  })
}
