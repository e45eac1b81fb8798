import { defineConfig, type Plugin } from 'vite'
import { fileURLToPath } from 'node:url'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

// The web build's assets, compressed once at the highest levels (.br, .gz
// beside each): weft-server sends them as they are instead of compressing
// the bundle on every request (about 350 ms at brotli quality 5).
function precompress (dir: string): Plugin {
  return {
    name: 'weft-precompress',
    apply: 'build',
    closeBundle () {
      const assets = join(dir, 'assets')
      for (const name of readdirSync(assets).filter(n => /\.(js|css)$/.test(n))) {
        const bytes = readFileSync(join(assets, name))
        writeFileSync(join(assets, `${name}.br`), brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }))
        writeFileSync(join(assets, `${name}.gz`), gzipSync(bytes, { level: 9 }))
      }
    }
  }
}

// One source tree, two targets (src/platform.ts):
// - desktop (default): Tauri serves ui/dist; the dev server is only for `tauri dev`.
// - web (`--mode web`): weft-server embeds ui/dist-web and serves it at / and /d/<doc>.
export default defineConfig(({ mode }) => {
  const web = mode === 'web'
  const target = fileURLToPath(new URL(web ? './src/web/platform.ts' : './src/desktop/platform.ts', import.meta.url))
  return {
    clearScreen: false,
    resolve: { alias: { '#target': target } },
    plugins: web ? [precompress(fileURLToPath(new URL('./dist-web', import.meta.url)))] : [],
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
