/**
 * The lean client: the whole of Http.test.ts runs again with `UndiciClient.layer` wherever it
 * used the platform's undici client (so every loopback behaviour — auth only to the base origin,
 * malformed bodies, resets, retries, timeouts, not-to-repeat — is proved on the lean path too),
 * plus what only the lean path decides: which requests take it, that a wrapped client does not,
 * and that its per-attempt timeout follows a TestClock as well as the live clock.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
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
      expect(Option.isSome(yield* UndiciClient.leanPathOf(client))).toBe(true)
      expect(Option.isNone(yield* UndiciClient.leanPathOf(HttpClient.filterStatusOk(client)))).toBe(true)
    }).pipe(Effect.provide(UndiciClient.layer), Effect.scoped, Effect.runPromise))

  it.scopedLive("Http.make sends lean-shaped requests through the LeanPath of the client in context, the others through the client", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      const lean = yield* UndiciClient.LeanPath
      let exchanges = 0
      const counted = UndiciClient.LeanPath.of({
        client: lean.client,
        exchange: (request, done) => {
          exchanges++
          return lean.exchange(request, done)
        }
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url }).pipe(Effect.provideService(UndiciClient.LeanPath, counted))
      yield* http.json({ method: "POST", path: "/x", json: { a: 1 }, schema: Answer })
      expect(exchanges).toBe(1)
      yield* http.json({ path: "/x", query: { a: "1" }, schema: Answer })
      yield* Effect.scoped(http.send({ path: "/x" }))
      expect(exchanges).toBe(1)
      expect(server.seen).toHaveLength(3)
    }).pipe(Effect.provide(UndiciClient.layer)))

  it.scopedLive("a wrapped client is honoured: its wrapper sees every request, lean-shaped ones too", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      let seen = 0
      const counted = HttpClient.tapRequest(yield* HttpClient.HttpClient, () => Effect.sync(() => void seen++))
      const http = yield* Http.make({ provider: "p", baseUrl: server.url }).pipe(Effect.provideService(HttpClient.HttpClient, counted))
      expect(yield* http.json({ method: "POST", path: "/x", json: {}, schema: Answer })).toEqual({ id: "abc" })
      expect(seen).toBe(1)
    }).pipe(Effect.provide(UndiciClient.layer)))

  it("is not found on another client given over the layer's", () =>
    Effect.gen(function* () {
      expect(Option.isNone(yield* UndiciClient.leanPathOf(yield* HttpClient.HttpClient))).toBe(true)
    }).pipe(Effect.provide(Layer.merge(UndiciClient.layer, FetchHttpClient.layer)), Effect.scoped, Effect.runPromise))

  it.live("once its layer is closed, the client and its lean path fail requests instead of opening connections", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(UndiciClient.layer, scope)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(Context.get(context, HttpClient.HttpClient).get("http://127.0.0.1:9/"))
      expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport" })
      const outcome = yield* Effect.async<UndiciClient.LeanOutcome>((resume) => {
        Context.get(context, UndiciClient.LeanPath).exchange(
          { method: "GET", origin: "http://127.0.0.1:9", path: "/", headers: {}, body: undefined },
          (ended) => resume(Effect.succeed(ended))
        )
      })
      expect(outcome._tag).toBe("Failed")
    }))

  it.scoped("the per-attempt timeout follows a TestClock", () =>
    Effect.gen(function* () {
      const server = yield* loopback(() => {
        // never answers
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url, timeout: "30 seconds", retry: { retries: 0 } })
      const fiber = yield* Effect.fork(Effect.either(http.json({ path: "/x", schema: Answer })))
      // Wait (in real time) until the request reached the server, then move the test clock.
      while (server.seen.length === 0) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      yield* TestClock.adjust("29 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "Timeout", provider: "p" })
    }).pipe(Effect.provide(UndiciClient.layer)))

  it.scoped("under a TestClock an answer arrives without moving the clock", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      const http = yield* Http.make({ provider: "p", baseUrl: server.url })
      expect(yield* http.json({ method: "POST", path: "/x", json: {}, schema: Answer })).toEqual({ id: "abc" })
    }).pipe(Effect.provide(UndiciClient.layer)))

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
