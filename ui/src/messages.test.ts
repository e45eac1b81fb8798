import { describe, expect, it } from 'vitest'
import { CONNECTION_CODES, forPerson } from './messages'

describe('forPerson', () => {
  it('says where and what to do, not what the socket said', () => {
    const text = forPerson({ code: 'unreachable', message: 'cannot reach the server: IO error: Connection refused (os error 111)' }, 'ws://127.0.0.1:4455/abc')
    expect(text).toBe('Can\'t reach the server at 127.0.0.1:4455. You can keep editing; changes are saved on this computer and will sync when it\'s back.')
    expect(text).not.toMatch(/os error|IO error/)
  })

  it('explains access problems in words', () => {
    expect(forPerson({ code: 'unauthorized', message: 'HTTP 401' }, 'wss://docs.example.org/x')).toMatch(/^The server at docs.example.org did not accept the access token/)
    expect(forPerson({ code: 'forbidden', message: 'HTTP 403' })).toMatch(/does not open this document on the server/)
  })

  it('falls back to the message for codes it does not know', () => {
    expect(forPerson({ code: 'closed', message: 'the session is closed' })).toBe('the session is closed')
  })

  it('knows which errors end when the connection is back', () => {
    expect(CONNECTION_CODES.has('unreachable')).toBe(true)
    expect(CONNECTION_CODES.has('store')).toBe(false)
  })
})
