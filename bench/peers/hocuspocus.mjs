// @hocuspocus/server@4 with its defaults (no persistence extension), on
// 127.0.0.1:PORT, for the comparison benchmark.
import { Server } from '@hocuspocus/server'

const port = Number(process.argv[2] || 1234)
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true })
await server.listen()
