// The server's document API (/api/v1, docs/PROTOCOL.md) from the page it
// served: same origin, the document's token (or the one in Settings) as a
// bearer token. Failures are thrown as {code, message}, like the app's.
import type { AppError } from '../types'

export async function request (method: string, path: string, token: string | null, body?: BodyInit, type?: string): Promise<Response> {
  const headers: Record<string, string> = {}
  if (token) headers.Authorization = `Bearer ${token}`
  if (type) headers['Content-Type'] = type
  let res: Response
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body, cache: 'no-store' })
  } catch (e) {
    throw { code: 'unreachable', message: `cannot reach the server: ${String(e)}` } satisfies AppError
  }
  if (res.ok) return res
  throw await refusal(res)
}

export async function json<T> (method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const res = await request(method, path, token, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : 'application/json')
  return await res.json() as T
}

/** The API's `{"error": {"code", "message"}}` as an AppError whose code the UI knows. */
async function refusal (res: Response): Promise<AppError> {
  let message = `the server answered HTTP ${res.status}`
  let code = ''
  try {
    const body = await res.json() as { error?: { code?: string, message?: string } }
    message = body.error?.message ? `${body.error.message} (HTTP ${res.status})` : message
    code = body.error?.code ?? ''
  } catch {}
  const byStatus: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 410: 'in_trash', 429: 'rate_limited' }
  return { code: byStatus[res.status] ?? (code || 'refused'), message, status: res.status }
}
