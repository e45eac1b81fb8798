// The web editor's service worker: keeps the page and its assets so a
// document opens, and its offline edits (in IndexedDB) show, when the
// server cannot be reached. Pages come from the network first (a new
// server version is picked up at once), the kept copy only when offline.
// Assets are named by their content, so a kept one is always right.
// The API and the WebSocket are never touched.
const CACHE = 'weft-web'

async function keepShell () {
  const cache = await caches.open(CACHE)
  const res = await fetch('/', { cache: 'no-cache' })
  if (!res.ok) return
  const html = await res.clone().text()
  await cache.put('/', res)
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(m => m[1])
  await cache.addAll(assets)
}

self.addEventListener('install', event => {
  event.waitUntil(keepShell().then(() => self.skipWaiting()))
})

self.addEventListener('activate', event => {
  event.waitUntil(self.clients.claim())
})

self.addEventListener('fetch', event => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== location.origin) return
  if (req.mode === 'navigate' && (url.pathname === '/' || url.pathname.startsWith('/d/'))) {
    event.respondWith(fetch(req).then(res => {
      // Every page is the same shell: keep the newest.
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then(c => c.put('/', copy)) }
      return res
    }).catch(async () => (await caches.match('/')) ?? Response.error()))
    return
  }
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(caches.match(req).then(hit => hit ?? fetch(req).then(res => {
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then(c => c.put(req, copy)) }
      return res
    })))
  }
})
