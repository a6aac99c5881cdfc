/**
 * The Chatterbox provider: `text-to-speech` through Chatterbox TTS Server's API, served by our
 * local TTS service (flite voices) or, when `CHATTERBOX_DOCKER_URL` is set, by whatever runs
 * there (for example the real GPU container, which can also clone voices).
 *
 * - Models: one a predefined voice of the service (`GET /get_predefined_voices`), its id the
 *   voice's file name (`slt.wav` ... for ours, `Emily.wav` ... for the real server); all free.
 *   The first listed is the default.
 * - Options: `voice` overrides the model's voice (a file name, or a bare name such as `slt` or
 *   `Emily`, looked up among the listed voices); `format` `wav` (default), `mp3` or `opus` (Ogg);
 *   `speed` (0.25 to 4, default 1); `referenceAudio` clones the voice of a WAV or MP3 recording
 *   (judged by its bytes: anything else is `InvalidInput` naming `referenceAudio`, before any
 *   upload), uploaded (`/upload_reference`) once per content and server (see
 *   `ChatterboxClient.reference`), then `/tts` is asked for `voice_mode: "clone"` with it; our
 *   flite service refuses the upload with 400, which is `InvalidInput`. `extra` passes
 *   Chatterbox's own parameters through: `temperature`, `exaggeration`, `cfg_weight`, `seed`,
 *   `language`, `split_text`, `chunk_size`.
 * - Output: an `Audio` whose source is a file (streamed to disk) in `outputDir` (default: the
 *   user's private `chatterbox` folder, see `local/PrivateDir`), with its mime type, duration and
 *   sample rate (read from the WAV header, or with ffprobe for mp3/opus when ffprobe is installed), and
 *   `origin: {provider: "chatterbox", model, costUsd: 0}`.
 * - `isAvailable`: `GET /health`, falling back to `GET /get_predefined_voices` for the real server.
 *
 * @module
 */
import * as Command from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import * as NodePath from "node:path"
import { Audio, fromFile, type Text } from "../../domain/Asset.js"
import { DownloadFailed, InvalidInput, type MediaError } from "../../domain/Errors.js"
import { MediaProvider, type MediaProviderService, type SpeechOptions } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import type * as LocalService from "../../local/LocalService.js"
import * as PrivateDir from "../../local/PrivateDir.js"
import * as Provider from "../../provider/Provider.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import { parseWavHeader } from "../../media/Wav.js"
import * as LocalProvider from "../LocalProvider.js"
import * as ChatterboxClient from "./ChatterboxClient.js"
import * as ChatterboxConfig from "./ChatterboxConfig.js"

/** How the provider is set up. */
export interface ChatterboxOptions {
  /** Where synthesized files are written. Default: the user's private `chatterbox` folder (`ChatterboxConfig.defaultOutputDir`). */
  readonly outputDir?: string
  readonly client?: ChatterboxClient.ChatterboxClientOptions
}

/** The media type of each output format as an asset carries it. */
export const mimeTypes = { wav: "audio/wav", mp3: "audio/mpeg", opus: "audio/ogg" } as const

const providerId = ChatterboxConfig.providerId

const invalid = (message: string): InvalidInput => new InvalidInput({ provider: providerId, detail: message, issues: [message] })

/** Chatterbox's own parameters accepted in `extra`. */
const Extra = Schema.Struct({
  temperature: Schema.optional(Schema.Number),
  exaggeration: Schema.optional(Schema.Number),
  cfg_weight: Schema.optional(Schema.Number),
  seed: Schema.optional(Schema.Int),
  language: Schema.optional(Schema.String),
  split_text: Schema.optional(Schema.Boolean),
  chunk_size: Schema.optional(Schema.Int)
})

const extraOf = (options: SpeechOptions | undefined): Effect.Effect<typeof Extra.Type, InvalidInput> =>
  Effect.mapError(Schema.decodeUnknown(Extra)(options?.extra ?? {}), (error) => invalid(`unsupported extra parameters: ${error.message}`))

