import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Http from "../../src/http/Http.js"
import * as KeyRing from "../../src/http/KeyRing.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import { json, loopback } from "../support/LoopbackServer.js"
import { scripted } from "../support/ScriptedHttp.js"
import { pump, type Pumped } from "./StreamedBody.js"

const now = Date.UTC(2026, 10, 29, 12, 0, 0)
const tagOf = (status: number, body = "", headers: Http.Headers = {}) =>
  Http.errorFromStatus({ provider: "p", status, headers, body, now, model: "m" })

describe("status -> error", () => {
  it("maps each status class to its tag", () => {
    expect(tagOf(401)._tag).toBe("InvalidApiKey")
    expect(tagOf(403)._tag).toBe("InvalidApiKey")
    expect(tagOf(402)._tag).toBe("QuotaExceeded")
    expect(tagOf(429, JSON.stringify({ error: { message: "You exceeded your current quota" } }))._tag).toBe("QuotaExceeded")
    expect(tagOf(429, JSON.stringify({ error: "Insufficient credits" }))._tag).toBe("QuotaExceeded")
    expect(tagOf(429, "too many requests")._tag).toBe("RateLimited")
    expect(tagOf(404)).toMatchObject({ _tag: "ModelNotFound", model: "m" })
    expect(tagOf(408)._tag).toBe("Timeout")
    expect(tagOf(400, JSON.stringify({ detail: [{ msg: "prompt is required" }] }))).toMatchObject({
      _tag: "InvalidInput",
      issues: ["prompt is required"]
    })
    expect(tagOf(422)._tag).toBe("InvalidInput")
    expect(tagOf(400, JSON.stringify({ error: { message: "Flagged by content policy" } }))._tag).toBe("ContentRejected")
    expect(tagOf(500)).toMatchObject({ _tag: "ProviderUnavailable", status: 500 })
    expect(tagOf(503)).toMatchObject({ _tag: "ProviderUnavailable", status: 503 })
  })

  it("puts the provider's own words in the message", () => {
    expect(tagOf(400, JSON.stringify({ error: { message: "width must be a multiple of 8" } })).message).toBe(
      "p: HTTP 400: width must be a multiple of 8"
    )
  })
})

describe("Retry-After", () => {
  it("reads seconds, HTTP dates and retry-after-ms", () => {
    expect(Http.parseRetryAfter({ "retry-after": "7" }, now)).toEqual(Duration.seconds(7))
    expect(Http.parseRetryAfter({ "retry-after": "1.5" }, now)).toEqual(Duration.millis(1500))
    expect(Http.parseRetryAfter({ "retry-after": new Date(now + 42_000).toUTCString() }, now)).toEqual(Duration.seconds(42))
    expect(Http.parseRetryAfter({ "retry-after": new Date(now - 5_000).toUTCString() }, now)).toEqual(Duration.zero)
    expect(Http.parseRetryAfter({ "retry-after-ms": "250", "retry-after": "9" }, now)).toEqual(Duration.millis(250))
    expect(Http.parseRetryAfter({ "retry-after": "soon" }, now)).toBeUndefined()
    expect(Http.parseRetryAfter({}, now)).toBeUndefined()
  })

  it("a 429's Retry-After ends up on RateLimited", () => {
    expect(tagOf(429, "", { "retry-after": "7" })).toMatchObject({ _tag: "RateLimited", retryAfter: Duration.seconds(7) })
  })
})

const Answer = Schema.Struct({ id: Schema.String })

