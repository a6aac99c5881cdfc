/**
 * A real node:http server on 127.0.0.1 with a free port, for wire-level tests (resets, slow
 * answers, malformed bodies). Scoped: closed (connections included) when the scope closes.
 */
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A running loopback server. */
export interface Loopback {
  readonly url: string
  /** Requests seen: method, path, headers. */
  readonly seen: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; body: string }>
}

/** Start a server with `handler` (after the body is read); closed with the scope. */
export const loopback = (
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string, index: number) => void
) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; info: Loopback }>((resume) => {
      const seen: Loopback["seen"] = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body })
          handler(req, res, body, seen.length - 1)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ server, info: { url: `http://127.0.0.1:${port}`, seen } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** Reply with JSON. */
export const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}
