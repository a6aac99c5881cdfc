/**
 * The lean client: the whole of Http.test.ts runs again with `UndiciClient.layer` wherever it
 * used the platform's undici client (so every loopback behaviour — auth only to the base origin,
 * malformed bodies, resets, retries, timeouts, not-to-repeat — is proved on the lean path too),
 * plus what only the lean path decides: which requests take it, and that a wrapped client does not.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Http from "../../src/http/Http.js"
import * as KeyRing from "../../src/http/KeyRing.js"
import * as UndiciClient from "../../src/http/UndiciHttpClient.js"
import { json, loopback } from "../support/LoopbackServer.js"

// The lean layer is read when a test runs (UndiciClient itself imports this module, so the
// mock cannot import it).
const swap = vi.hoisted(() => ({ layer: undefined as unknown }))
vi.mock("@effect/platform-node/NodeHttpClient", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node/NodeHttpClient")>()
  return {
    ...original,
    get layerUndici() {
      return swap.layer ?? original.layerUndici
    }
  }
})
swap.layer = UndiciClient.layer

await import("./Http.test.js")

const Answer = Schema.Struct({ id: Schema.String })

describe("UndiciClient lean path", () => {
  it("is found on the client it made, not on a wrapped one", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      expect(UndiciClient.fastPathOf(client)).toBeDefined()
      expect(UndiciClient.fastPathOf(HttpClient.filterStatusOk(client))).toBeUndefined()
    }).pipe(Effect.provide(UndiciClient.layer), Effect.scoped, Effect.runPromise))

  it.scopedLive("sends config headers, request headers, the key and a JSON body with its length under a base path", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      const keys = yield* KeyRing.make("p", [Redacted.make("sk-test-1")], { setting: "P_KEY" })
      const http = yield* Http.make({ provider: "p", baseUrl: `${server.url}/v1/`, keys, headers: { "X-Team": "a" } })
      const answer = yield* http.json({ method: "POST", path: "chat/completions", headers: { "X-Trace": "t" }, json: { é: 1 }, schema: Answer })
      expect(answer).toEqual({ id: "abc" })
      expect(server.seen[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", body: '{"é":1}' })
      expect(server.seen[0]!.headers).toMatchObject({
        authorization: "Bearer sk-test-1",
        "x-team": "a",
        "x-trace": "t",
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength('{"é":1}'))
      })
    }).pipe(Effect.provide(UndiciClient.layer)))

  it.scopedLive("queries and unusual paths take the general path and arrive the same", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      const http = yield* Http.make({ provider: "p", baseUrl: server.url })
      yield* http.json({ path: "/models", query: { type: "chat" }, schema: Answer })
      yield* http.json({ path: "/a b/../c", schema: Answer })
      expect(server.seen.map((r) => r.path)).toEqual(["/models?type=chat", "/c"])
    }).pipe(Effect.provide(UndiciClient.layer)))

  it.scopedLive("a 4xx answer is mapped with its body and headers", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => {
        res.writeHead(429, { "content-type": "application/json", "retry-after": "0" })
        res.end(JSON.stringify({ error: { message: "slow down" } }))
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url, retry: { retries: 0 } })
      const error = yield* Effect.flip(http.json({ path: "/x", schema: Answer }))
      expect(error).toMatchObject({ _tag: "RateLimited", message: "p: HTTP 429: slow down" })
    }).pipe(Effect.provide(UndiciClient.layer)))
})
