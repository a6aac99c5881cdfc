/**
 * A loopback port nothing listens on right now (the kernel's choice, released before it is
 * returned), for servers a test starts on a port of its choosing.
 */
import * as net from "node:net"

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port on 127.0.0.1"))))
    })
  })
