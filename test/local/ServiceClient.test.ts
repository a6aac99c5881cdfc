/**
 * What the clients of the local services share: the location asked on every use with one
 * client per URL, the lenient reading of `/health`, and the probe that falls back to another
 * route on a server without `/health`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ServiceNotRunning } from "../../src/domain/Errors.js"
import * as Http from "../../src/http/Http.js"
import type { ServiceLocation } from "../../src/local/LocalService.js"
import * as ServiceClient from "../../src/local/ServiceClient.js"
import { json, loopback } from "../support/LoopbackServer.js"

const at = (url: () => string): ServiceLocation => ({ url: Effect.sync(url), configured: true })

describe("ServiceClient", () => {
  it("reads our services' /health answer, and a compatible server's shorter one; status is required", () => {
    const decode = Schema.decodeUnknownSync(ServiceClient.ServiceHealth)
    const ours = { status: "healthy", service: "stt", uptime: 12, activeJobs: 0, queuedJobs: 1, engine: "pocketsphinx-en-us" }
    expect(decode(ours)).toEqual(ours)
    expect(decode({ status: "ok", extra: true })).toEqual({ status: "ok" })
    expect(() => decode({ engine: "x" })).toThrow()
    expect(() => decode({ status: "ok", uptime: "long" })).toThrow()
  })

  it.effect("perUrl makes one value for each URL the location answers, asking the location on every use", () =>
    Effect.gen(function* () {
      let url = "http://127.0.0.1:1"
      const built: Array<string> = []
      const get = yield* ServiceClient.perUrl(at(() => url), (u) => Effect.sync(() => (built.push(u), `client of ${u}`)))
      expect(built).toEqual([])
      expect(yield* get).toBe("client of http://127.0.0.1:1")
      expect(yield* get).toBe("client of http://127.0.0.1:1")
      url = "http://127.0.0.1:2"
      expect(yield* get).toBe("client of http://127.0.0.1:2")
      expect(built).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"])
      const down: ServiceLocation = { url: Effect.fail(new ServiceNotRunning({ provider: "stt", service: "stt", detail: "not running" })), configured: false }
      const failing = yield* ServiceClient.perUrl(down, (u) => Effect.succeed(u))
      expect((yield* Effect.flip(failing))._tag).toBe("ServiceNotRunning")
    }))

  it.scoped("health is one quick GET /health, decoded", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => json(res, 200, { status: "healthy", engine: "flite" }))
      const http = yield* Effect.flatten(ServiceClient.httpAt("tts", at(() => server.url), { timeout: "5 seconds" }))
      expect(yield* ServiceClient.health(http)).toEqual({ status: "healthy", engine: "flite" })
      expect(server.seen.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /health"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("probe: /health answers, or a server without it answers the fallback route; anything else is unavailable", () =>
    Effect.gen(function* () {
      const routes: Record<string, Record<string, number>> = {
        ours: { "/health": 200 },
        real: { "/voices": 200 },
        broken: { "/health": 500, "/voices": 200 },
        neither: {}
      }
      let kind = "ours"
      const server = yield* loopback((req, res) => json(res, routes[kind]![req.url ?? ""] ?? 404, {}))
      const http = yield* Http.make({ provider: "tts", baseUrl: server.url, retry: { retries: 0 } })
      const probed: Record<string, boolean> = {}
      for (const next of Object.keys(routes)) {
        kind = next
        probed[next] = yield* ServiceClient.probe(http, "/voices")
      }
      expect(probed).toEqual({ ours: true, real: true, broken: false, neither: false })
      const refused = yield* Http.make({ provider: "tts", baseUrl: "http://127.0.0.1:1", retry: { retries: 0 } })
      expect(yield* ServiceClient.probe(refused, "/voices")).toBe(false)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
