// A stock y-websocket client, run in its own process so NODE_EXTRA_CA_CERTS
// applies: syncs the doc named in argv and prints its XML fragment.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [url, doc] = process.argv.slice(2)
const ydoc = new Y.Doc()
const provider = new WebsocketProvider(url, doc, ydoc, { disableBc: true })
const timer = setTimeout(() => { console.error('not synced in 10 s'); process.exit(1) }, 10000)
provider.on('sync', synced => {
  if (!synced) return
  clearTimeout(timer)
  console.log(ydoc.getXmlFragment('default').toString())
  provider.destroy()
  process.exit(0)
})
