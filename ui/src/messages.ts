// What a person reads when something goes wrong: the engine's errors come
// as {code, message} (the message is for logs); this turns them into a
// sentence that says what happened and what to do.
import { platform } from './platform'
import type { AppError } from './types'

/** Errors about the connection: they end when the connection is back. */
export const CONNECTION_CODES = new Set(['unreachable', 'timeout', 'rejected', 'unauthorized', 'forbidden'])

function host (url: string | undefined): string {
  if (!url) return 'the server'
  try {
    return new URL(url.replace(/^ws/, 'http')).host
  } catch {
    return 'the server'
  }
}

/** The sentence for `e`, about the document at `url` if known. */
export function forPerson (e: AppError, url?: string): string {
  const at = host(url)
  const kept = `You can keep editing; changes are saved on ${platform.here} and will sync when it's back.`
  switch (e.code) {
    case 'unreachable': return `Can't reach the server at ${at}. ${kept}`
    case 'timeout': return `The server at ${at} is not answering. ${kept}`
    case 'unauthorized': return `The server at ${at} did not accept the access token. Ask for a new link, or set a token in Settings.`
    case 'forbidden': return `Your access token does not open this document on ${at}. Ask for a new link.`
    case 'rejected': return `The server at ${at} refused to open this document. Your changes are kept on ${platform.here}.`
    case 'protocol': return `The server at ${at} sent something Weft does not understand. Is it a Weft or y-websocket server?`
    case 'store':
    case 'library': return `Could not save on ${platform.here}. Check that the disk has free space.`
    case 'needs_token': return 'Documents opened by link are listed above. To see every document on this server, set a server token in Settings.'
    case 'in_trash': return 'This document is in the server\'s trash. Restore it from “On this server” to open it again.'
    case 'bad_url': return 'That link is not a Weft document link. It looks like https://host/d/document, weft://host:port/document or ws://host:port/document.'
    default: return e.message
  }
}
