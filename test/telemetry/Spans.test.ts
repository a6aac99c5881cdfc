/**
 * The spans of a registry call with fallback, recorded by the OpenTelemetry SDK's in-memory
 * exporter: `automarket.generate` over one `automarket.attempt` per provider (the failed one with
 * its error tag and an error status), the HTTP tries under each attempt, and no key anywhere in
 * what was exported. Also: the overhead a call reports against emulators that hold every answer.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { SpanStatusCode } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import { SpanName, Attribute } from "../../src/resilience/Attributes.js"
import { chain, openRouterKey, openRouterModel, slowChain, togetherKey, togetherModel } from "./Chain.js"

/**
 * Run `self` traced by the OpenTelemetry SDK into an in-memory exporter; its result and the
 * finished spans, read before the SDK shuts down (which empties the exporter).
 */
const traced = <A, E, R>(self: Effect.Effect<A, E, R>) => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({ resource: { serviceName: "automarket-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  return Effect.exit(self).pipe(
    Effect.map((exit) => ({ exit, spans: exporter.getFinishedSpans() })),
    Effect.provide(layer)
  )
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId

/** Everything of a span that an exporter sends, as text. */
const exported = (spans: ReadonlyArray<ReadableSpan>): string =>
  JSON.stringify(
    spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
      links: span.links,
      resource: span.resource.attributes
    }))
  )

describe("spans of a registry call", () => {
  it.scopedLive("fallback: generate -> attempt together (QuotaExceeded, error) -> attempt openrouter (ok), HTTP tries below, no key", () =>
    Effect.gen(function* () {
      const { generate } = yield* chain
      const { exit, spans } = yield* traced(generate)
      const result = yield* exit
      expect(result.provider).toBe("openrouter")

      const generates = spans.filter((s) => s.name === SpanName.generate)
      expect(generates).toHaveLength(1)
      const root = generates[0]!
      expect(root.attributes).toMatchObject({
        [Attribute.capability]: "text-to-text",
        [Attribute.provider]: "openrouter",
        [Attribute.model]: openRouterModel,
        [Attribute.attempts]: 2
      })
      expect(root.attributes[Attribute.errorTag]).toBeUndefined()
      expect(root.attributes[Attribute.costUsd]).toBeGreaterThan(0)
      expect(root.status.code).not.toBe(SpanStatusCode.ERROR)

      const attempts = spans.filter((s) => s.name === SpanName.attempt).sort((a, b) => Number(a.attributes[Attribute.attemptIndex]) - Number(b.attributes[Attribute.attemptIndex]))
      expect(attempts.map((s) => [s.attributes[Attribute.provider], s.attributes[Attribute.model], s.attributes[Attribute.attemptIndex], s.attributes[Attribute.errorTag]])).toEqual([
        ["together", togetherModel, 0, "QuotaExceeded"],
        ["openrouter", openRouterModel, 1, undefined]
      ])
      expect(attempts.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.OK])
      for (const attempt of attempts) {
        expect(parentOf(attempt)).toBe(root.spanContext().spanId)
        expect(attempt.spanContext().traceId).toBe(root.spanContext().traceId)
      }

      // One HTTP try under each attempt: the chat request, its status, and its path without a query.
      const httpUnder = (attempt: ReadableSpan) => spans.filter((s) => s.name === SpanName.http && parentOf(s) === attempt.spanContext().spanId)
      expect(httpUnder(attempts[0]!).map((s) => [s.attributes[Attribute.httpStatus], s.attributes[Attribute.urlPath], s.attributes[Attribute.httpAttempt]])).toEqual([
        [402, "/v1/chat/completions", 1]
      ])
      const served = httpUnder(attempts[1]!)
      expect(served.map((s) => [s.attributes[Attribute.httpStatus], s.attributes[Attribute.urlPath]])).toEqual([[200, "/api/v1/chat/completions"]])
      expect(served[0]!.attributes[Attribute.bytes]).toBeGreaterThan(0)

      // Nothing exported holds a key, a header or a query string.
      const text = exported(spans)
      expect(text).toContain("Credit limit exceeded")
      expect(text).not.toContain(togetherKey)
      expect(text).not.toContain(openRouterKey)
      expect(text).not.toMatch(/authorization|http\.request\.header|url\.full|url\.query/i)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a failed call: generate ends in error with the last error's tag", () =>
    Effect.gen(function* () {
      const { or, generate } = yield* chain
      or.state.down = [openRouterModel]
      const { exit, spans } = yield* traced(generate)
      const error = yield* Effect.flip(exit)
      expect(error._tag).toBe("ProviderUnavailable")
      const root = spans.find((s) => s.name === SpanName.generate)!
      expect(root.status.code).toBe(SpanStatusCode.ERROR)
      expect(root.attributes).toMatchObject({ [Attribute.errorTag]: "ProviderUnavailable", [Attribute.provider]: "openrouter" })
      expect(exported(spans)).not.toContain(openRouterKey)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("overheadMs", () => {
  const delayMs = 200

  it.scopedLive("against answers held 200 ms: at least 0 and well below 200, on the origin and the result", () =>
    Effect.gen(function* () {
      const { direct } = yield* slowChain(delayMs)
      const started = performance.now()
      const result = yield* direct
      const wall = performance.now() - started
      // Discovery and the chat: at least two held answers.
      expect(wall).toBeGreaterThanOrEqual(2 * delayMs)
      expect(result.overheadMs).toBeGreaterThanOrEqual(0)
      expect(result.overheadMs).toBeLessThan(delayMs / 2)
      expect(result.output.origin?.overheadMs).toBe(result.overheadMs)
      expect(result.output.origin).toMatchObject({ provider: "together", model: togetherModel })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a fallback's overhead leaves out the failed provider's wait", () =>
    Effect.gen(function* () {
      const { fallback, or } = yield* slowChain(delayMs)
      const started = performance.now()
      const result = yield* fallback
      const wall = performance.now() - started
      expect(result.attempts.map((a) => [a.provider, a.error?.tag])).toEqual([
        ["openrouter", "ProviderUnavailable"],
        ["together", undefined]
      ])
      expect(or.count("/api/v1/chat/completions")).toBe(1)
      // Two discoveries (side by side) and two chats, each held.
      expect(wall).toBeGreaterThanOrEqual(3 * delayMs)
      expect(result.overheadMs).toBeGreaterThanOrEqual(0)
      expect(result.overheadMs).toBeLessThan(delayMs / 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
