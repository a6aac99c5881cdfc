/**
 * The command line with `OTEL_EXPORTER_OTLP_ENDPOINT` set, as an operator runs it: `automarket
 * generate text` against OpenRouter's emulator on 127.0.0.1 sends its spans (the registry call,
 * the provider's attempt, the HTTP try) and its call metrics to a loopback OTLP collector before
 * it exits, and nothing it sends holds the provider key. Without the variable nothing is sent.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { openrouter } from "../emulators/openrouter.js"
import { json, loopback } from "../support/LoopbackServer.js"
import { run } from "../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-otel-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const key = "or-cli-key-0123456789abcdef"

describe("automarket with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it.scopedLive("exports the call's spans and metrics to the collector, without the key; nothing when unset", () =>
    Effect.gen(function* () {
      const emulator = yield* openrouter()
      const collector = yield* loopback((_req, res) => json(res, 200, {}))
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AUTOMARKET_STATE_DIR: path.join(dir, "state"),
        AUTOMARKET_CACHE_DIR: path.join(dir, "cache"),
        OPENROUTER_API_KEY: key,
        OPENROUTER_BASE_URL: emulator.baseUrl,
        NO_COLOR: "1"
      }
      const generate = (extra: NodeJS.ProcessEnv) =>
        Effect.promise(() =>
          run(process.execPath, [bin, "generate", "text", "hello there", "--provider", "openrouter"], { env: { ...env, ...extra }, timeout: 90_000 })
        )

      const quiet = yield* generate({})
      expect(quiet.status, quiet.stderr).toBe(0)
      expect(collector.seen).toHaveLength(0)

      const ran = yield* generate({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "automarket-cli-test" })
      expect(ran.status, ran.stderr).toBe(0)
      expect(ran.stdout).toContain("Echo: hello there")
      const traces = collector.seen.filter((request) => request.path === "/v1/traces")
      const metrics = collector.seen.filter((request) => request.path === "/v1/metrics")
      expect(traces.length).toBeGreaterThan(0)
      expect(metrics.length).toBeGreaterThan(0)
      type Span = { name: string; spanId: string; parentSpanId?: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }
      const spans: Array<Span> = traces.flatMap((request) =>
        JSON.parse(request.body).resourceSpans.flatMap((rs: { scopeSpans: Array<{ spans: Array<Span> }> }) => rs.scopeSpans.flatMap((ss) => ss.spans))
      )
      const generateSpan = spans.find((span) => span.name === "automarket.generate")
      const attempt = spans.find((span) => span.name === "automarket.attempt")
      const http = spans.find((span) => span.name === "automarket.http")
      expect(generateSpan).toBeDefined()
      expect(attempt?.parentSpanId).toBe(generateSpan?.spanId)
      expect(http?.parentSpanId).toBe(attempt?.spanId)
      const attribute = (span: Span | undefined, name: string) => span?.attributes.find((a) => a.key === name)?.value
      expect(attribute(generateSpan, "automarket.provider")).toEqual({ stringValue: "openrouter" })
      expect(attribute(generateSpan, "automarket.capability")).toEqual({ stringValue: "text-to-text" })
      expect(traces[0]!.body).toContain("automarket-cli-test")
      expect(metrics.map((request) => request.body).join("")).toContain("automarket.calls")
      // Nothing the collector received holds the key, in a body or a header.
      for (const request of collector.seen) {
        expect(request.body.includes(key)).toBe(false)
        expect(JSON.stringify(request.headers).includes(key)).toBe(false)
      }
    }), 200_000)
})
