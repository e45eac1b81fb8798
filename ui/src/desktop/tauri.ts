// The Transport over Tauri: raw bodies in, a raw Channel out.
import { Channel, invoke } from '@tauri-apps/api/core'
import type { Transport } from './bridge'

export const tauriTransport: Transport = {
  async openDoc (key, onFrame) {
    const events = new Channel<ArrayBuffer>()
    events.onmessage = onFrame
    return await invoke<ArrayBuffer>('open_doc', { key, events })
  },
  async pushUpdate (key, update) {
    await invoke('push_update', update, { headers: { 'weft-doc': key } })
  },
  async pushAwareness (key, update) {
    await invoke('push_awareness', update, { headers: { 'weft-doc': key } })
  },
  async closeDoc (key) {
    await invoke('close_doc', { key })
  }
}

