/**
 * `--provider` and `--model` as the registry takes them: as given once the provider exists
 * (speak, transcribe, compose) or checked against the registry first (generate), with `--model`
 * alone going to the providers that list it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { asGiven, checked, given } from "../../src/cli/ProviderChoice.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { fake, model } from "../support/TestProviders.js"

const registry = Effect.gen(function* () {
  const alpha = yield* fake({ id: "alpha", models: [model("alpha-chat", ["text-to-text"])] })
  const beta = yield* fake({ id: "beta", models: [model("beta-chat", ["text-to-text"]), model("beta-draw", ["text-to-image"])] })
  return ProviderRegistry.fromProviders([beta.provider, alpha.provider])
})

const withRegistry = <A, E>(effect: Effect.Effect<A, E, ProviderRegistry.ProviderRegistry>) =>
  Effect.flatMap(registry, (layer) => Effect.provide(effect, layer))

describe("ProviderChoice", () => {
  it("asGiven: the provider named, with its model; a model without a provider is left to the registry", () => {
    expect(asGiven(Option.none(), Option.none())).toEqual({})
    expect(asGiven(Option.some("alpha"), Option.none())).toEqual({ providers: ["alpha"] })
    expect(asGiven(Option.some("alpha"), Option.some("alpha-chat"))).toEqual({ providers: ["alpha"], models: { alpha: "alpha-chat" } })
    expect(asGiven(Option.none(), Option.some("alpha-chat"))).toEqual({})
  })

  it.effect("given: the options as given when the provider exists; an unknown provider names the known ones", () =>
    withRegistry(
      Effect.gen(function* () {
        expect(yield* given(Option.none(), Option.some("alpha-chat"))).toEqual({})
        expect(yield* given(Option.some("beta"), Option.some("beta-draw"))).toEqual({ providers: ["beta"], models: { beta: "beta-draw" } })
        const unknown = yield* Effect.flip(given(Option.some("nosuch"), Option.none()))
        expect(unknown).toMatchObject({ _tag: "UnknownProvider", id: "nosuch", known: ["beta", "alpha"] })
        expect(unknown.message).toBe('no provider "nosuch" (known: beta, alpha)')
      })
    ))

  it.effect("checked: a provider that exists and offers the capability is pinned, with its model", () =>
    withRegistry(
      Effect.gen(function* () {
        expect(yield* checked("text-to-text", Option.none(), Option.none())).toEqual({})
        expect(yield* checked("text-to-text", Option.some("alpha"), Option.some("alpha-chat"))).toEqual({
          providers: ["alpha"],
          models: { alpha: "alpha-chat" }
        })
      })
    ))

  it.effect("checked: an unknown provider names the known ones; one without the capability says what it offers", () =>
    withRegistry(
      Effect.gen(function* () {
        const unknown = yield* Effect.flip(checked("text-to-text", Option.some("nope"), Option.none()))
        expect(unknown).toMatchObject({ _tag: "UnknownProvider", id: "nope", known: ["beta", "alpha"] })
        expect(unknown.message).toBe('no provider "nope" (known: beta, alpha)')
        const unable = yield* Effect.flip(checked("text-to-video", Option.some("alpha"), Option.none()))
        expect(unable).toMatchObject({ _tag: "CapabilityNotSupported", provider: "alpha", capability: "text-to-video" })
        expect(unable.message).toBe("alpha: does not offer text-to-video (it offers text-to-text, text-to-image)")
      })
    ))

  it.effect("checked: --model alone goes to the providers that list it, else to every provider of the capability", () =>
    withRegistry(
      Effect.gen(function* () {
        expect(yield* checked("text-to-text", Option.none(), Option.some("alpha-chat"))).toEqual({
          providers: ["alpha"],
          models: { alpha: "alpha-chat" }
        })
        const unlisted = yield* checked("text-to-text", Option.none(), Option.some("unlisted"))
        expect(unlisted.providers).toBeUndefined()
        expect(unlisted.models).toEqual({ beta: "unlisted", alpha: "unlisted" })
      })
    ))
})
