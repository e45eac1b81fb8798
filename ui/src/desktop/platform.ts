// The desktop app: commands and documents go over Tauri IPC to the Rust
// engine, which keeps the local copy and talks to the server.
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { Platform } from '../platform'
import type { KeptOutcome, StoredBlob } from '../types'
import { DocBridge } from './bridge'
import { tauriTransport } from './tauri'

export const platform: Platform = {
  here: 'this computer',
  exportsToPath: true,
  invoke: (cmd, args) => invoke(cmd, args),
  session: entry => new DocBridge(entry.key, tauriTransport),
  onOpenLink (cb) {
    // A weft:// link opened while the app runs (handed over by a second launch).
    listen<string>('open-link', e => cb(e.payload)).catch(() => {})
  },
  async setup () {},
  async uploadBlob (key, file) {
    const bytes = new Uint8Array(await file.arrayBuffer())
    return await invoke<StoredBlob>('upload_blob', bytes, { headers: { 'weft-doc': key } })
  },
  blobState: async (key, src) => await invoke('blob_state', { key, src }),
  onBlobStored (cb) {
    const unlisten = listen<KeptOutcome>('blob-stored', e => cb(e.payload))
    return () => { unlisten.then(f => f()).catch(() => {}) }
  },
  blobSrc (key, src) {
    // Served by the app itself (src-tauri's weft-blob protocol), which
    // fetches it with the document's token.
    if (!src.startsWith('/api/v1/docs/')) return src
    return `weft-blob://localhost/${encodeURIComponent(key)}${src}`
  }
}
