/**
 * An answer whose body is the result (synthesized speech) is read whole, but under a cap: a
 * larger or endless body is a typed error and is not read further.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "../../../src/http/Http.js"
import { readBytes } from "../../../src/providers/openai-compatible/Bytes.js"
import { loopback } from "../../support/LoopbackServer.js"
import { pump, type Pumped } from "../../http/StreamedBody.js"

describe("readBytes", () => {
  it.scopedLive("reads an answer's bytes and its content type", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "audio/wav" })
        res.end(Buffer.from([1, 2, 3]))
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url, retry: { retries: 0 } })
      const bytes = yield* Effect.flatMap(http.send({ method: "POST", path: "/audio/speech", json: {} }), readBytes("p"))
      expect(bytes).toEqual({ bytes: new Uint8Array([1, 2, 3]), contentType: "audio/wav" })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("an answer past the cap (300 MB, no content-length) is MalformedResponse, read no further", () =>
    Effect.gen(function* () {
      let pumped: Pumped | undefined
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "audio/wav" })
        pumped = pump(res, 300 * 1024 * 1024)
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url, retry: { retries: 0 } })
      const error = yield* Effect.flip(Effect.flatMap(http.send({ method: "POST", path: "/audio/speech", json: {} }), readBytes("p", 1024 * 1024)))
      expect(error).toMatchObject({ _tag: "MalformedResponse", provider: "p" })
      expect(error.message).toMatch(/larger than 1048576 bytes/)
      expect(pumped!.sent()).toBeLessThan(64 * 1024 * 1024)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
