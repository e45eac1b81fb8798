// A stock y-websocket client with no options at all: `node stock-client.mjs URL DOC`.
// Adds a line, waits until it sees "from parent." and its own edit, prints the text.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [url, doc] = process.argv.slice(2)
const ydoc = new Y.Doc()
const provider = new WebsocketProvider(url, doc, ydoc)
const text = ydoc.getText('t')
const timer = setTimeout(() => { console.error('stock client timed out:', text.toString()); process.exit(1) }, 10000)
provider.on('sync', synced => {
  if (!synced) return
  text.insert(text.length, 'from child.')
})
ydoc.on('update', () => {
  const s = text.toString()
  if (s.includes('from parent.') && s.includes('from child.')) {
    // Leave time for the update to reach the server before exiting.
    setTimeout(() => {
      clearTimeout(timer)
      console.log(s)
      provider.destroy()
      process.exit(0)
    }, 300)
  }
})
