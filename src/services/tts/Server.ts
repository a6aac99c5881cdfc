/**
 * The text-to-speech service: Chatterbox TTS Server's API (`./Api.ts`) served with `flite` as
 * the engine and `ffmpeg` for mp3 and Ogg Opus output.
 *
 * What the engine does with Chatterbox's parameters:
 * - voices: flite's voices as predefined voices (`slt.wav`, `rms.wav`, ...; see `./Voices.ts`);
 * - `speed_factor` / `speed`: flite's `duration_stretch` (1 / speed), 0.25 to 4;
 * - `output_format` / `response_format`: `wav` is flite's 16-bit PCM (16 kHz mono; 8 kHz for
 *   `kal`), `mp3` (libmp3lame, 96 kb/s) and `opus` (libopus in Ogg, 48 kb/s) are converted with
 *   ffmpeg (lower rates measurably hurt speech recognition of the result);
 * - `voice_mode: "clone"`, `reference_audio_filename` and `/upload_reference`: 400, flite cannot
 *   clone a voice;
 * - `language`: English only (`en`, `en-US`, ...); anything else is 400;
 * - `split_text`, `chunk_size`, `temperature`, `exaggeration`, `cfg_weight`, `seed`, `model`:
 *   accepted and ignored (flite is deterministic and reads any length of text).
 *
 * Each request gets its own directory under the work directory, removed once the answer is
 * sent; engine processes run through the job queue and are killed when the service stops.
 *
 * @module
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpPlatform from "@effect/platform/HttpPlatform"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as NodePath from "node:path"
import * as Engine from "../kit/Engine.js"
import { BadRequest, EngineFailed, NotFound, ServiceStartFailed, type Unavailable } from "../kit/Errors.js"
import * as FastApi from "../kit/FastApi.js"
import { healthOf } from "../kit/Health.js"
import * as JobQueue from "../kit/JobQueue.js"
import * as MediaInput from "../kit/MediaInput.js"
import * as Serve from "../kit/Serve.js"
import type { ServerOptions } from "../kit/ServerOptions.js"
import * as Upload from "../kit/Upload.js"
import { contentTypeOf, type OutputFormat, TtsApi, UploadRejected } from "./Api.js"
import { type FliteVoice, parseVoiceList, resolveVoice, voicesFrom } from "./Voices.js"

/** The engine executables (names looked up on PATH, or paths). */
export interface TtsEngineConfig {
  /** Default `flite`. */
  readonly flite: string
  /** Default `ffmpeg`. */
  readonly ffmpeg: string
}

/** The engine configuration used when none is given. */
export const defaultEngineConfig: TtsEngineConfig = { flite: "flite", ffmpeg: "ffmpeg" }

interface TtsEnvironment extends FastApi.Workspace {
  readonly config: TtsEngineConfig
  /** Runs flite and ffmpeg within the service's engine timeout. */
  readonly engine: Engine.Runner
  readonly voices: ReadonlyArray<FliteVoice>
  readonly maxBodyBytes: number
}

class TtsEnv extends Context.Tag("automarket/services/tts/TtsEnv")<TtsEnv, TtsEnvironment>() {}

const makeEnvironment = (
  options: ServerOptions,
  config: TtsEngineConfig
): Effect.Effect<TtsEnvironment, ServiceStartFailed, FileSystem.FileSystem | CommandExecutor.CommandExecutor | Scope.Scope> =>
  Effect.gen(function* () {
    const listed = yield* Engine.check("tts", { engine: "flite", executable: config.flite, args: ["-lv"] })
    const voices = voicesFrom(parseVoiceList(listed.stdout))
    if (voices.length === 0) {
      return yield* new ServiceStartFailed({ service: "tts", message: `tts: flite lists no usable voice: ${listed.stdout.trim()}` })
    }
    yield* Engine.check("tts", { engine: "ffmpeg", executable: config.ffmpeg, args: ["-hide_banner", "-version"] })
    const workspace = yield* FastApi.workspace("tts", options)
    return { ...workspace, config, engine: Engine.serviceRunner(options), voices, maxBodyBytes: options.maxBodyBytes }
  })

