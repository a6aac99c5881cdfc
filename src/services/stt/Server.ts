/**
 * The speech-to-text service: whisper-asr-webservice's API (`./Api.ts`) served with
 * pocketsphinx (US English model) as the engine and ffmpeg to decode what is uploaded.
 *
 * How a request is served: the upload is saved under a name the service chooses (the client's
 * file name is only echoed, reduced, in `Content-Disposition`), decoded with ffmpeg to 16 kHz mono
 * WAV (any format ffmpeg reads: wav, mp3, ogg, flac, m4a, webm, video files ...; with
 * `encode=false` the upload must be raw 16 kHz mono s16le PCM, as with the real service), run
 * through `pocketsphinx_continuous -time yes`, and its timed words grouped into sentence-like
 * segments at pauses (`./Transcript.ts`), rendered in the asked `output` format.
 *
 * What the engine does with whisper's parameters:
 * - `language`: only English exists; `en`/`english` (or none) is accepted, anything else is 400;
 * - `task=translate`: English speech is already English: same as `transcribe`;
 * - `word_timestamps`: adds `words` to the json output's segments;
 * - `initial_prompt`, `vad_filter`, `diarize`, `min_speakers`, `max_speakers`: accepted, ignored.
 * - `/detect-language` decodes the audio (so a broken file is still a 400) and answers English
 *   with confidence 1: it is the only language this engine has.
 * - Text is what pocketsphinx hears: lower case, no punctuation.
 *
 * @module
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as NodePath from "node:path"
import { parseWavHeader } from "../../media/Wav.js"
import * as Engine from "../kit/Engine.js"
import { BadRequest, EngineFailed, type PayloadTooLarge, ServiceStartFailed, type Unavailable, type ValidationFailed } from "../kit/Errors.js"
import * as FastApi from "../kit/FastApi.js"
import { healthOf } from "../kit/Health.js"
import * as JobQueue from "../kit/JobQueue.js"
import * as MediaInput from "../kit/MediaInput.js"
import * as Serve from "../kit/Serve.js"
import type { ServerOptions } from "../kit/ServerOptions.js"
import * as Upload from "../kit/Upload.js"
import { SttApi } from "./Api.js"
import { parsePocketsphinx, parseSilences, render, segmentWords, type Transcript, transcriptOf } from "./Transcript.js"

/** Where the engines and the acoustic model are. */
export interface SttEngineConfig {
  /** Default `ffmpeg`. */
  readonly ffmpeg: string
  /** Default `pocketsphinx_continuous` (Debian 12's pocketsphinx 0.8+5prealpha). */
  readonly pocketsphinx: string
  /** The acoustic model directory. Default `/usr/share/pocketsphinx/model/en-us/en-us`. */
  readonly hmm: string
  /** The language model. Default `/usr/share/pocketsphinx/model/en-us/en-us.lm.bin`. */
  readonly lm: string
  /** The pronunciation dictionary. Default `/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict`. */
  readonly dict: string
  /**
   * The longest audio transcribed, in seconds (default 1800): decoding stops there, and longer
   * audio is refused with 400. A small compressed upload can hold hours of sound; without the cap
   * each request wrote all of it, decoded, to disk.
   */
  readonly maxAudioSeconds: number
}

const modelDir = "/usr/share/pocketsphinx/model/en-us"

/** The engine configuration used when none is given (Debian's packages). */
export const defaultEngineConfig: SttEngineConfig = {
  ffmpeg: "ffmpeg",
  pocketsphinx: "pocketsphinx_continuous",
  hmm: `${modelDir}/en-us`,
  lm: `${modelDir}/en-us.lm.bin`,
  dict: `${modelDir}/cmudict-en-us.dict`,
  maxAudioSeconds: 1800
}

/** The engine's name, in `/health` and the `Asr-Engine` header. */
export const engineName = "pocketsphinx-en-us"

interface SttEnvironment extends FastApi.Workspace {
  readonly config: SttEngineConfig
  /** Runs ffmpeg and pocketsphinx within the service's engine timeout. */
  readonly engine: Engine.Runner
  readonly maxBodyBytes: number
}

class SttEnv extends Context.Tag("automarket/services/stt/SttEnv")<SttEnv, SttEnvironment>() {}

const makeEnvironment = (
  options: ServerOptions,
  config: SttEngineConfig
): Effect.Effect<SttEnvironment, ServiceStartFailed, FileSystem.FileSystem | CommandExecutor.CommandExecutor | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (const path of [config.hmm, config.lm, config.dict]) {
      const exists = yield* Effect.orElseSucceed(fs.exists(path), () => false)
      if (!exists) {
        return yield* new ServiceStartFailed({ service: "stt", message: `stt: the pocketsphinx model file ${path} is missing (apt-get install pocketsphinx-en-us)` })
      }
    }
    // Without arguments pocketsphinx_continuous prints its usage and exits 1: started is enough.
    yield* Engine.check("stt", { engine: "pocketsphinx", executable: config.pocketsphinx, args: [] }, { anyExitCode: true })
    yield* Engine.check("stt", { engine: "ffmpeg", executable: config.ffmpeg, args: ["-hide_banner", "-version"] })
    const workspace = yield* FastApi.workspace("stt", options)
    return { ...workspace, config, engine: Engine.serviceRunner(options), maxBodyBytes: options.maxBodyBytes }
  })

