/**
 * Contract: the fal.ai client against a Prism mock of fal's per-model queue spec (Seedream v4
 * text-to-image), started with `--errors`: submit, status (with logs), result and cancel are sent
 * as the spec says, with no request violation reported. A negative control (a body without the
 * required prompt) shows that a violation would be caught.
 *
 * Prism quirks (test/contract/specs/README.md): it answers `status_url` etc. with the placeholder
 * `"string"`, so the client falls back to URLs built from the model id (which the spec serves);
 * `logs` is typed as an object there (read leniently).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import * as FalAi from "../../src/providers/falai/index.js"
import { prism, spec } from "../support/Prism.js"

const model = "fal-ai/bytedance/seedream/v4/text-to-image"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-fal-contract-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("fal.ai client vs the fal queue spec (Prism)", () => {
  it.scopedLive("submit, status, result and cancel follow the spec, with no violation", () =>
    Effect.gen(function* () {
      const mock = yield* prism(spec("fal/seedream-v4-text-to-image.queue.openapi.json"))
      const vars = ConfigProvider.fromMap(new Map([["FALAI_API_KEY", "contract-key"], ["FALAI_BASE_URL", mock.url]]))
      const { jobs } = yield* FalAi.makeWithJobs({ downloadDir: dir, platformUrl: mock.url }).pipe(Effect.withConfigProvider(vars))
      const ticket = yield* jobs.submit("text-to-image", model, text("a lighthouse at dusk"), {
        width: 2048,
        height: 2048,
        seed: 7,
        extra: { num_images: 1, enable_safety_checker: true }
      })
      expect(ticket).toMatchObject({ provider: "falai", model, capability: "text-to-image", requestId: "string" })
      expect(ticket.statusUrl).toBe(`${mock.url}/${model}/requests/string/status`)

      const config = yield* FalAi.FalAiConfig.fromEnv().pipe(Effect.withConfigProvider(vars))
      const client = yield* FalAi.FalAiClient.make(config)
      const status = yield* client.status(ticket)
      expect(FalAi.FalAiClient.toJobStatus(status)).toEqual({ _tag: "Queued", position: 0 })
      const output = yield* client.result(ticket)
      expect(FalAi.Outputs.resultMedia(output, "image")?.url).toMatch(/^https:\/\//)
      yield* client.cancel(ticket)

      const log = mock.log().join("\n")
      expect(log).toMatch(/\[HTTP SERVER\] post \/fal-ai\/bytedance\/seedream\/v4\/text-to-image/)
      expect(log).toMatch(/\[HTTP SERVER\] get \/fal-ai\/bytedance\/seedream\/v4\/text-to-image\/requests\/string\/status /)
      expect(log).toMatch(/\[HTTP SERVER\] put \/fal-ai\/bytedance\/seedream\/v4\/text-to-image\/requests\/string\/cancel/)
      expect(mock.violations()).toEqual([])

      // Negative control: a body without the required prompt is a violation Prism reports (422).
      const bad = yield* Effect.exit(client.submit(model, { seed: 1 }))
      expect(Exit.isFailure(bad)).toBe(true)
      expect(mock.violations().length).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 90_000)
})
