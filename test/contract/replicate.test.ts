/**
 * Contract: the Replicate client against a Prism mock of Replicate's OpenAPI spec, started with
 * `--errors`: creating a prediction for an official model (with `Prefer: wait` and a deadline's
 * `Cancel-After`) and by version, polling, cancelling, listing predictions for `find`
 * (`created_after`), and discovery (collections, models) are sent as the spec says, with no
 * request violation. A negative control (a create without `input`) shows a violation is caught.
 *
 * Prism answers with the spec's examples, whose `urls` point at api.replicate.com: the ticket is
 * built on the base URL instead (URLs on another origin are never followed, see ticketOf).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import * as Replicate from "../../src/providers/replicate/index.js"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import { prism, spec } from "../support/Prism.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-contract-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("Replicate client vs Replicate's OpenAPI spec (Prism)", () => {
  it.scopedLive("create (official and versioned), get, cancel, collections and models follow the spec, with no violation", () =>
    Effect.gen(function* () {
      const mock = yield* prism(spec("replicate/openapi.json"))
      const vars = ConfigProvider.fromMap(new Map([["REPLICATE_API_TOKEN", "r8_contract"], ["REPLICATE_BASE_URL", mock.url]]))
      const { jobs } = yield* Replicate.makeWithJobs({ downloadDir: dir }).pipe(Effect.withConfigProvider(vars))
      const ticket = yield* jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("a red kite"), { width: 512, height: 512, seed: 3 }, {
        deadline: new Date(Date.now() + 10 * 60_000)
      })
      expect(ticket.statusUrl).toBe(`${mock.url}/predictions/${encodeURIComponent(ticket.requestId)}`)
      expect(ticket.cancelUrl).toBe(`${mock.url}/predictions/${encodeURIComponent(ticket.requestId)}/cancel`)
      const versioned = yield* jobs.submit(
        "text-to-video",
        "minimax/video-01:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        text("waves"),
        { durationSeconds: 6 }
      )
      expect(versioned.provider).toBe("replicate")

      const config = yield* Replicate.ReplicateConfig.fromEnv().pipe(Effect.withConfigProvider(vars))
      const client = yield* Replicate.ReplicateClient.make(config)
      const prediction = yield* client.get(ticket)
      expect(typeof prediction.status).toBe("string")
      yield* client.cancel(ticket)
      const collection = yield* client.collection("text-to-image")
      expect(Array.isArray(collection.models)).toBe(true)
      const models = yield* client.listModels(1)
      expect(Array.isArray(models)).toBe(true)
      // Prism's listing is made up from the schema: whatever it holds, the request is the point.
      const found = yield* jobs.find!({ capability: "text-to-image", model: "black-forest-labs/flux-schnell", input: text("a red kite"), since: new Date() })
      expect(Option.isOption(found)).toBe(true)

      const log = mock.log().join("\n")
      expect(log).toMatch(/\[HTTP SERVER\] post \/models\/black-forest-labs\/flux-schnell\/predictions/)
      expect(log).toMatch(/\[HTTP SERVER\] post \/predictions /)
      expect(log).toMatch(/\[HTTP SERVER\] get \/predictions\//)
      expect(log).toMatch(/\[HTTP SERVER\] get \/collections\/text-to-image/)
      // Prism logs the path without its query; it validated `created_after` (a date-time) with the rest.
      expect(log.match(/\[HTTP SERVER\] get \/predictions \S* *info/g)).toHaveLength(1)
      expect(mock.violations()).toEqual([])

      // Negative control: a create without `input` breaks the spec; Prism reports it (422).
      const { http } = yield* ProviderConfig.makeHttp(Replicate.ReplicateConfig.settings, config)
      const bad = yield* Effect.exit(http.json({ method: "POST", path: "/predictions", json: { version: "abc" }, schema: Schema.Unknown, retry: false }))
      expect(Exit.isFailure(bad)).toBe(true)
      expect(mock.violations().length).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 90_000)
})