/** Engine messages name files in the job directory; clients need not see server paths. */
const hidePaths = (message: string, dir: string): string => message.split(`${dir}${NodePath.sep}`).join("").split(dir).join("")

/**
 * Decode an upload to 16 kHz mono 16-bit WAV; its duration in seconds. Undecodable input, and
 * audio longer than `maxAudioSeconds` (decoding stops just past it), are the client's 400.
 */
const decode = (
  env: SttEnvironment,
  dir: string,
  input: string,
  encode: boolean
): Effect.Effect<{ readonly wav: string; readonly duration: number }, BadRequest | EngineFailed, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const wav = NodePath.join(dir, "audio.wav")
    const raw = encode ? [] : ["-f", "s16le", "-ar", "16000", "-ac", "1"]
    yield* env.engine.run({
      engine: "ffmpeg",
      executable: env.config.ffmpeg,
      // The upload is read as a self-contained media file (raw PCM when told so), never as a
      // playlist naming other files: the transcript is of what was sent, nothing else.
      args: MediaInput.guardInputs([
        ...["-nostdin", "-hide_banner", "-v", "error", "-y", ...raw, "-i", input],
        ...["-vn", "-map_metadata", "-1", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"],
        // A second past the cap: enough to tell audio that is too long, never more written.
        ...["-t", String(env.config.maxAudioSeconds + 1), "-f", "wav", wav]
      ])
    }).pipe(
      Effect.mapError((error) =>
        error.reason !== "exited"
          ? new EngineFailed({ message: `audio decoding failed: ${error.message}` })
          : MediaInput.refusedByPolicy(error.output)
            ? new BadRequest({ message: `audio_file could not be decoded as audio: ${MediaInput.refusedReason}` })
            : new BadRequest({ message: `audio_file could not be decoded as audio: ${hidePaths(error.message, dir)}` })
      )
    )
    const info = yield* Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(wav, { flag: "r" })
        const head = new Uint8Array(512)
        const read = yield* file.read(head)
        const stat = yield* file.stat
        return parseWavHeader(head.subarray(0, Number(read)), Number(stat.size))
      })
    ).pipe(Effect.mapError((error) => new EngineFailed({ message: `audio decoding failed: ${hidePaths(error.message, dir)}` })))
    if (info === undefined) return yield* new EngineFailed({ message: "audio decoding failed: ffmpeg wrote no WAV header" })
    if (info.duration > env.config.maxAudioSeconds) {
      yield* fs.remove(wav).pipe(Effect.ignore)
      return yield* new BadRequest({
        message: `audio_file lasts longer than this service transcribes (at most ${env.config.maxAudioSeconds} seconds)`
      })
    }
    return { wav, duration: info.duration }
  })

/** A pause is at least 0.1 s below -40 dBFS (flite's sentence pauses are about 0.11 s). */
const silenceFilter = "silencedetect=noise=-40dB:d=0.1"

/** Decode and recognise; the transcript with segments inside the audio's duration. */
const transcribe = (
  env: SttEnvironment,
  dir: string,
  input: string,
  encode: boolean
): Effect.Effect<Transcript, BadRequest | EngineFailed, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const { duration, wav } = yield* decode(env, dir, input, encode)
    if (duration < 0.05) return transcriptOf([])
    // Pauses in the audio, for cutting segments; without them segments still follow the recogniser.
    // Read from stderr, all of it: a long recording reports many pauses.
    const silences = yield* env.engine.run(
      {
        engine: "ffmpeg",
        executable: env.config.ffmpeg,
        args: MediaInput.guardInputs(["-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", wav, "-af", silenceFilter, "-f", "null", "-"], ["wav"])
      },
      { stderr: "all" }
    ).pipe(
      Effect.map((output) => parseSilences(output.stderr, duration)),
      Effect.orElseSucceed(() => [])
    )
    const { stdout } = yield* env.engine.run({
      engine: "pocketsphinx",
      executable: env.config.pocketsphinx,
      args: ["-infile", wav, "-hmm", env.config.hmm, "-lm", env.config.lm, "-dict", env.config.dict, "-time", "yes"]
    }).pipe(Effect.mapError((error) => new EngineFailed({ message: `speech recognition failed: ${hidePaths(error.message, dir)}` })))
    return transcriptOf(segmentWords(parsePocketsphinx(stdout), duration, {}, silences))
  })

