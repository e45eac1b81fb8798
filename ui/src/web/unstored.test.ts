import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Unstored } from './unstored'

class MemoryStorage implements Storage {
  private items = new Map<string, string>()
  get length (): number { return this.items.size }
  clear (): void { this.items.clear() }
  getItem (k: string): string | null { return this.items.get(k) ?? null }
  key (i: number): string | null { return [...this.items.keys()][i] ?? null }
  removeItem (k: string): void { this.items.delete(k) }
  setItem (k: string, v: string): void { this.items.set(k, v) }
}

/** A document whose edits are recorded as the session records them. */
function editing (unstored: Unstored): { doc: Y.Doc, updates: Uint8Array[], marks: number[] } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  const marks: number[] = []
  doc.on('update', (u: Uint8Array) => { updates.push(u); marks.push(unstored.add(u)) })
  return { doc, updates, marks }
}

describe('Unstored', () => {
  it('keeps what IndexedDB has not confirmed, and the next page gets it back', () => {
    const storage = new MemoryStorage()
    const page = new Unstored('k', storage)
    const { doc, updates, marks } = editing(page)
    doc.getText('t').insert(0, 'stored, ')
    page.stored(marks[0])
    doc.getText('t').insert(8, 'typed just before ')
    doc.getText('t').insert(26, 'the reload')
    expect(page.count).toBe(2)
    page.keep()

    // The next page opens what IndexedDB held (the first edit) and adds what was kept.
    const next = new Unstored('k', storage)
    const { doc: reopened, marks: nextMarks } = editing(next)
    Y.applyUpdate(reopened, updates[0], 'indexeddb')
    nextMarks.length = 0
    Y.applyUpdate(reopened, next.kept()!)
    expect(reopened.getText('t').toString()).toBe('stored, typed just before the reload')
    // Kept until the next page's IndexedDB has it.
    next.forget()
    expect(storage.getItem('k')).not.toBeNull()
    next.stored(nextMarks[nextMarks.length - 1])
    expect(storage.getItem('k')).toBeNull()
  })

  it('marks confirm only what came before them, in any order', () => {
    const storage = new MemoryStorage()
    const page = new Unstored('k', storage)
    const { doc, marks } = editing(page)
    for (const c of 'abcd') doc.getText('t').insert(0, c)
    page.stored(marks[1])
    expect(page.count).toBe(2)
    page.stored(marks[0]) // a late confirmation of less changes nothing
    expect(page.count).toBe(2)
    page.keep()
    expect(storage.getItem('k')).not.toBeNull()
    page.stored(marks[3])
    expect(page.count).toBe(0)
    // Everything confirmed: nothing is left for the next page.
    expect(storage.getItem('k')).toBeNull()
    page.keep()
    expect(storage.getItem('k')).toBeNull()
  })

  it('a kept copy the document already holds (IndexedDB did commit) is dropped', () => {
    const storage = new MemoryStorage()
    const first = new Unstored('k', storage)
    const { doc, updates } = editing(first)
    doc.getText('t').insert(0, 'x')
    first.keep()
    const second = new Unstored('k', storage)
    const reopened = new Y.Doc()
    Y.applyUpdate(reopened, updates[0])
    reopened.on('update', (u: Uint8Array) => second.add(u))
    Y.applyUpdate(reopened, second.kept()!)
    expect(second.count).toBe(0)
    second.forget()
    expect(storage.getItem('k')).toBeNull()
  })
})
