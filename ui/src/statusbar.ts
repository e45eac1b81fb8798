// The status bar: connection state, what is saved where, and one message.
import type { Status } from './types'
import { $ } from './dom'
import { platform } from './platform'

/**
 * Shows a message. `kind` 'connection': it describes the connection, and
 * goes once it is back.
 */
export function say (text: string, isError = false, kind = ''): void {
  const m = $('message')
  m.textContent = text
  m.title = text
  m.classList.toggle('error', isError)
  m.dataset.kind = kind
}

/** The connection problem last said, until the connection is back. */
let connectionSaid = ''

/** Says a connection problem once: each retry that fails the same way
 * would otherwise replace whatever was said since (the status dot shows
 * that it lasts). */
export function sayConnection (text: string): void {
  if (text === connectionSaid) return
  connectionSaid = text
  say(text, true, 'connection')
}

/** Shows a message with an Undo button; the message goes after `ms`. */
export function sayWithUndo (text: string, undo: () => void, ms = 10000): void {
  say(text)
  const button = Object.assign(document.createElement('button'), { className: 'undo', textContent: 'Undo', type: 'button' })
  button.addEventListener('click', () => { say(''); undo() })
  $('message').append(button)
  setTimeout(() => { if (button.isConnected) say('') }, ms)
}

const LABELS: Record<string, string> = { offline: 'Offline', connecting: 'Connecting…', syncing: 'Syncing…', synced: 'Connected' }

/** Shows whatever part of a status arrived (the connection, the counts, or both). */
export function showStatus (s: Status): void {
  if (s.status) {
    $('status').textContent = LABELS[s.status] ?? s.status
    $('status-dot').className = s.status
    // A connection problem is over once connected again.
    if (s.status === 'synced') {
      connectionSaid = ''
      if ($('message').dataset.kind === 'connection') say('')
    }
  }
  if (s.pending !== undefined) showCounts(s.pending, s.serverCannotSave === true)
}

function showCounts (pending: number, cannotSave: boolean): void {
  // The server said it cannot write: say so, rather than "not yet".
  const stuck = pending > 0 && cannotSave
  const counts = $('counts')
  counts.textContent = stuck
    ? 'Not saved on server: the server cannot write (disk full?)'
    : pending > 0 ? `${pending} change${pending === 1 ? '' : 's'} not yet saved on server` : 'Saved on server'
  counts.className = stuck ? 'not-saved' : pending > 0 ? 'pending' : 'saved'
  counts.title = stuck ? `Your changes are kept on ${platform.here} and sent again until the server stores them.` : ''
}

/** How many images and files added here wait to be uploaded. */
export function showWaitingFiles (n: number): void {
  const el = $('files-waiting')
  el.hidden = n === 0
  el.textContent = `${n} ${n === 1 ? 'image or file' : 'images or files'} not yet uploaded`
  el.title = `Kept on ${platform.here} and uploaded as soon as the server can be reached.`
}
