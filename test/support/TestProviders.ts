/**
 * Providers for tests, built with the real `Provider.make`: their text-to-text and
 * text-to-image transforms answer from a script, and count their calls.
 */
import * as Effect from "effect/Effect"
import { fromBytes, Image, Text } from "../../src/domain/Asset.js"
import type { MediaError } from "../../src/domain/Errors.js"
import type { MediaProviderService, ProviderType } from "../../src/domain/MediaProvider.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import * as Provider from "../../src/provider/Provider.js"

/** A scripted provider and its call log. */
export interface FakeProvider {
  readonly provider: MediaProviderService
  /** Model ids of the calls made, in order. */
  readonly calls: Array<string>
}

/** Options of a fake provider. */
export interface FakeOptions {
  readonly id: string
  readonly type?: ProviderType
  readonly configured?: boolean
  readonly notConfigured?: MediaError
  readonly models?: ReadonlyArray<Omit<ProviderModel, "provider">>
  /** Fail the n-th call (0-based) with this error, or succeed when undefined. */
  readonly fail?: (call: number) => MediaError | undefined
  readonly discoveryFails?: MediaError
}

/** A model entry. */
export const model = (
  id: string,
  capabilities: ProviderModel["capabilities"],
  price?: number
): Omit<ProviderModel, "provider"> => ({
  id,
  name: id,
  capabilities,
  pricing: price === undefined || price === 0 ? [] : [{ usd: price, unit: "image", applies: "output" }],
  free: price === 0
})

/** Make a fake provider. */
export const fake = (options: FakeOptions): Effect.Effect<FakeProvider> =>
  Effect.gen(function* () {
    const calls: Array<string> = []
    const answer = (modelId: string) =>
      Effect.suspend(() => {
        const n = calls.length
        calls.push(modelId)
        const error = options.fail?.(n)
        return error === undefined ? Effect.succeed(n) : Effect.fail(error)
      })
    const origin = (modelId: string) => ({ provider: options.id, model: modelId, costUsd: 0 })
    const provider = yield* Provider.make({
      id: options.id,
      name: `Fake ${options.id}`,
      type: options.type ?? "remote",
      configured: options.configured ?? true,
      ...(options.notConfigured !== undefined ? { notConfigured: options.notConfigured } : {}),
      discover:
        options.discoveryFails !== undefined
          ? Effect.fail(options.discoveryFails)
          : Effect.succeed((options.models ?? []).map((m) => ({ ...m, provider: options.id }))),
      transforms: {
        "text-to-text": (modelId, input) =>
          Effect.map(answer(modelId), () => new Text({ text: `${options.id}:${input.text}`, origin: origin(modelId) })),
        "text-to-image": (modelId) =>
          Effect.map(
            answer(modelId),
            () => new Image({ source: fromBytes(new Uint8Array([137, 80, 78, 71])), mimeType: "image/png", origin: origin(modelId) })
          )
      }
    })
    return { provider, calls }
  })
