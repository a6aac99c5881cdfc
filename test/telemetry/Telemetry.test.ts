/**
 * The telemetry switch: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, a registry call's spans and the
 * metrics reach a loopback OTLP collector as JSON, with the collector's headers and without any
 * provider key; unset, the tracer is off and no span is recorded.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { SpanName } from "../../src/resilience/Attributes.js"
import * as Telemetry from "../../src/telemetry/Telemetry.js"
import { json, loopback } from "../support/LoopbackServer.js"
import { chain, openRouterKey, togetherKey } from "./Chain.js"

const withEnv = (env: Record<string, string>) => Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("settingsFromEnv", () => {
  it.effect("reads the standard variables; the headers stay redacted", () =>
    Effect.gen(function* () {
      const settings = yield* Telemetry.settingsFromEnv
      expect(Option.isSome(settings)).toBe(true)
      const found = Option.getOrThrow(settings)
      expect(found).toMatchObject({ endpoint: "http://127.0.0.1:4318", serviceName: "shop", resourceAttributes: { "deployment.environment": "test", team: "media" } })
      expect(Redacted.value(found.headers)).toEqual({ "x-collector-key": "a b=c" })
      expect(String(found.headers)).not.toContain("a b=c")
    }).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"],
            ["OTEL_SERVICE_NAME", "shop"],
            ["OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test, team=media,broken"],
            ["OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=a%20b%3Dc"]
          ])
        )
      )
    ))

  it.effect("none without an endpoint (or with an empty one)", () =>
    Effect.gen(function* () {
      expect(Option.isNone(yield* Telemetry.settingsFromEnv)).toBe(true)
      expect(Option.isNone(yield* Effect.withConfigProvider(Telemetry.settingsFromEnv, ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", " "]]))))).toBe(true)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})

describe("OTLP on", () => {
  it.live("a fallback call's spans and the call metrics reach the collector, with its headers, without a provider key", () =>
    Effect.gen(function* () {
      const collector = yield* loopback((_req, res) => json(res, 200, {}))
      const { generate } = yield* chain
      const telemetry = Telemetry.layerFromEnv.pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(
          withEnv({
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
            OTEL_SERVICE_NAME: "automarket-otlp-test",
            OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=collector-secret"
          })
        )
      )
      // The layer's scope closes after the call: what was buffered is sent then.
      const result = yield* generate.pipe(Effect.provide(telemetry))
      expect(result.provider).toBe("openrouter")

      const traces = collector.seen.filter((r) => r.path === "/v1/traces")
      const metrics = collector.seen.filter((r) => r.path === "/v1/metrics")
      expect(traces.length).toBeGreaterThan(0)
      expect(metrics.length).toBeGreaterThan(0)
      for (const request of [...traces, ...metrics]) {
        expect(request.method).toBe("POST")
        expect(request.headers["content-type"]).toContain("application/json")
        expect(request.headers["x-collector-key"]).toBe("collector-secret")
      }
      const spans = traces.flatMap((r) => JSON.parse(r.body).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)))
      const names = spans.map((span: { name: string }) => span.name)
      expect(names.filter((name: string) => name === SpanName.generate)).toHaveLength(1)
      expect(names.filter((name: string) => name === SpanName.attempt)).toHaveLength(2)
      expect(names).toContain(SpanName.http)
      expect(traces[0]!.body).toContain("automarket-otlp-test")
      const metricNames = metrics.flatMap((r) => JSON.parse(r.body).resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name))))
      expect(metricNames).toEqual(expect.arrayContaining(["automarket.calls", "automarket.failures", "automarket.fallbacks", "automarket.call.duration", "automarket.spend"]))

      const received = collector.seen.map((r) => JSON.stringify(r.headers) + r.body).join("\n")
      expect(received).not.toContain(togetherKey)
      expect(received).not.toContain(openRouterKey)
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
})

describe("off", () => {
  const recorded = <A, E, R>(self: Effect.Effect<A, E, R>, telemetry: Layer.Layer<never>) => {
    const exporter = new InMemorySpanExporter()
    const sdk = NodeSdk.layer(() => ({ resource: { serviceName: "automarket-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
    // Counted inside the SDK's scope: shutting it down empties the exporter.
    return Effect.provide(Effect.flatMap(Effect.provide(self, telemetry), () => Effect.sync(() => exporter.getFinishedSpans().length)), sdk)
  }

  it.scopedLive("without the endpoint no exporter is built and the tracer is off: no span recorded", () =>
    Effect.gen(function* () {
      const { generate } = yield* chain
      const off = Telemetry.layerFromEnv.pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(withEnv({})), Layer.orDie)
      expect(yield* recorded(generate, off)).toBe(0)
      // The same call with the tracer left on records its spans: the zero above is the switch's doing.
      expect(yield* recorded(generate, Layer.empty)).toBeGreaterThan(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
