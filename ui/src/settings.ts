// The user's settings: the theme, and the settings dialog.
import { call, type Settings } from './commands'
import { $ } from './dom'
import { say } from './statusbar'

const DEFAULTS: Settings = { serverUrl: 'ws://127.0.0.1:4455', name: 'Anonymous', color: '#2563eb', tokens: {}, theme: 'system' }

let settings: Settings = DEFAULTS

/** The settings in force. */
export function current (): Settings { return settings }

/** Loads the settings and applies the theme. */
export async function load (): Promise<Settings> {
  settings = await call<Settings>('get_settings') ?? DEFAULTS
  applyTheme()
  return settings
}

function applyTheme (): void {
  const dark = settings.theme === 'dark' || (settings.theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches)
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
}

async function save (next: Settings): Promise<boolean> {
  const saved = await call<Settings>('set_settings', { settings: next })
  if (!saved) return false
  settings = saved
  applyTheme()
  return true
}

/** Tokens are kept per server, under its URL without trailing slashes. */
const serverKey = (url: string) => url.trim().replace(/\/+$/, '')

/** Wires the dialog and the theme toggle; `onSaved` runs after a save from the dialog. */
export function wire (onSaved: (s: Settings) => void): void {
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme())
  const dialog = $<HTMLDialogElement>('settings')
  const form = dialog.querySelector('form')!
  const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement
  $('open-settings').addEventListener('click', () => {
    for (const [k, v] of Object.entries(settings)) {
      const el = form.elements.namedItem(k) as HTMLInputElement | null
      if (el && typeof v === 'string') el.value = v
    }
    const server = field('serverUrl')
    field('token').value = settings.tokens[serverKey(server.value)] ?? ''
    // Tokens are per server: show the one for whatever server is typed.
    server.oninput = () => { field('token').value = settings.tokens[serverKey(server.value)] ?? '' }
    dialog.showModal()
  })
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'save') return
    const next: Settings = { ...settings, tokens: { ...settings.tokens } }
    for (const k of ['serverUrl', 'name', 'color', 'theme'] as const) next[k] = field(k).value
    const token = field('token').value.trim()
    if (token) next.tokens[serverKey(next.serverUrl)] = token
    else delete next.tokens[serverKey(next.serverUrl)]
    if (await save(next)) { onSaved(settings); say('Settings saved') }
  })
  $('theme-toggle').addEventListener('click', async () => {
    const dark = document.documentElement.dataset.theme === 'dark'
    await save({ ...settings, theme: dark ? 'light' : 'dark' })
  })
}
