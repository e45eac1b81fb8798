import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as model from './model'

const alice: model.Author = { name: 'Alice', color: '#0a7', sub: 'alice' }
const bob: model.Author = { name: 'Bob', color: '#a07', sub: 'bob' }

/** A doc whose body is one paragraph holding `text`. */
function docWith (text: string): { doc: Y.Doc, text: Y.XmlText } {
  const doc = new Y.Doc()
  const p = new Y.XmlElement('paragraph')
  const t = new Y.XmlText()
  p.insert(0, [t])
  doc.getXmlFragment('default').insert(0, [p])
  t.insert(0, text)
  return { doc, text: t }
}

function bodyText (doc: Y.Doc): Y.XmlText {
  return (doc.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText
}

function plain (t: Y.XmlText): string {
  return t.toDelta().map((d: { insert: unknown }) => typeof d.insert === 'string' ? d.insert : '').join('')
}

/** The text between a thread's ends now, or null when detached. */
function anchored (doc: Y.Doc, id: string): string | null {
  const t = model.threads(doc).find(x => x.id === id)!
  const a = model.anchorOf(doc, t)
  return a ? plain(a.from.text).slice(a.from.index, a.to.index) : null
}

function sync (a: Y.Doc, b: Y.Doc) {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

/** A small seeded generator (mulberry32), so a failing seed replays. */
function rng (seed: number): () => number {
  return () => {
    seed |= 0; seed = seed + 0x6D2B79F5 | 0
    let t = Math.imul(seed ^ seed >>> 15, 1 | seed)
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t
    return ((t ^ t >>> 14) >>> 0) / 4294967296
  }
}

describe('comment threads in the document', () => {
  it('reads back what it writes, with replies, resolve and edits', () => {
    const { doc, text } = docWith('Hello brave new world')
    const id = model.create(doc, { text, index: 6 }, { text, index: 11 }, 'brave', 'Why brave?', alice, 1)
    model.reply(doc, id, 'Because.', bob, 2)
    let [t] = model.threads(doc)
    expect(t.owner).toBe('alice')
    expect(t.messages.map(m => [m.author, m.text, m.owner])).toEqual([['Alice', 'Why brave?', 'alice'], ['Bob', 'Because.', 'bob']])
    expect(anchored(doc, id)).toBe('brave')
    model.setResolved(doc, id, true, bob, 3)
    expect(model.threads(doc)[0]).toMatchObject({ resolved: true, resolvedBy: 'Bob' })
    model.setResolved(doc, id, false, alice, 4)
    expect(model.threads(doc)[0].resolved).toBe(false)
    model.editMessage(doc, id, t.messages[1].id, 'Because it is.', 5)
    ;[t] = model.threads(doc)
    expect(t.messages[1]).toMatchObject({ text: 'Because it is.', edited: 5 })
    expect(model.mine(t.messages[1], bob)).toBe(true)
    expect(model.mine(t.messages[0], bob)).toBe(false)
    doc.destroy()
  })

  it('detaches a thread whose text is deleted, and keeps it', () => {
    const { doc, text } = docWith('Hello brave new world')
    const id = model.create(doc, { text, index: 6 }, { text, index: 11 }, 'brave', 'hm', alice)
    text.delete(5, 6)
    expect(plain(text)).toBe('Hello new world')
    expect(anchored(doc, id)).toBeNull()
    expect(model.threads(doc)).toHaveLength(1)
    doc.destroy()
  })

  it('deleting the last message removes the thread', () => {
    const { doc, text } = docWith('abc')
    const id = model.create(doc, { text, index: 0 }, { text, index: 2 }, 'ab', 'x', alice)
    model.deleteMessage(doc, id, model.threads(doc)[0].messages[0].id)
    expect(model.threads(doc)).toHaveLength(0)
    doc.destroy()
  })

  // Original text is upper case, typing lower case: whatever two people
  // type concurrently before, inside and after the range, the anchor spans
  // exactly from the first to the last of its original letters.
  for (let seed = 1; seed <= 8; seed++) {
    it(`anchors follow their text through concurrent edits (seed ${seed})`, () => {
      const random = rng(seed)
      const { doc: a, text } = docWith('AAAAA BBBBBBB CCCCC')
      const id = model.create(a, { text, index: 6 }, { text, index: 13 }, 'BBBBBBB', 'note', alice)
      const b = new Y.Doc()
      sync(a, b)
      for (let round = 0; round < 30; round++) {
        for (const doc of [a, b]) {
          const t = bodyText(doc)
          const at = Math.floor(random() * (t.length + 1))
          const typed = String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 3))
          t.insert(at, typed)
        }
        if (random() < 0.5) sync(a, b)
      }
      sync(a, b)
      const final = plain(bodyText(a))
      expect(plain(bodyText(b))).toBe(final)
      const want = final.slice(final.indexOf('B'), final.lastIndexOf('B') + 1)
      expect(anchored(a, id)).toBe(want)
      expect(anchored(b, id)).toBe(want)
      expect(want.replace(/[a-z]/g, '')).toBe('BBBBBBB')
      a.destroy()
      b.destroy()
    })
  }
})
