/**
 * The `text-to-audio` model `ffmpeg-ambient`: a calm ambient pad (48 kHz stereo wav)
 * synthesized by the FFmpeg service's `/audio/ambient` from a formula (sine partials of two
 * slowly alternating chords). It is not AI music and does not follow the prompt beyond one
 * thing: words in it pick the mood, `dark` (dark, sad, melancholic, tense, mysterious, night,
 * somber), `bright` (bright, happy, upbeat, uplifting, cheerful, sunny, energetic, joyful), or
 * else `calm`. The prompt also seeds the variation (key, motion), so the same prompt gives the
 * same pad.
 *
 * Options: `durationSeconds` (default 10, at most 600); `extra` may hold
 * `{ seed?: integer 0..2147483647, volume?: peak level in (0, 1] (default 0.7), mood?: "calm" | "dark" | "bright" }`,
 * which win over what the prompt says.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Audio, FileSource, type Text } from "../../../domain/Asset.js"
import { InvalidInput, type MediaError, ModelNotFound } from "../../../domain/Errors.js"
import type { AudioOptions } from "../../../domain/MediaProvider.js"
import type { ProviderModel } from "../../../domain/Model.js"
import { type AmbientMood, AmbientSpec } from "../../../services/ffmpeg/Api.js"
import type * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"
import type { Deliver } from "./Delivery.js"

/** The model id. */
export const modelId = "ffmpeg-ambient"

/** The longest pad, in seconds. */
export const maxDuration = 600

/** What discovery lists for it. */
export const model: ProviderModel = {
  id: modelId,
  provider,
  name: "FFmpeg ambient pad",
  capabilities: ["text-to-audio"],
  pricing: [],
  free: true,
  limits: { maxDurationSeconds: maxDuration },
  description: "A calm synthesized ambient pad (not AI music): the prompt only picks a calm, dark or bright chord pair. For music beds."
}

/** The options `extra` may hold. */
export const AmbientExtra = Schema.Struct({
  seed: Schema.optional(Schema.Number),
  volume: Schema.optional(Schema.Number),
  mood: Schema.optional(Schema.String)
})

const moodWords: ReadonlyArray<readonly [AmbientMood, RegExp]> = [
  ["dark", /\b(dark|sad|melanchol\w*|tense|mysterious|night|somber|sombre|gloomy|eerie)\b/i],
  ["bright", /\b(bright|happy|upbeat|uplifting|cheerful|sunny|energetic|joyful|optimistic)\b/i]
]

/** The mood a prompt asks for: the first of `dark` or `bright` whose words it uses, else `calm`. */
export const moodOf = (prompt: string): AmbientMood => moodWords.find(([, words]) => words.test(prompt))?.[0] ?? "calm"

/** A seed from a prompt (FNV-1a, 31 bits): the same prompt, the same pad. */
export const seedOf = (prompt: string): number => {
  let hash = 0x811c9dc5
  for (const char of prompt) {
    hash ^= char.codePointAt(0) ?? 0
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash & 0x7fffffff
}

const invalid = (message: string, issues: ReadonlyArray<string>) => new InvalidInput({ provider, detail: message, issues })

const decodeExtra = Schema.decodeUnknownEither(AmbientExtra)
const decodeSpec = Schema.decodeUnknownEither(AmbientSpec)

/** The service's spec for a prompt and its options (pure; the reasons when they are not valid). */
export const ambientSpecOf = (input: Text, options: AudioOptions | undefined): Either.Either<AmbientSpec, InvalidInput> =>
  Either.gen(function* () {
    const extra = yield* Either.mapLeft(decodeExtra(options?.extra ?? {}), (error) =>
      invalid("options.extra is not valid", [ParseResult.TreeFormatter.formatErrorSync(error)])
    )
    const duration = options?.durationSeconds ?? 10
    if (!(duration > 0 && duration <= maxDuration)) {
      return yield* Either.left(invalid(`durationSeconds must be more than 0 and at most ${maxDuration}, got ${duration}`, [`durationSeconds: ${duration}`]))
    }
    // The service's own schema decides what it would refuse (a mood it does not know, a volume out of range ...).
    return yield* Either.mapLeft(
      decodeSpec({
        duration,
        seed: extra.seed ?? seedOf(input.text),
        mood: extra.mood ?? moodOf(input.text),
        ...(extra.volume !== undefined ? { volume: extra.volume } : {})
      }),
      (error) => invalid("the ambient options are not valid", [ParseResult.TreeFormatter.formatErrorSync(error)])
    )
  })

/** Synthesize one pad. */
export const synthesize =
  (client: FFmpegClient.Service, deliver: Deliver) =>
  (id: string, input: Text, options: AudioOptions | undefined): Effect.Effect<Audio, MediaError> =>
    Effect.gen(function* () {
      if (id !== modelId) return yield* new ModelNotFound({ provider, model: id, detail: `no model ${JSON.stringify(id)} for text-to-audio` })
      const spec = yield* ambientSpecOf(input, options)
      const { output, path } = yield* deliver(client.ambient(spec), id)
      return new Audio({
        source: new FileSource({ path }),
        mimeType: "audio/wav",
        duration: output.duration ?? spec.duration,
        ...(output.sampleRate !== undefined ? { sampleRate: output.sampleRate } : {}),
        origin: { provider, model: id, costUsd: 0 }
      })
    })