describe("over a real loopback server", () => {
  const client = (url: string, extra: Partial<Http.ProviderHttpConfig> = {}) =>
    Http.make({ provider: "p", baseUrl: url, retry: { retries: 2, base: "10 millis", jitter: false }, ...extra })

  it.scopedLive("decodes a good answer and sends the bearer key", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: "abc" }))
      const keys = yield* KeyRing.make("p", [Redacted.make("sk-test-1")], { setting: "P_KEY" })
      const http = yield* client(server.url, { keys })
      expect(yield* http.json({ method: "POST", path: "/v1/things", json: { a: 1 }, schema: Answer })).toEqual({ id: "abc" })
      expect(server.seen[0]).toMatchObject({ method: "POST", path: "/v1/things", body: '{"a":1}' })
      expect(server.seen[0]!.headers.authorization).toBe("Bearer sk-test-1")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("never sends the key to another origin", () =>
    Effect.gen(function* () {
      const api = yield* loopback((_, res) => json(res, 200, { id: "api" }))
      const other = yield* loopback((_, res) => json(res, 200, { id: "elsewhere" }))
      const keys = yield* KeyRing.make("p", [Redacted.make("sk-test-1")], { setting: "P_KEY" })
      const http = yield* client(api.url, { keys })
      yield* http.json({ path: `${other.url}/result.json`, schema: Answer })
      expect(other.seen[0]!.headers.authorization).toBeUndefined()
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a malformed body is MalformedResponse, not retried", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end('{"id": "abc"')
      })
      const http = yield* client(server.url)
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left._tag).toBe("MalformedResponse")
      expect(server.seen).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a body cut off after a 200 is NetworkError (retried), not an empty answer", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
        res.write('{"id": ')
        setTimeout(() => res.socket?.destroy(), 20)
      })
      const http = yield* client(server.url)
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left._tag).toBe("NetworkError")
      expect(server.seen).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a body of the wrong shape is MalformedResponse naming the field", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 200, { id: 42 }))
      const http = yield* client(server.url)
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "MalformedResponse" })
      expect(Either.isLeft(result) && result.left.message).toMatch(/id/)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a reset connection is NetworkError after the retries", () =>
    Effect.gen(function* () {
      const server = yield* loopback((req) => req.socket.destroy())
      const http = yield* client(server.url)
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left._tag).toBe("NetworkError")
      expect(server.seen).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("503 then 200 succeeds on the retry", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res, __, i) => (i === 0 ? json(res, 503, { error: "overloaded" }) : json(res, 200, { id: "ok" })))
      const http = yield* client(server.url)
      expect(yield* http.json({ path: "/x", schema: Answer })).toEqual({ id: "ok" })
      expect(server.seen).toHaveLength(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("slow headers hit the per-attempt timeout as Timeout", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => {
        setTimeout(() => json(res, 200, { id: "late" }), 2_000)
      })
      const http = yield* client(server.url, { timeout: "150 millis", retry: { retries: 1, base: "10 millis", jitter: false } })
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "Timeout" })
      expect(server.seen).toHaveLength(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a refused connection is NetworkError", () =>
    Effect.gen(function* () {
      const http = yield* client("http://127.0.0.1:9", { retry: { retries: 0 } })
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "NetworkError", code: "ECONNREFUSED" })
      expect(Either.isLeft(result) && result.left.message).toMatch(/ECONNREFUSED/)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a request marked not-to-repeat is not sent again after a 503", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => json(res, 503, { error: "busy" }))
      const http = yield* client(server.url)
      const result = yield* Effect.either(http.json({ method: "POST", path: "/jobs", json: {}, schema: Answer, retry: false }))
      expect(Either.isLeft(result) && result.left._tag).toBe("ProviderUnavailable")
      expect(server.seen).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("requests not to repeat (paid submits)", () => {
  // Decided from the error's code, not its text: a refused connection sent nothing, a reset may have.
  it.effect("are sent again after a refused connection, never after a reset", () =>
    Effect.gen(function* () {
      const refusedOnce = scripted((_, index) => (index === 0 ? { transport: "ECONNREFUSED" } : { status: 200, body: { id: "job" } }))
      const submit = (layer: typeof refusedOnce.layer) =>
        Effect.flatMap(Http.make({ provider: "p", baseUrl: "https://api.example.test", retry: { retries: 2, base: "10 millis", jitter: false } }), (http) =>
          Effect.either(http.json({ method: "POST", path: "/jobs", json: {}, schema: Answer, retry: false }))
        ).pipe(Effect.provide(layer))
      const fiber = yield* Effect.fork(submit(refusedOnce.layer))
      yield* TestClock.adjust("1 second")
      const accepted = yield* Fiber.join(fiber)
      expect(Either.isRight(accepted) && accepted.right).toEqual({ id: "job" })
      expect(refusedOnce.requests).toHaveLength(2)

      const reset = scripted(() => ({ transport: "ECONNRESET" }))
      const lost = yield* submit(reset.layer)
      expect(Either.isLeft(lost) && lost.left).toMatchObject({ _tag: "NetworkError", code: "ECONNRESET" })
      expect(reset.requests).toHaveLength(1)
    }))
})

describe("key rotation", () => {
  it.effect("skips a key that got InvalidApiKey, now and on later calls (the others take turns)", () =>
    Effect.gen(function* () {
      const script = scripted((request) =>
        request.headers.authorization === "Bearer k1" ? { status: 401, body: { error: "invalid key" } } : { status: 200, body: { id: "ok" } }
      )
      const keys = yield* KeyRing.make("p", KeyRing.splitKeys(Redacted.make("k1, k2,k3")), { setting: "P_KEY" })
      const http = yield* Http.make({ provider: "p", baseUrl: "https://api.example.test", keys }).pipe(Effect.provide(script.layer))
      yield* http.json({ path: "/x", schema: Answer })
      yield* http.json({ path: "/x", schema: Answer })
      yield* http.json({ path: "/x", schema: Answer })
      expect(script.requests.map((r) => r.headers.authorization)).toEqual(["Bearer k1", "Bearer k2", "Bearer k3", "Bearer k2"])
      expect(yield* keys.usable).toEqual([1, 2])
    }))

  it.effect("moves on when a key is out of quota, and fails with the last error when all are", () =>
    Effect.gen(function* () {
      const script = scripted(() => ({ status: 402, body: { error: "Insufficient balance" } }))
      const keys = yield* KeyRing.make("p", KeyRing.splitKeys(Redacted.make("k1,k2")), { setting: "P_KEY" })
      const http = yield* Http.make({ provider: "p", baseUrl: "https://api.example.test", keys }).pipe(Effect.provide(script.layer))
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left._tag).toBe("QuotaExceeded")
      expect(script.requests.map((r) => r.headers.authorization)).toEqual(["Bearer k1", "Bearer k2"])
      // Both keys rest: the next call fails at once, with the reason, and sends nothing.
      const again = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(again) && again.left).toMatchObject({ _tag: "QuotaExceeded", provider: "p" })
      expect(Either.isLeft(again) && again.left.message).toMatch(/no usable key left \(2 configured\)/)
      expect(script.requests).toHaveLength(2)
      // After the cooldown the keys are tried again.
      yield* TestClock.adjust("1 hour")
      yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(script.requests).toHaveLength(4)
    }))

  it.effect("no key configured is MissingConfig naming the setting, and nothing is sent", () =>
    Effect.gen(function* () {
      const script = scripted(() => ({ status: 200, body: { id: "ok" } }))
      const keys = yield* KeyRing.make("p", [], { setting: "P_API_KEY" })
      const http = yield* Http.make({ provider: "p", baseUrl: "https://api.example.test", keys }).pipe(Effect.provide(script.layer))
      const result = yield* Effect.either(http.json({ path: "/x", schema: Answer }))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "MissingConfig", setting: "P_API_KEY" })
      expect(script.requests).toHaveLength(0)
    }))
})

