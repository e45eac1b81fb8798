// Stock yjs clients over y-websocket, driven by weft-torture: one JSON
// command per line on stdin, one JSON answer per line on stdout.
//   {"op":"open","id":1,"url":"ws://host:port","room":"doc"}
//   {"op":"edit","id":1,"edit":{...}}     (see torture/src/converge.rs)
//   {"op":"state","id":1}  → {"state": base64 of the whole document}
//   {"op":"close","id":1}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const clients = new Map()

// A fraction of a length as an index, as the Rust side computes it.
const at = (f, len) => Math.min(len, Math.floor(f * (len + 1)))

function paragraphs (doc) {
  return doc.getXmlFragment('default').toArray().filter(n => n instanceof Y.XmlElement)
}

function apply (doc, e) {
  const text = doc.getText('t')
  const frag = doc.getXmlFragment('default')
  doc.transact(() => {
    switch (e.kind) {
      case 'text_insert': text.insert(at(e.at, text.length), e.s); break
      case 'text_delete': {
        const i = at(e.at, text.length)
        text.delete(i, Math.min(e.len, text.length - i))
        break
      }
      case 'para_insert': {
        const p = new Y.XmlElement('paragraph')
        p.insert(0, [new Y.XmlText(e.s)])
        frag.insert(at(e.at, frag.length), [p])
        break
      }
      case 'para_delete':
        if (frag.length > 0) frag.delete(Math.min(frag.length - 1, at(e.at, frag.length - 1)), 1)
        break
      case 'para_type':
      case 'para_bold': {
        const ps = paragraphs(doc)
        if (ps.length === 0) break
        const p = ps[Math.min(ps.length - 1, at(e.at, ps.length - 1))]
        const t = p.get(0)
        if (!(t instanceof Y.XmlText)) break
        const i = at(e.pos, t.length)
        if (e.kind === 'para_type') t.insert(i, e.s)
        else t.format(i, Math.min(e.len, t.length - i), { bold: true })
        break
      }
      default: throw new Error('unknown edit ' + e.kind)
    }
  })
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', line => {
  const m = JSON.parse(line)
  let answer = { ok: true }
  try {
    if (m.op === 'open') {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(m.url, m.room, doc, {
        WebSocketPolyfill: WebSocket,
        maxBackoffTime: 200
      })
      clients.set(m.id, { doc, provider })
    } else if (m.op === 'edit') {
      apply(clients.get(m.id).doc, m.edit)
    } else if (m.op === 'state') {
      const c = clients.get(m.id)
      answer.state = Buffer.from(Y.encodeStateAsUpdate(c.doc)).toString('base64')
      answer.synced = c.provider.synced
    } else if (m.op === 'close') {
      const c = clients.get(m.id)
      c.provider.destroy()
      c.doc.destroy()
      clients.delete(m.id)
    }
  } catch (err) {
    answer = { ok: false, error: String(err && err.stack || err) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
})
rl.on('close', () => process.exit(0))
