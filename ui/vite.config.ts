import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

// One source tree, two targets (src/platform.ts):
// - desktop (default): Tauri serves ui/dist; the dev server is only for `tauri dev`.
// - web (`--mode web`): weft-server embeds ui/dist-web and serves it at / and /d/<doc>.
export default defineConfig(({ mode }) => {
  const web = mode === 'web'
  const target = fileURLToPath(new URL(web ? './src/web/platform.ts' : './src/desktop/platform.ts', import.meta.url))
  return {
    clearScreen: false,
    resolve: { alias: { '#target': target } },
    server: { port: 5173, strictPort: true },
    // The web build's root files (the service worker) are copied as they are.
    publicDir: web ? 'web-public' : false,
    build: {
      target: web ? 'es2022' : 'safari15',
      outDir: web ? 'dist-web' : 'dist',
      emptyOutDir: true,
      chunkSizeWarningLimit: 2000,
      // No inline script: the web page's CSP allows scripts from files only.
      modulePreload: { polyfill: false }
    },
    test: { environment: 'node' }
  } as any
})
