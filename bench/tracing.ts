// What tracing costs a registry call: `ProviderRegistry.generate` (text-to-text, fallback
// configured, as client (c) of section 1) against the chat emulator, one call at a time, with the
// tracer off (as `automarket` runs without OTEL_EXPORTER_OTLP_ENDPOINT: `Layer.setTracerEnabled(false)`)
// or on (the OpenTelemetry SDK through `NodeSdk.layer`, every span kept by an in-memory exporter:
// the spans are made, ended and handed over, without the network cost of a real exporter).
// Prints one JSON line: { mode, calls, seconds, usPerCall, cpuUsPerCall, spansPerCall }.
//
//   node bench/.build/tracing.mjs <off|on> <calls> <warmup> <baseUrl>
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Asset from "../src/domain/Asset.js"
import * as Catalog from "../src/provider/Catalog.js"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import * as Providers from "./support/Providers.js"

const [mode = "off", callsArg = "2000", warmupArg = "200", baseUrl = "http://127.0.0.1:8080/v1"] = process.argv.slice(2)
const calls = Number(callsArg)
const warmup = Number(warmupArg)

const exporter = new InMemorySpanExporter()
const tracing =
  mode === "on"
    ? NodeSdk.layer(() => ({ resource: { serviceName: "automarket-bench" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
    : Layer.setTracerEnabled(false)

const registryLayer = Layer.effect(
  ProviderRegistry.ProviderRegistry,
  Effect.flatMap(Effect.all([Providers.together(baseUrl), Providers.openrouter(baseUrl)]), ProviderRegistry.make)
).pipe(Layer.provide(Layer.merge(httpClientLayer, Catalog.layerMemory())))

const runtime = ManagedRuntime.make(Layer.merge(registryLayer, tracing))
const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
const input = Asset.text("Say something short.")
const loop = (n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* registry.generate("text-to-text", input)
  })

await runtime.runPromise(loop(warmup))
const spansBefore = exporter.getFinishedSpans().length
const cpu = process.cpuUsage()
const start = performance.now()
await runtime.runPromise(loop(calls))
const seconds = (performance.now() - start) / 1000
const used = process.cpuUsage(cpu)
const spans = exporter.getFinishedSpans().length - spansBefore
await runtime.dispose()
process.stdout.write(
  JSON.stringify({
    mode,
    calls,
    seconds,
    usPerCall: (seconds * 1e6) / calls,
    cpuUsPerCall: (used.user + used.system) / calls,
    spansPerCall: spans / calls
  }) + "\n"
)
process.exit(0)
