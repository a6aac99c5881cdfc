/**
 * `ProviderRegistry.streamText`: fallback across text providers only before the first delta;
 * after a delta the error is final. Same routing as `generate`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { text, Text } from "../../src/domain/Asset.js"
import { InvalidInput, type MediaError, MissingConfig, NetworkError, QuotaExceeded } from "../../src/domain/Errors.js"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import * as Provider from "../../src/provider/Provider.js"
import { model } from "../support/TestProviders.js"

interface Streamer {
  readonly provider: MediaProviderService
  /** `model:prompt` of every stream started. */
  readonly calls: Array<string>
}

/** A provider streaming `deltas`, then failing with `error` when given. */
const streamer = (
  id: string,
  deltas: ReadonlyArray<string>,
  options: { readonly error?: MediaError; readonly price?: number; readonly configured?: boolean } = {}
): Effect.Effect<Streamer> =>
  Effect.gen(function* () {
    const calls: Array<string> = []
    const provider = yield* Provider.make({
      id,
      name: id,
      type: "remote",
      configured: options.configured ?? true,
      notConfigured: new MissingConfig({ provider: id, setting: `${id.toUpperCase()}_KEY`, detail: `set ${id.toUpperCase()}_KEY` }),
      discover: Effect.succeed([{ ...model(`${id}-chat`, ["text-to-text"], options.price ?? 0.000001), provider: id }]),
      transforms: { "text-to-text": (modelId, input) => Effect.succeed(new Text({ text: `${modelId}:${input.text}` })) },
      streamText: (modelId, input) =>
        Stream.suspend(() => {
          calls.push(`${modelId}:${input.text}`)
          const body = Stream.fromIterable(deltas)
          return options.error === undefined ? body : Stream.concat(body, Stream.fail(options.error))
        })
    })
    return { provider, calls }
  })

const collect = (stream: Stream.Stream<string, MediaError>) =>
  Effect.gen(function* () {
    const seen: Array<string> = []
    const result = yield* Effect.either(Stream.runForEach(stream, (delta) => Effect.sync(() => void seen.push(delta))))
    return { seen, result }
  })

describe("ProviderRegistry.streamText", () => {
  it.effect("moves to the next provider on a failover error before the first delta", () =>
    Effect.gen(function* () {
      const a = yield* streamer("a", [], { error: new QuotaExceeded({ provider: "a", detail: "out of credits" }), price: 0.000001 })
      const b = yield* streamer("b", ["Hel", "lo"], { price: 0.000002 })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const { result, seen } = yield* collect(registry.streamText(text("hi")))
      expect(Either.isRight(result)).toBe(true)
      expect(seen).toEqual(["Hel", "lo"])
      expect(a.calls).toEqual(["a-chat:hi"])
      expect(b.calls).toEqual(["b-chat:hi"])
    }))

  it.effect("empty deltas do not commit to a provider", () =>
    Effect.gen(function* () {
      const a = yield* streamer("a", ["", ""], { error: new NetworkError({ provider: "a", detail: "reset" }), price: 0.000001 })
      const b = yield* streamer("b", ["ok"], { price: 0.000002 })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const { result, seen } = yield* collect(registry.streamText(text("hi")))
      expect(Either.isRight(result)).toBe(true)
      expect(seen.filter((d) => d !== "")).toEqual(["ok"])
    }))

  it.effect("after the first delta an error is final: no other provider is tried", () =>
    Effect.gen(function* () {
      const a = yield* streamer("a", ["Once upon"], { error: new NetworkError({ provider: "a", detail: "stream reset" }), price: 0.000001 })
      const b = yield* streamer("b", ["never"], { price: 0.000002 })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const { result, seen } = yield* collect(registry.streamText(text("tell me a story")))
      expect(seen).toEqual(["Once upon"])
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "NetworkError", message: "a: stream reset" })
      expect(b.calls).toEqual([])
    }))

  it.effect("an error that stops fallback (InvalidInput) is final even before any delta", () =>
    Effect.gen(function* () {
      const a = yield* streamer("a", [], { error: new InvalidInput({ provider: "a", detail: "prompt too long", issues: ["prompt"] }), price: 0.000001 })
      const b = yield* streamer("b", ["never"], { price: 0.000002 })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const { result } = yield* collect(registry.streamText(text("x")))
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidInput")
      expect(b.calls).toEqual([])
    }))

  it.effect("all failing before a delta: the last provider's error", () =>
    Effect.gen(function* () {
      const a = yield* streamer("a", [], { error: new QuotaExceeded({ provider: "a", detail: "quota" }), price: 0.000001 })
      const b = yield* streamer("b", [], { error: new NetworkError({ provider: "b", detail: "refused" }), price: 0.000002 })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const { result } = yield* collect(registry.streamText(text("x")))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "NetworkError", provider: "b" })
    }))

  it.effect("same routing as generate: unconfigured providers last, cheaper first, pinned provider and model honoured", () =>
    Effect.gen(function* () {
      const unconfigured = yield* streamer("zero", ["no"], { configured: false, price: 0 })
      const dear = yield* streamer("dear", ["from dear"], { price: 0.00001 })
      const cheap = yield* streamer("cheap", ["from cheap"], { price: 0.000001 })
      const registry = yield* ProviderRegistry.make([unconfigured.provider, dear.provider, cheap.provider])
      const routed = yield* collect(registry.streamText(text("x")))
      expect(routed.seen).toEqual(["from cheap"])
      expect(unconfigured.calls).toEqual([])
      const pinned = yield* collect(registry.streamText(text("y"), { providers: ["dear"], models: { dear: "dear-large" } }))
      expect(pinned.seen).toEqual(["from dear"])
      expect(dear.calls).toEqual(["dear-large:y"])
    }))

  it.effect("a provider without native streaming answers in one delta; no text provider at all is CapabilityNotSupported", () =>
    Effect.gen(function* () {
      const plain = yield* Provider.make({
        id: "plain",
        name: "plain",
        type: "local",
        configured: true,
        discover: Effect.succeed([{ ...model("plain-chat", ["text-to-text"], 0), provider: "plain" }]),
        transforms: { "text-to-text": (modelId, input) => Effect.succeed(new Text({ text: `${modelId} says ${input.text}` })) }
      })
      const registry = yield* ProviderRegistry.make([plain])
      const deltas = yield* Stream.runCollect(registry.streamText(text("hi")))
      expect(Chunk.toReadonlyArray(deltas)).toEqual(["plain-chat says hi"])
      const empty = yield* ProviderRegistry.make([])
      const none = yield* collect(empty.streamText(text("hi")))
      expect(Either.isLeft(none.result) && none.result.left).toMatchObject({ _tag: "CapabilityNotSupported", capability: "text-to-text" })
    }))
})
