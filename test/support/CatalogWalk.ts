/**
 * A walk of a provider's whole catalog, for the rule that a model is listed under a capability
 * only if calling it there works: every model the provider lists is called under every
 * capability it is listed for, with a small input of that capability's kind, and each call's
 * outcome is kept so a test can expect every one to succeed.
 */
import * as Effect from "effect/Effect"
import { Audio, BytesSource, Image, text, Video } from "../../src/domain/Asset.js"
import type { MediaCapability } from "../../src/domain/Capability.js"
import type { MediaError } from "../../src/domain/Errors.js"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"
import { silentWav, tinyMp4, tinyPng } from "../emulators/Samples.js"

/** One call of the walk: which model under which capability, and how it ended. */
export interface WalkStep {
  readonly capability: MediaCapability
  readonly model: string
  /** The error's tag and message when the call failed; undefined when it succeeded. */
  readonly failure: string | undefined
}

const image = () => new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
const video = () => new Video({ source: new BytesSource({ bytes: new Uint8Array(tinyMp4) }), mimeType: "video/mp4" })

// One call of `model` under `capability`, with an input of its kind; a capability the walk has
// no input for fails the step, so a newly listed capability cannot pass unexercised.
const call = (provider: MediaProviderService, capability: MediaCapability, model: string): Effect.Effect<unknown, MediaError | string> => {
  switch (capability) {
    case "text-to-text":
      return Effect.flatMap(provider.textToText(model), (m) => m.transform(text("Say hi"), { maxTokens: 16 }))
    case "text-to-image":
      return Effect.flatMap(provider.textToImage(model), (m) => m.transform(text("a lighthouse at dusk")))
    case "image-to-image":
      return Effect.flatMap(provider.imageToImage(model), (m) => m.transform(image(), { prompt: "make it night" }))
    case "image-upscaling":
      return Effect.flatMap(provider.imageUpscaling(model), (m) => m.transform(image(), { scale: 2 }))
    case "text-to-video":
      return Effect.flatMap(provider.textToVideo(model), (m) => m.transform(text("waves at dusk"), { durationSeconds: 4 }))
    case "image-to-video":
      return Effect.flatMap(provider.imageToVideo(model), (m) => m.transform(image(), { prompt: "the waves roll in" }))
    case "video-to-video":
      return Effect.flatMap(provider.videoToVideo(model), (m) => m.transform(video(), { prompt: "make it night" }))
    case "text-to-audio":
      return Effect.flatMap(provider.textToAudio(model), (m) => m.transform(text("birdsong at dawn"), { durationSeconds: 5 }))
    case "text-to-speech":
      return Effect.flatMap(provider.textToSpeech(model), (m) => m.transform(text("Hello there")))
    case "speech-to-text":
      return Effect.flatMap(provider.speechToText(model), (m) =>
        m.transform(new Audio({ source: new BytesSource({ bytes: new Uint8Array(silentWav()) }), mimeType: "audio/wav" }))
      )
    default:
      return Effect.fail(`the walk has no input for ${capability}`)
  }
}

/** Discover the provider's catalog and call every listed model under every capability it is listed for, in turn. */
export const walkCatalog = (provider: MediaProviderService): Effect.Effect<ReadonlyArray<WalkStep>, MediaError> =>
  Effect.flatMap(provider.models, (models) =>
    Effect.forEach(
      models.flatMap((model) => model.capabilities.map((capability) => ({ capability, model: model.id }))),
      ({ capability, model }) =>
        Effect.match(call(provider, capability, model), {
          onFailure: (error): WalkStep => ({
            capability,
            model,
            failure: typeof error === "string" ? error : `${error._tag}: ${error.message}`
          }),
          onSuccess: (): WalkStep => ({ capability, model, failure: undefined })
        })
    )
  )