/** A synthesis job, after validation. */
interface Synthesis {
  readonly text: string
  readonly voice: FliteVoice
  readonly format: OutputFormat
  readonly speed: number
}

const codecArgs: { readonly [F in Exclude<OutputFormat, "wav">]: ReadonlyArray<string> } = {
  mp3: ["-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3"],
  opus: ["-c:a", "libopus", "-b:a", "48k", "-f", "ogg"]
}

const engineFailed = (error: { readonly message: string }) => new EngineFailed({ message: `speech synthesis failed: ${error.message}` })

/** Run flite (and ffmpeg) in `dir`; the path of the finished file. */
const render = (
  env: TtsEnvironment,
  dir: string,
  job: Synthesis
): Effect.Effect<string, EngineFailed, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const textPath = NodePath.join(dir, "input.txt")
    yield* fs.writeFileString(textPath, job.text).pipe(Effect.mapError(engineFailed))
    const wav = NodePath.join(dir, "speech.wav")
    const stretch = job.speed === 1 ? [] : ["--setf", `duration_stretch=${(1 / job.speed).toFixed(4)}`]
    yield* env.engine.run({ engine: "flite", executable: env.config.flite, args: ["-voice", job.voice.id, ...stretch, "-f", textPath, "-o", wav] }).pipe(
      Effect.mapError(engineFailed)
    )
    if (job.format === "wav") return wav
    const out = NodePath.join(dir, `speech.${job.format}`)
    yield* env.engine.run({
      engine: "ffmpeg",
      executable: env.config.ffmpeg,
      // flite's own WAV, read as that and nothing else.
      args: MediaInput.guardInputs(["-nostdin", "-hide_banner", "-v", "error", "-y", "-i", wav, "-vn", ...codecArgs[job.format], out], ["wav"])
    }).pipe(Effect.mapError(engineFailed))
    return out
  })