describe("bodies are read under a cap", () => {
  const huge = 300 * 1024 * 1024
  // A JSON answer that never ends (as far as the client can tell: 300 MB, no content-length),
  // or an error page as large.
  const endless = (status: number) => {
    const pumped: Array<Pumped> = []
    const server = loopback((_, res) => {
      res.writeHead(status, { "content-type": "application/json" })
      pumped.push(pump(res, huge, { prefix: '{"id":"', suffix: '"}' }))
    })
    return Effect.map(server, (s) => ({ ...s, sent: () => pumped.reduce((sum, p) => sum + p.sent(), 0) }))
  }
  const clients = [
    ["the general HttpClient", NodeHttpClient.layerUndici],
    ["the lean path", UndiciHttpClient.layer]
  ] as const

  for (const [name, layer] of clients) {
    it.scopedLive(`${name}: a 2xx JSON answer past maxBodyBytes is MalformedResponse, read no further`, () =>
      Effect.gen(function* () {
        const server = yield* endless(200)
        const http = yield* Http.make({ provider: "p", baseUrl: server.url, maxBodyBytes: 1024 * 1024, retry: { retries: 0 } })
        const error = yield* Effect.flip(http.json({ method: "POST", path: "/x", json: {}, schema: Answer }))
        expect(error).toMatchObject({ _tag: "MalformedResponse", provider: "p" })
        expect(error.message).toMatch(/answer is larger than 1048576 bytes/)
        expect(server.sent()).toBeLessThan(64 * 1024 * 1024)
      }).pipe(Effect.provide(layer)))

    it.scopedLive(`${name}: an error answer is read up to its cap and mapped by its status; the rest is not read`, () =>
      Effect.gen(function* () {
        const server = yield* endless(503)
        const http = yield* Http.make({ provider: "p", baseUrl: server.url, retry: { retries: 0 } })
        const error = yield* Effect.flip(http.json({ method: "POST", path: "/x", json: {}, schema: Answer }))
        expect(error).toMatchObject({ _tag: "ProviderUnavailable", status: 503 })
        expect(error.message.length).toBeLessThan(1000)
        expect(server.sent()).toBeLessThan(64 * 1024 * 1024)
      }).pipe(Effect.provide(layer)))
  }

  it.scopedLive("the default cap holds an answer with a large inline image (a few MB), and refuses 300 MB", () =>
    Effect.gen(function* () {
      let big = true
      const server = yield* loopback((_, res) => {
        if (big) {
          res.writeHead(200, { "content-type": "application/json" })
          pump(res, huge, { prefix: '{"id":"', suffix: '"}' })
          return
        }
        json(res, 200, { id: "x".repeat(8 * 1024 * 1024) })
      })
      const http = yield* Http.make({ provider: "p", baseUrl: server.url, retry: { retries: 0 } })
      expect((yield* Effect.flip(http.json({ path: "/x", schema: Answer })))._tag).toBe("MalformedResponse")
      big = false
      expect((yield* http.json({ path: "/x", schema: Answer })).id.length).toBe(8 * 1024 * 1024)
    }).pipe(Effect.provide(UndiciHttpClient.layer)))
})
