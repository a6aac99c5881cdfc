/**
 * Together's per-model parameters (src/providers/together/Parameters.ts) against the Together
 * emulator on 127.0.0.1: FLUX.1 schnell is sent its default steps when the caller gives none,
 * other image models none (Together's own default applies); steps outside 1-50 are InvalidInput
 * naming the field, with no image request; a `maxTokens` above the model's listed context length
 * is InvalidInput naming the limit, with no chat request, whole or streamed; and the emulator
 * refuses the same values itself when the provider does not know the model's limits.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { text } from "../../../src/domain/Asset.js"
import type { MediaError } from "../../../src/domain/Errors.js"
import * as Together from "../../../src/providers/together/index.js"
import { together } from "../../emulators/together.js"

const llama = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
const schnell = "black-forest-labs/FLUX.1-schnell"

const setup = Effect.gen(function* () {
  const emulator = yield* together()
  const provider = yield* Together.make({ apiKeys: [Redacted.make("tg-params-key")], baseUrl: emulator.baseUrl, timeout: Duration.seconds(5), retries: 0 })
  return { emulator, provider }
})

// The JSON bodies of the image requests the emulator saw.
const imageBodies = (emulator: Effect.Effect.Success<ReturnType<typeof together>>) =>
  emulator.requests.filter((request) => request.path === "/v1/images/generations").map((request) => request.json as Record<string, unknown>)

const failureOf = <A>(self: Effect.Effect<A, MediaError>) => Effect.flip(self)

describe("Together's per-model parameters (emulator on 127.0.0.1)", () => {
  it.scopedLive("FLUX.1 schnell is sent 4 steps when none is given; the caller's steps as given; another model none", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup
      const schnellModel = yield* provider.textToImage(schnell)
      yield* schnellModel.transform(text("a lighthouse"))
      yield* schnellModel.transform(text("a lighthouse"), { steps: 12 })
      yield* schnellModel.transform(text("a lighthouse"), { extra: { steps: 2 } })
      yield* Effect.flatMap(provider.textToImage("black-forest-labs/FLUX.1-dev"), (model) => model.transform(text("a lighthouse")))
      expect(imageBodies(emulator).map((body) => body.steps)).toEqual([4, 12, 2, undefined])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("steps outside 1-50 or not whole are InvalidInput naming steps and the range; nothing is sent", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup
      for (const [model, steps] of [[schnell, 0], [schnell, 51], ["black-forest-labs/FLUX.1-dev", 2.5], ["black-forest-labs/FLUX.1-kontext-pro", 80]] as const) {
        const error = yield* failureOf(Effect.flatMap(provider.textToImage(model), (m) => m.transform(text("a lighthouse"), { steps })))
        expect(error._tag).toBe("InvalidInput")
        if (error._tag !== "InvalidInput") continue
        expect(error.issues).toEqual(["steps: must be a whole number from 1 to 50"])
        expect(error.detail).toContain(`steps ${steps}`)
      }
      const fromExtra = yield* failureOf(Effect.flatMap(provider.textToImage(schnell), (m) => m.transform(text("a lighthouse"), { extra: { steps: 99 } })))
      expect(fromExtra._tag).toBe("InvalidInput")
      expect(emulator.count("/v1/images")).toBe(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("maxTokens above the listed context length is InvalidInput naming the limit, whole or streamed; nothing is sent", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup
      const listed = (yield* provider.models).find((model) => model.id === llama)
      expect(listed?.limits?.contextLength).toBe(131072)
      const model = yield* provider.textToText(llama)
      const error = yield* failureOf(model.transform(text("Say hi"), { maxTokens: 131073 }))
      expect(error).toMatchObject({ _tag: "InvalidInput", issues: ["maxTokens: must be <= 131072 (the model's context length)"] })
      expect(error.message).toContain("131072")
      const streamed = yield* Effect.flip(Stream.runDrain(provider.streamText(text("Say hi"), { model: llama, maxTokens: 200_000 })))
      expect(streamed._tag).toBe("InvalidInput")
      expect(emulator.count("/v1/chat")).toBe(0)
      // At the limit it is sent.
      yield* model.transform(text("Say hi"), { maxTokens: 131072 })
      expect(emulator.count("/v1/chat")).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("without a listing the provider does not know the limit: the emulator refuses (400, InvalidInput), as it does steps out of range", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup
      const model = yield* provider.textToText(llama)
      const error = yield* failureOf(model.transform(text("Say hi"), { maxTokens: 131073 }))
      expect(error._tag).toBe("InvalidInput")
      expect(emulator.count("/v1/chat")).toBe(1)
      // Steps outside 1-50, sent past the provider, are refused by the emulator too.
      const answer = yield* Effect.promise(() =>
        fetch(`${emulator.baseUrl}/images/generations`, {
          method: "POST",
          headers: { authorization: "Bearer tg-params-key", "content-type": "application/json" },
          body: JSON.stringify({ model: schnell, prompt: "a lighthouse", steps: 51 })
        })
      )
      expect(answer.status).toBe(400)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it("the rules: FLUX.1 schnell (and its Free variant) defaults to 4 steps; other families keep Together's default; all take 1-50", () => {
    const { imageStepsRuleFor } = Together.Parameters
    expect(imageStepsRuleFor("black-forest-labs/FLUX.1-schnell-Free").defaultSteps).toBe(4)
    expect(imageStepsRuleFor("black-forest-labs/FLUX.1-dev").defaultSteps).toBeUndefined()
    expect(imageStepsRuleFor("black-forest-labs/FLUX.1-kontext-pro")).toMatchObject({ minSteps: 1, maxSteps: 50 })
  })
})
