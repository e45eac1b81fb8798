// Server RSS per idle connection with N Node `ws` clients, offering
// permessage-deflate or not: `node bench/idle-deflate.mjs on|off [N]` (needs
// `cargo build --release -p weft-server` and `npm ci --prefix tests/interop`).
import WebSocket from '../tests/interop/node_modules/ws/wrapper.mjs'
import { spawn } from 'node:child_process'
import { readFileSync, mkdtempSync } from 'node:fs'
import { createInterface } from 'node:readline'
const [deflate, n] = [process.argv[2] === 'on', Number(process.argv[3] || 2000)]
const dir = mkdtempSync('/tmp/idle-')
const child = spawn(new URL('../target/release/weft-server', import.meta.url).pathname, ['--listen', '127.0.0.1:0', '--data-dir', dir, '--max-connections', '100000', '--rate-connects', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise(r => createInterface({ input: child.stdout }).on('line', l => { const m = l.match(/ws:\/\/\S+/); if (m) r(m[0]) }))
const rss = () => Number(readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1])
const open = i => new Promise((res, rej) => { const w = new WebSocket(`${url}/idle-${Math.floor(i / 10)}`, { perMessageDeflate: deflate }); w.on('open', () => res(w)); w.on('error', rej) })
const socks = []
for (let i = 0; i < 100; i++) socks.push(await open(i))
await new Promise(r => setTimeout(r, 1000))
const base = rss()
for (let i = 100; i < n; i += 50) socks.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => open(i + k))))
await new Promise(r => setTimeout(r, 2000))
const after = rss()
console.log(JSON.stringify({ deflate, extensions: socks[0].extensions, connections: socks.length, perConnKiB: ((after - base) / (socks.length - 100)).toFixed(2), rssKiB: after }))
for (const s of socks) s.terminate()
child.kill()
process.exit(0)