const englishOnly = (language: string | undefined): Effect.Effect<void, BadRequest> =>
  language === undefined || language.trim() === "" || /^en([-_][a-z]{2})?$|^english$/i.test(language.trim())
    ? Effect.void
    : Effect.fail(
        new BadRequest({
          message: `language '${language}' is not available: this engine (${engineName}) recognises English (en) only`
        })
      )

/** The `audio_file` of a request, stored in `dir` (other parts are read past); 422 without one. */
const receiveAudio = (
  request: HttpServerRequest.HttpServerRequest,
  dir: string,
  maxBytes: number
): Effect.Effect<Upload.Stored, BadRequest | PayloadTooLarge | EngineFailed | ValidationFailed, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    let wanted = true
    const { stored } = yield* Upload.receive(
      request,
      {
        maxBytes,
        expected: 'a multipart/form-data body with a file in "audio_file"',
        file: (part) =>
          Effect.sync(() => {
            if (part.key !== "audio_file" || !wanted) return undefined
            wanted = false
            return NodePath.join(dir, "upload")
          })
      },
      FastApi.uploadRefusals(maxBytes)
    )
    const audio = stored[0]
    if (audio === undefined) return yield* Effect.fail(FastApi.invalid(["body", "audio_file"], "Field required", "missing"))
    return audio
  })

/** What a request of the service may fail with. */
type SttFailure = BadRequest | PayloadTooLarge | EngineFailed | ValidationFailed | Unavailable

/**
 * A request counted in the job queue before its upload is received (and its job directory
 * made, in the request's scope): a full queue is answered 503 with `Retry-After`, nothing stored.
 */
const admitted =
  (env: SttEnvironment, request: HttpServerRequest.HttpServerRequest) =>
  <A, R>(handling: Effect.Effect<A, SttFailure, R>): Effect.Effect<A | HttpServerResponse.HttpServerResponse, SttFailure, R> =>
    env.jobs
      .admit(handling)
      .pipe(Effect.catchTag("QueueFull", (full) => Effect.as(Upload.dropBody(request), JobQueue.fullAnswer(FastApi.respond, full))))

const Handlers = HttpApiBuilder.group(SttApi, "stt", (handlers) =>
  Effect.gen(function* () {
    const env = yield* SttEnv
    return handlers
      .handle("asr", ({ request, urlParams }) =>
        Effect.gen(function* () {
          yield* englishOnly(urlParams.language)
          const dir = yield* env.workDir.scoped
          const upload = yield* receiveAudio(request, dir, env.maxBodyBytes)
          const transcript = yield* env.jobs.run(transcribe(env, dir, upload.path, urlParams.encode ?? true))
          const output = urlParams.output ?? "txt"
          return HttpServerResponse.text(render(transcript, output, { wordTimestamps: urlParams.word_timestamps ?? false }), {
            contentType: "text/plain; charset=utf-8",
            headers: {
              "asr-engine": engineName,
              "content-disposition": `attachment; filename="${Upload.safeBaseName(upload.name)}.${output}"`
            }
          })
        }).pipe(admitted(env, request))
      )
      .handle("detectLanguage", ({ request, urlParams }) =>
        Effect.gen(function* () {
          const dir = yield* env.workDir.scoped
          const upload = yield* receiveAudio(request, dir, env.maxBodyBytes)
          yield* env.jobs.run(decode(env, dir, upload.path, urlParams.encode ?? true))
          return { detected_language: "english", language_code: "en", confidence: 1 }
        }).pipe(admitted(env, request))
      )
      .handle("health", () => Effect.map(env.jobs.counts, (counts) => healthOf("stt", engineName, counts)))
  })
)

/**
 * The STT service as a layer: binds `options.host:options.port` (port 0 picks a free one; read the
 * bound address from the `HttpServer` this layer exposes) and serves until the layer's scope
 * closes, which interrupts running jobs (killing their engine processes) and removes the work
 * files. Fails with `ServiceStartFailed` when pocketsphinx, its model or ffmpeg is missing,
 * `ServeError` when the address cannot be bound. `engine` overrides executables and model paths.
 */
export const layer = (
  options: ServerOptions,
  engine: Partial<SttEngineConfig> = {}
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError | ServiceStartFailed> => {
  const config: SttEngineConfig = { ...defaultEngineConfig, ...engine }
  const environment = Layer.scoped(SttEnv, makeEnvironment(options, config))
  const handlers = HttpApiBuilder.api(SttApi).pipe(Layer.provide(Handlers), Layer.provide(environment))
  return Serve.layer(SttApi, handlers, { service: "stt", server: options, guard: FastApi.guard(options.maxBodyBytes, ["/asr", "/detect-language"]), openApi: true })
}