/** Synthesize and answer with the audio file, streamed; the job directory goes when the answer is sent. */
const synthesize = (
  job: Synthesis
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  EngineFailed | Unavailable,
  TtsEnv | FileSystem.FileSystem | CommandExecutor.CommandExecutor | HttpPlatform.HttpPlatform | Scope.Scope
> =>
  Effect.flatMap(TtsEnv, (env) =>
    env.jobs
      .admit(
        Effect.gen(function* () {
          const dir = yield* env.workDir.scoped
          const file = yield* env.jobs.run(render(env, dir, job))
          return yield* HttpServerResponse.file(file, {
            headers: {
              "content-type": contentTypeOf(job.format),
              "content-disposition": `attachment; filename="tts_output_${Date.now()}.${job.format}"`
            }
          }).pipe(Effect.mapError(engineFailed))
        })
      )
      // A full queue: 503 with Retry-After, as in every service.
      .pipe(Effect.catchTag("QueueFull", (full) => Effect.succeed(JobQueue.fullAnswer(FastApi.respond, full))))
  )

const cannotClone = new BadRequest({
  message:
    "voice cloning is not supported: this server's engine (flite) cannot clone a voice from reference audio; " +
    "use voice_mode \"predefined\" with a voice from /get_predefined_voices"
})

const englishOnly = (language: string | null | undefined): Effect.Effect<void, BadRequest> =>
  language === undefined || language === null || language.trim() === "" || /^en([-_][a-z]{2})?$|^english$/i.test(language.trim())
    ? Effect.void
    : Effect.fail(new BadRequest({ message: `language '${language}' is not available: this engine (flite) speaks English only` }))

const nonEmpty = (text: string, field: string): Effect.Effect<string, BadRequest> =>
  text.trim() === "" ? Effect.fail(new BadRequest({ message: `${field} is empty: nothing to say` })) : Effect.succeed(text)

const findVoice = (voices: ReadonlyArray<FliteVoice>, requested: string): Effect.Effect<FliteVoice, NotFound> => {
  const voice = resolveVoice(voices, requested)
  return voice !== undefined
    ? Effect.succeed(voice)
    : Effect.fail(
        new NotFound({
          message: `Voice file '${requested}' not found. Predefined voices: ${voices.map((v) => v.filename).join(", ")}`
        })
      )
}

const Handlers = HttpApiBuilder.group(TtsApi, "tts", (handlers) =>
  Effect.gen(function* () {
    const env = yield* TtsEnv
    return handlers
      .handle("tts", ({ payload }) =>
        Effect.gen(function* () {
          if (payload.voice_mode === "clone") return yield* Effect.fail(cannotClone)
          const voiceId = payload.predefined_voice_id
          if (voiceId === undefined || voiceId === null || voiceId.trim() === "") {
            return yield* Effect.fail(new BadRequest({ message: "predefined_voice_id is required when voice_mode is 'predefined'" }))
          }
          yield* englishOnly(payload.language)
          const text = yield* nonEmpty(payload.text, "text")
          const voice = yield* findVoice(env.voices, voiceId)
          return yield* synthesize({ text, voice, format: payload.output_format ?? "wav", speed: payload.speed_factor ?? 1 })
        })
      )
      .handle("speech", ({ payload }) =>
        Effect.gen(function* () {
          const text = yield* nonEmpty(payload.input, "input")
          const voice = yield* findVoice(env.voices, payload.voice)
          return yield* synthesize({ text, voice, format: payload.response_format ?? "wav", speed: payload.speed ?? 1 })
        })
      )
      .handle("predefinedVoices", () =>
        Effect.succeed(env.voices.map((voice) => ({ display_name: voice.displayName, filename: voice.filename })))
      )
      .handle("voices", () => Effect.succeed({ status: "ok" as const, voices: env.voices.map((voice) => voice.filename) }))
      .handle("referenceFiles", () => Effect.succeed([]))
      .handle("modelInfo", () =>
        Effect.succeed({
          loaded: true,
          type: null,
          class_name: "flite",
          device: "cpu",
          sample_rate: 16000,
          supports_paralinguistic_tags: false,
          available_paralinguistic_tags: [],
          turbo_available_in_package: false,
          multilingual_available_in_package: false,
          supports_multilingual: false,
          supported_languages: { en: "English" }
        })
      )
      .handle("uploadReference", ({ request }) =>
        Effect.gen(function* () {
          // Nothing is stored: every file is read past, for its name.
          const { skipped } = yield* Upload.receive(
            request,
            { maxBytes: env.maxBodyBytes, file: () => Effect.succeed(undefined) },
            FastApi.uploadRefusals(env.maxBodyBytes)
          ).pipe(
            Effect.mapError(
              (error) =>
                new UploadRejected({ message: error.message, uploaded_files: [], all_reference_files: [], errors: [] })
            )
          )
          return yield* Effect.fail(new UploadRejected({
            message: "No reference audio was stored: this server's engine (flite) cannot clone voices.",
            uploaded_files: [],
            all_reference_files: [],
            errors: skipped.map(({ name }) => ({
              filename: name.split(/[\\/]/).pop() ?? "",
              error: "voice cloning is not supported by this engine (flite)"
            }))
          }))
        })
      )
      .handle("health", () => Effect.map(env.jobs.counts, (counts) => healthOf("tts", "flite", counts)))
  })
)

/**
 * The TTS service as a layer: binds `options.host:options.port` (port 0 picks a free one; read the
 * bound address from the `HttpServer` this layer exposes) and serves until the layer's scope
 * closes, which interrupts running jobs (killing their engine processes) and removes the work
 * files. Fails with `ServiceStartFailed` when flite or ffmpeg cannot be run, `ServeError` when the
 * address cannot be bound. `engine` overrides the executables (tests use it to make the engine fail).
 */
export const layer = (
  options: ServerOptions,
  engine: Partial<TtsEngineConfig> = {}
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError | ServiceStartFailed> => {
  const config: TtsEngineConfig = { ...defaultEngineConfig, ...engine }
  const environment = Layer.scoped(TtsEnv, makeEnvironment(options, config))
  const handlers = HttpApiBuilder.api(TtsApi).pipe(Layer.provide(Handlers), Layer.provide(environment))
  return Serve.layer(TtsApi, handlers, { service: "tts", server: options, guard: FastApi.guard(options.maxBodyBytes, ["/upload_reference"]), openApi: true })
}