/** Seconds and sample rate of a synthesized file: its WAV header, or ffprobe for compressed formats. */
const measure = (path: string): Effect.Effect<{ readonly duration?: number; readonly sampleRate?: number }> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const head = yield* Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(path, { flag: "r" })
        const buffer = new Uint8Array(512)
        const read = yield* file.read(buffer)
        const stat = yield* file.stat
        return { bytes: buffer.subarray(0, Number(read)), size: Number(stat.size) }
      })
    )
    const wav = parseWavHeader(head.bytes, head.size)
    if (wav !== undefined) return { duration: wav.duration, sampleRate: wav.sampleRate }
    const probed = yield* Command.string(
      Command.make("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=sample_rate", "-of", "json", path)
    )
    const json = yield* Schema.decodeUnknown(
      Schema.parseJson(
        Schema.Struct({
          format: Schema.optional(Schema.Struct({ duration: Schema.optional(Schema.NumberFromString) })),
          streams: Schema.optional(Schema.Array(Schema.Struct({ sample_rate: Schema.optional(Schema.NumberFromString) })))
        })
      )
    )(probed)
    const duration = json.format?.duration
    const sampleRate = json.streams?.[0]?.sample_rate
    return { ...(duration !== undefined ? { duration } : {}), ...(sampleRate !== undefined ? { sampleRate } : {}) }
  }).pipe(
    Effect.provide(NodeContext.layer),
    Effect.orElseSucceed(() => ({}))
  )

/** The provider, talking to the service at `location`. */
export const make = (
  location: LocalService.ServiceLocation,
  options: ChatterboxOptions = {}
): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const outputDir = options.outputDir ?? ChatterboxConfig.defaultOutputDir()
    const client = yield* ChatterboxClient.make(location, options.client)

    const discover = yield* LocalProvider.discoverOnce(
      Effect.map(client.voices, (voices) =>
        voices.map(
          (voice): ProviderModel => ({
            id: voice.filename,
            provider: providerId,
            name: voice.display_name,
            capabilities: ["text-to-speech"],
            pricing: [],
            free: true,
            description: `Chatterbox TTS Server voice ${voice.display_name}`
          })
        )
      )
    )

    /** A voice file name: as given when it has an extension, else looked up among the listed voices. */
    const voiceFile = (requested: string): Effect.Effect<string, MediaError> => {
      if (/\.[A-Za-z0-9]+$/.test(requested)) return Effect.succeed(requested)
      const key = requested.toLowerCase()
      return Effect.map(discover, (models) => {
        const found = models.find(
          (m) => m.id.toLowerCase().replace(/\.[^.]*$/, "") === key || m.name.toLowerCase() === key || m.name.toLowerCase().startsWith(`${key} (`)
        )
        return found?.id ?? requested
      })
    }

    const textToSpeech: Provider.Transform<"text-to-speech"> = (modelId: string, input: Text, speech: SpeechOptions | undefined) =>
      Effect.gen(function* () {
        if (input.text.trim() === "") return yield* invalid("the text is empty: nothing to say")
        const format = speech?.format ?? "wav"
        const speed = speech?.speed ?? 1
        if (!(speed >= 0.25 && speed <= 4)) return yield* invalid(`speed must be between 0.25 and 4, not ${speed}`)
        const extra = yield* extraOf(speech)
        const dir = yield* PrivateDir.ensure(outputDir).pipe(
          Effect.mapError((error) => new DownloadFailed({ provider: providerId, detail: `cannot use ${outputDir}: ${error.message}` }))
        )
        const destination = NodePath.join(dir, `chatterbox-${randomUUID()}.${format}`)
        const common = { text: input.text, output_format: format, speed_factor: speed, ...extra }
        const reference = speech?.referenceAudio
        let saved: ChatterboxClient.SavedAudio
        if (reference !== undefined) {
          const stored = yield* client.reference(reference.source, "referenceAudio")
          saved = yield* client.tts({ ...common, voice_mode: "clone", reference_audio_filename: stored }, destination)
        } else {
          const voice = yield* voiceFile(speech?.voice ?? modelId)
          saved = yield* client.tts({ ...common, voice_mode: "predefined", predefined_voice_id: voice }, destination)
        }
        const measured = yield* measure(saved.path)
        return new Audio({
          source: fromFile(saved.path),
          mimeType: mimeTypes[format],
          ...measured,
          origin: { provider: providerId, model: modelId, costUsd: 0 }
        })
      }).pipe(Effect.provide(NodeContext.layer))

    return yield* Provider.make({
      id: providerId,
      name: "Chatterbox TTS (text-to-speech)",
      ...LocalProvider.spec(location, client.probe),
      discover,
      transforms: { "text-to-speech": textToSpeech }
    })
  })

/** The provider as a layer: the service at `CHATTERBOX_DOCKER_URL`, or the embedded TTS service started on first use. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> = Layer.effect(
  MediaProvider,
  Effect.flatMap(ChatterboxConfig.location, (location) => make(location))
)
