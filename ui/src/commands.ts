// Calling the app's commands from the shell: a failure is told to the
// person in the status bar, in their words, and the caller gets `undefined`.
import { platform } from './platform'
import { asError } from './types'
import { forPerson } from './messages'
import { say } from './statusbar'

export type { DocEntry, RemoteDoc, Settings, ShareLinks, SharedLink } from './types'


export async function call<T> (cmd: string, args?: Record<string, unknown>): Promise<T | undefined> {
  try {
    return await platform.invoke<T>(cmd, args)
  } catch (e) {
    say(forPerson(asError(e)), true)
    return undefined
  }
}
