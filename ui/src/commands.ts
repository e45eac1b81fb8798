// Calling the app's commands from the shell: a failure is told to the
// person in the status bar, in their words, and the caller gets `undefined`.
import { asError } from './bridge'
import { forPerson } from './messages'
import { say } from './statusbar'
import { invoke } from './tauri'

export interface DocEntry { key: string, url: string, title: string, untitled: boolean, preview: string | null, lastOpened: number, unsaved: number, viewOnly: boolean }
export interface Settings { serverUrl: string, name: string, color: string, tokens: Record<string, string>, theme: string }
export interface ShareLinks { edit: string | null, view: string | null, note: string }
export interface RemoteDoc { id: string, title: string | null, created_at: number, updated_at: number, size: number }
export interface SharedLink { link: string, access: string, exp: number | null }

export async function call<T> (cmd: string, args?: Record<string, unknown>): Promise<T | undefined> {
  try {
    return await invoke<T>(cmd, args)
  } catch (e) {
    say(forPerson(asError(e)), true)
    return undefined
  }
}
