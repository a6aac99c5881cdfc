/**
 * The `audio-enhancement` model `ffmpeg-audio`: denoise (afftdn), EBU R128 loudness
 * normalisation to a target LUFS (two-pass loudnorm) and conversion (wav, mp3, opus, flac;
 * sample rate), by the FFmpeg service's `/audio/convert`.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Audio, FileSource } from "../../../domain/Asset.js"
import { InvalidInput, type MediaError, ModelNotFound } from "../../../domain/Errors.js"
import type { EnhancementOptions } from "../../../domain/MediaProvider.js"
import type { ProviderModel } from "../../../domain/Model.js"
import { type AudioFormat, AudioConvertSpec } from "../../../services/ffmpeg/Api.js"
import * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"
import type { Deliver } from "./Delivery.js"
import { uploadOf } from "./Upload.js"

/** The model id. */
export const modelId = "ffmpeg-audio"

/** What discovery lists for it. */
export const model: ProviderModel = {
  id: modelId,
  provider,
  name: "FFmpeg audio enhancer",
  capabilities: ["audio-enhancement"],
  pricing: [],
  free: true,
  description: "Denoise (afftdn), loudness normalisation to a target LUFS (EBU R128), conversion to wav, mp3, opus or flac."
}

const formatsByMime: ReadonlyArray<readonly [RegExp, AudioFormat]> = [
  [/^audio\/(x-)?(wav|wave)$/i, "wav"],
  [/^audio\/(mpeg|mp3)$/i, "mp3"],
  [/^audio\/(ogg|opus)/i, "opus"],
  [/^audio\/(x-)?flac$/i, "flac"],
  [/^audio\/(mp4|aac|m4a|x-m4a)$/i, "aac"]
]

/** The audio format a media type names, if it is one of ours. */
export const formatOf = (mimeType: string): AudioFormat | undefined => formatsByMime.find(([pattern]) => pattern.test(mimeType))?.[1]

const extensions: { readonly [F in AudioFormat]: string } = { wav: "wav", mp3: "mp3", opus: "opus", flac: "flac", aac: "m4a" }

const invalid = (message: string, issues: ReadonlyArray<string>) => new InvalidInput({ provider, detail: message, issues })

/** What is uploaded for the input: a file, bytes, or a URL this client downloads first. */
const inputOf = (input: Audio): Either.Either<{ readonly files: ReadonlyArray<FFmpegClient.UploadFile>; readonly src?: string }, InvalidInput> =>
  Either.map(uploadOf(input.source, "audio", `audio.${extensions[formatOf(input.mimeType) ?? "wav"]}`), (file) => ({ files: [file] }))

/** Enhance and convert one audio asset. */
export const enhance =
  (client: FFmpegClient.Service, deliver: Deliver) =>
  (id: string, input: Audio, options: EnhancementOptions | undefined): Effect.Effect<Audio, MediaError> =>
    Effect.gen(function* () {
      if (id !== modelId) return yield* new ModelNotFound({ provider, model: id, detail: `no model ${JSON.stringify(id)} for audio-enhancement` })
      const source = yield* inputOf(input)
      const format = options?.format ?? formatOf(input.mimeType) ?? "wav"
      const spec = yield* Either.match(
        Schema.encodeEither(AudioConvertSpec)({
          format,
          ...(source.src !== undefined ? { src: source.src } : {}),
          ...(options?.sampleRate !== undefined ? { sampleRate: options.sampleRate } : {}),
          ...(options?.denoise !== undefined ? { denoise: options.denoise } : {}),
          ...(options?.loudnessLufs !== undefined ? { loudness: { targetLufs: options.loudnessLufs } } : {})
        }),
        {
          onLeft: (error) => Effect.fail(invalid("the enhancement options are not valid", [ParseResult.TreeFormatter.formatErrorSync(error)])),
          onRight: Effect.succeed
        }
      )
      const { output, path } = yield* deliver(client.convertAudio(spec, source.files), id)
      return new Audio({
        source: new FileSource({ path }),
        mimeType: output.mimeType,
        ...(output.duration !== undefined ? { duration: output.duration } : {}),
        ...(output.sampleRate !== undefined ? { sampleRate: output.sampleRate } : {}),
        origin: { provider, model: id, costUsd: 0 }
      })
    })
