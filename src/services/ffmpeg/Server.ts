/**
 * The AutoMarket FFmpeg service's server: the routes of `Api.ts` implemented with the real
 * ffmpeg and ffprobe. `layer(options)` binds `options.host` (127.0.0.1 unless told otherwise)
 * and `options.port` (0 picks a free one) and exposes the `HttpServer`, so the caller can read
 * the bound address.
 *
 * - Uploads are received into a per-request job directory inside the work directory, under
 *   generated names; the job directory is removed when the request ends. Results are kept as
 *   `out-*` files until fetched and deleted, expired (`outputTtl`), or the service stops.
 * - A body over `options.maxBodyBytes` is answered 413 (from Content-Length when present, else
 *   while streaming); the rest of such a body is read and dropped, so the client sees the answer.
 * - The generating routes (`/image/slide`, `/audio/ambient`) read a small JSON body themselves
 *   (at most 256 KiB), so a bad one gets the same envelope as every other refusal.
 * - At most `options.concurrency` jobs run at once; the others wait, counted as queued in /health.
 *   Beyond `options.maxQueued` more, a job request is answered 503 with `Retry-After` before its
 *   body is read (its upload is not stored).
 * - When the layer's scope closes, requests in flight are interrupted (their ffmpeg processes are
 *   killed and awaited), they are answered 503, and every file the service wrote is removed.
 *
 * @module
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Composition } from "../../domain/Composition.js"
import * as Engine from "../kit/Engine.js"
import { type BadRequest, capQuotes, EngineFailed, type Internal, NotFound, type PayloadTooLarge, type ServiceStartFailed, Unavailable, UnsupportedMedia } from "../kit/Errors.js"
import * as JobQueue from "../kit/JobQueue.js"
import * as MediaInput from "../kit/MediaInput.js"
import * as Serve from "../kit/Serve.js"
import type { ServerOptions } from "../kit/ServerOptions.js"
import * as Upload from "../kit/Upload.js"
import * as WorkDir from "../kit/WorkDir.js"
import * as Ambient from "./Ambient.js"
import {
  AmbientSpec,
  AudioConvertSpec,
  ComposeSpec,
  ExtractAudioSpec,
  ExtractFrameSpec,
  FFmpegApi,
  FilterSpec,
  type MediaInfo,
  MetadataSpec,
  type OutputFile,
  respond,
  SlideSpec,
  UpscaleSpec
} from "./Api.js"
import { compositionPlan, compositionSources, containers, type InputFile } from "./FilterGraph.js"
import * as Inputs from "./Inputs.js"
import { badRequest, internal, tooLarge } from "./Inputs.js"
import * as Outputs from "./Outputs.js"
import * as PlanRunner from "./PlanRunner.js"
import * as Probe from "./Probe.js"
import * as Recipes from "./Recipes.js"
import * as Slides from "./Slides.js"

/**
 * Limits of the service that `ServerOptions` does not carry. (How long one ffmpeg or ffprobe run
 * may take is `ServerOptions.engineTimeout`, as in every service.)
 */
export interface ServerTuning {
  /** How long an unfetched result is kept. Default 30 minutes. */
  readonly outputTtl?: Duration.DurationInput
  /** Longest the service waits for an input URL to download. Default 5 minutes. */
  readonly fetchTimeout?: Duration.DurationInput
  /**
   * Addresses URL inputs may reach although private or loopback (`Inputs.UrlPolicy`): for tests,
   * which have only loopback. The command line sets none.
   */
  readonly trustedUrlAddresses?: ReadonlyArray<string>
}

type JobError = BadRequest | PayloadTooLarge | UnsupportedMedia | EngineFailed | Internal | Unavailable

type Deps = CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path | HttpClient.HttpClient

interface State {
  readonly options: ServerOptions
  /** Runs ffmpeg and ffprobe within the service's engine timeout. */
  readonly engine: Engine.Runner
  readonly fetchTimeout: Duration.Duration
  /** Which URL inputs are fetched (none unless `options.allowUrlHosts` names hosts). */
  readonly urlPolicy: Inputs.UrlPolicy
  /** Job directories, one a request. */
  readonly workDir: WorkDir.WorkDir<Internal>
  /** The results kept until fetched, expired, or the service stops. */
  readonly outputs: Outputs.Outputs
  /** The font files slides are drawn with (found at start). */
  readonly fonts: Slides.SlideFonts
  /** Requests run as work the service owns (`owned`); their ffmpeg runs wait for a slot (`slot`). */
  readonly jobs: JobQueue.JobQueue
}

class ServiceState extends Context.Tag("automarket/services/ffmpeg/ServiceState")<ServiceState, State>() {}

const unsupported = (message: string) => new UnsupportedMedia({ message })
const ffmpegFailed = (message: string) => new EngineFailed({ message })

// The first installed set of slide fonts; none found: fontconfig's default sans.
const findFonts: Effect.Effect<Slides.SlideFonts, never, FileSystem.FileSystem> = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const exists = (file: string) => fs.exists(file).pipe(Effect.orElseSucceed(() => false))
  for (const fonts of Slides.defaultFontFiles) {
    if (fonts.regular !== undefined && (yield* exists(fonts.regular))) {
      return { regular: fonts.regular, bold: fonts.bold !== undefined && (yield* exists(fonts.bold)) ? fonts.bold : undefined }
    }
  }
  return { regular: undefined, bold: undefined }
})

const stateLayer = (options: ServerOptions, tuning: ServerTuning) =>
  Layer.scoped(
    ServiceState,
    Effect.gen(function* () {
      // A service without its engines cannot do anything: say so at start, not on every request.
      yield* Effect.forEach(["ffmpeg", "ffprobe"], (engine) => Engine.check("ffmpeg", { engine, args: ["-hide_banner", "-version"] }))
      const workDir = yield* WorkDir.make({
        service: "ffmpeg",
        configured: options.workDir,
        jobDirectoryFailed: (reason) => internal(`cannot create a job directory: ${reason}`)
      })
      const outputs = yield* Outputs.make(workDir.root, tuning.outputTtl ?? "30 minutes")
      const fonts = yield* findFonts
      const jobs = yield* JobQueue.make({
        concurrency: options.concurrency,
        maxQueued: options.maxQueued,
        shuttingDown: new Unavailable({ message: "the service is shutting down" })
      })

      return {
        options,
        engine: Engine.serviceRunner(options),
        fetchTimeout: Duration.decode(tuning.fetchTimeout ?? "5 minutes"),
        urlPolicy: urlPolicyOf(options, tuning),
        workDir,
        outputs,
        fonts,
        jobs
      }
    })
  )

// ---------------------------------------------------------------------------------------------
// the steps every job shares
// ---------------------------------------------------------------------------------------------

// Refuse what can be refused from the headers alone: a declared size over the limit, a body that is not a form.
const checkHeaders = (
  request: HttpServerRequest.HttpServerRequest,
  max: number
): Effect.Effect<void, PayloadTooLarge | UnsupportedMedia> => {
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > max) {
    return Effect.fail(tooLarge(`the request body (${declared} bytes) is larger than this service accepts (${max} bytes)`))
  }
  const type = request.headers["content-type"] ?? ""
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(type)) {
    return Effect.fail(unsupported(`the request body must be multipart/form-data (a "spec" field and files), not ${JSON.stringify(type)}`))
  }
  return Effect.void
}

// `what` names where the JSON came from, for messages: the "spec" field, or the request body.
const decodeSpec = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string | undefined,
  required: boolean,
  what = `the "spec" field`
): Effect.Effect<A, BadRequest> => {
  if (text === undefined && required) {
    return Effect.fail(badRequest(`missing the "spec" field: the job's JSON`))
  }
  const source = text ?? "{}"
  let json: unknown
  try {
    json = JSON.parse(source)
  } catch (error) {
    return Effect.fail(badRequest(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`))
  }
  return Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "error" })(json).pipe(
    // Capped: the formatter quotes what was sent, all of it (see `capQuotes`).
    Effect.mapError((error) => badRequest(capQuotes(`${what} is not a valid spec: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)))
  )
}

// ffprobe names the file it read: put the caller's name for it in the message, not our path.
const probeInput = (state: State, path: string, label: string): Effect.Effect<Probe.Probe, UnsupportedMedia, CommandExecutor.CommandExecutor> =>
  Effect.mapError(Probe.probe(state.engine, path), (error) =>
    unsupported(`${label} is not media ffprobe can read: ${error.reason.split(`${path}: `).join("").split(path).join(label)}`)
  )

// Run ffmpeg for a result at `output`; the partial result is removed when it fails. `confined`:
// the arguments carry their own input policy (a segmented composition's join).
const render = (
  state: State,
  args: ReadonlyArray<string>,
  cwd: string,
  output: string,
  confined = false
): Effect.Effect<void, EngineFailed | BadRequest, CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    // ffmpeg's messages name our files: keep the names, drop the work directory's paths.
    const scrubPaths = (text: string) => text.split(`${cwd}${path.sep}`).join("").split(`${path.dirname(output)}${path.sep}`).join("")
    // Every input read as a self-contained media file, never as a list of other files.
    yield* state.engine.run({ engine: "ffmpeg", args: confined ? args : MediaInput.guardInputs(args), cwd }).pipe(
      // A command line the system cannot take comes from a job too large: the caller's 400.
      Effect.mapError((error) =>
        error.reason === "argumentsTooLong"
          ? badRequest(`the job is too large to run: ${error.message}`)
          : ffmpegFailed(scrubPaths(Probe.describeFailure(error)))
      ),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : fs.remove(output).pipe(Effect.ignore)))
    )
  })

// Describe a finished result; an empty one counts as an ffmpeg failure.
const finish = (
  state: State,
  name: string,
  path: string,
  mimeType: string
): Effect.Effect<OutputFile, EngineFailed, CommandExecutor.CommandExecutor | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const size = yield* fs.stat(path).pipe(
      Effect.map((info) => Number(info.size)),
      Effect.orElseSucceed(() => 0)
    )
    if (size === 0) {
      yield* fs.remove(path).pipe(Effect.ignore)
      return yield* Effect.fail(ffmpegFailed("ffmpeg finished but wrote nothing"))
    }
    const facts = yield* Effect.option(Probe.probe(state.engine, path))
    const info = Option.getOrUndefined(facts)
    return {
      name,
      url: `/outputs/${name}`,
      mimeType,
      size,
      ...(info?.duration !== undefined ? { duration: info.duration } : {}),
      ...(info?.width !== undefined ? { width: info.width } : {}),
      ...(info?.height !== undefined ? { height: info.height } : {}),
      ...(info?.fps !== undefined ? { fps: info.fps } : {}),
      ...(info?.sampleRate !== undefined ? { sampleRate: info.sampleRate } : {}),
      ...(info?.channels !== undefined ? { channels: info.channels } : {}),
      ...(info?.videoCodec !== undefined ? { videoCodec: info.videoCodec } : {}),
      ...(info?.audioCodec !== undefined ? { audioCodec: info.audioCodec } : {})
    }
  })

type JobWork<S, A> = (spec: S, received: Inputs.Received, dir: string) => Effect.Effect<A, JobError, Deps>

/**
 * A job route: check the declared size, receive the upload into a fresh job directory, decode
 * the spec, run the work; the job directory goes when the request ends, whatever happened.
 */
const jobRoute =
  <S, I, A>(schema: Schema.Schema<S, I>, specRequired: boolean, work: JobWork<S, A>) =>
  ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }): Effect.Effect<
    { readonly success: true; readonly data: A } | HttpServerResponse.HttpServerResponse,
    JobError,
    ServiceState | Deps
  > =>
    Effect.flatMap(ServiceState, (state) =>
      state.jobs
        .admit(
          state.jobs.owned(
            Effect.scoped(
              Effect.gen(function* () {
                const max = state.options.maxBodyBytes
                yield* checkHeaders(request, max).pipe(Effect.tapError(() => Upload.dropBody(request)))
                const dir = yield* state.workDir.scoped
                const received = yield* Inputs.receive(request, dir, max)
                const spec = yield* decodeSpec(schema, received.spec, specRequired)
                const data = yield* work(spec, received, dir)
                return { success: true as const, data }
              })
            )
          )
        )
        .pipe(Effect.catchTag("QueueFull", (full) => Effect.as(Upload.dropBody(request), JobQueue.fullAnswer(respond, full))))
    ).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.zipRight(
          Effect.logError("ffmpeg service: unexpected failure", defect),
          Effect.fail(internal(`unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`))
        )
      )
    )

// How a job's URL inputs are fetched: the policy, one budget of maxBodyBytes for all of them.
const urlInputs = (state: State) => ({ policy: state.urlPolicy, maxBytes: state.options.maxBodyBytes, fetchTimeout: state.fetchTimeout })

const urlPolicyOf = (options: ServerOptions, tuning: ServerTuning): Inputs.UrlPolicy => ({
  hosts: options.allowUrlHosts ?? [],
  trustedAddresses: tuning.trustedUrlAddresses ?? []
})

// The one input of a single-input job: `spec.src`, or the only uploaded file.
const singleInput = (
  state: State,
  src: string | undefined,
  received: Inputs.Received,
  dir: string
): Effect.Effect<{ readonly path: string; readonly label: string }, BadRequest | PayloadTooLarge, Deps> => {
  if (src !== undefined) {
    return Effect.map(
      Inputs.resolveSources([src], received, dir, urlInputs(state)),
      (paths) => ({ path: paths.get(src)!, label: JSON.stringify(src) })
    )
  }
  const files = [...received.files.values()]
  if (files.length !== 1) {
    return Effect.fail(badRequest(`upload exactly one file (or name the input with "src" in the spec); got ${files.length}`))
  }
  return Effect.succeed({ path: files[0]!.path, label: JSON.stringify(files[0]!.key) })
}

const fromRecipe = (recipe: Either.Either<Recipes.Recipe, string>): Effect.Effect<Recipes.Recipe, BadRequest> =>
  Either.match(recipe, { onLeft: (issue) => Effect.fail(badRequest(issue)), onRight: Effect.succeed })

// ---------------------------------------------------------------------------------------------
// the jobs
// ---------------------------------------------------------------------------------------------

const compose = (state: State): JobWork<Composition, { readonly output: OutputFile }> => (spec, received, dir) =>
  Effect.gen(function* () {
    const sources = compositionSources(spec)
    const paths = yield* Inputs.resolveSources(sources, received, dir, urlInputs(state))
    return yield* state.jobs.slot(
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const inputs = new Map<string, InputFile>()
        for (const src of sources) {
          const file = paths.get(src)!
          inputs.set(src, { path: file, facts: yield* probeInput(state, file, JSON.stringify(src)) })
        }
        const output = yield* state.outputs.create(containers[spec.output.format].extension)
        const plan = yield* Either.match(compositionPlan(spec, inputs, output.path), {
          onLeft: (issues) => Effect.fail(badRequest(`the composition cannot be rendered: ${issues.join("; ")}`)),
          onRight: Effect.succeed
        })
        for (const text of plan.textFiles) {
          yield* fs.writeFileString(path.join(dir, text.name), text.text).pipe(Effect.mapError((e) => internal(e.message)))
        }
        // A long composition runs as segments and a join (PlanRunner), each an ffmpeg of its own.
        yield* PlanRunner.runPlan(plan, dir, output.path, (args, file, confined) => render(state, args, dir, file, confined))
        return { output: yield* finish(state, output.name, output.path, plan.mimeType) }
      })
    )
  })

const singleJob =
  <S extends { readonly src?: string | undefined }>(
    state: State,
    needs: "audio" | "video",
    recipe: (spec: S, input: string, facts: Probe.Probe, output: string) => Either.Either<Recipes.Recipe, string>,
    extension: (spec: S) => string
  ): JobWork<S, { readonly output: OutputFile }> =>
  (spec, received, dir) =>
    Effect.gen(function* () {
      const input = yield* singleInput(state, spec.src, received, dir)
      return yield* state.jobs.slot(
        Effect.gen(function* () {
          const facts = yield* probeInput(state, input.path, input.label)
          if (needs === "audio" ? !facts.hasAudio : !facts.hasVideo) {
            return yield* Effect.fail(unsupported(`${input.label} has no ${needs} stream`))
          }
          const output = yield* state.outputs.create(extension(spec))
          const planned = yield* fromRecipe(recipe(spec, input.path, facts, output.path))
          yield* render(state, planned.args, dir, output.path)
          return { output: yield* finish(state, output.name, output.path, planned.mimeType) }
        })
      )
    })

const convert = (state: State): JobWork<AudioConvertSpec, { readonly output: OutputFile; readonly measuredLufs?: number }> =>
  (spec, received, dir) =>
    Effect.gen(function* () {
      const input = yield* singleInput(state, spec.src, received, dir)
      return yield* state.jobs.slot(
        Effect.gen(function* () {
          const facts = yield* probeInput(state, input.path, input.label)
          if (!facts.hasAudio) return yield* Effect.fail(unsupported(`${input.label} has no audio stream`))
          // Measuring passes: the noise floor for the denoiser, then the loudness (after denoising).
          const measure = (args: ReadonlyArray<string>) =>
            state.engine.run({ engine: "ffmpeg", args: MediaInput.guardInputs(args), cwd: dir }).pipe(
              Effect.map((result) => result.stderr),
              Effect.mapError((error) => ffmpegFailed(Probe.describeFailure(error)))
            )
          const noiseFloor =
            spec.denoise === true ? Recipes.parseNoiseFloor(yield* measure(Recipes.measureNoiseFloor(input.path))) : undefined
          const measured =
            spec.loudness === undefined
              ? undefined
              : Recipes.parseLoudness(yield* measure(Recipes.measureLoudness(spec, input.path, noiseFloor)))
          const output = yield* state.outputs.create(Recipes.audioFormats[spec.format ?? "wav"].extension)
          const planned = yield* fromRecipe(Recipes.convertAudio(spec, input.path, facts, { loudness: measured, noiseFloor }, output.path))
          yield* render(state, planned.args, dir, output.path)
          const file = yield* finish(state, output.name, output.path, planned.mimeType)
          return { output: file, ...(measured !== undefined ? { measuredLufs: measured.inputI } : {}) }
        })
      )
    })

const metadata = (state: State): JobWork<MetadataSpec, MediaInfo> => (spec, received, dir) =>
  Effect.gen(function* () {
    const input = yield* singleInput(state, spec.src, received, dir)
    const fs = yield* FileSystem.FileSystem
    const facts = yield* state.jobs.slot(probeInput(state, input.path, input.label))
    const size = yield* fs.stat(input.path).pipe(
      Effect.map((info) => Number(info.size)),
      Effect.orElseSucceed(() => 0)
    )
    return {
      format: facts.format,
      size,
      hasVideo: facts.hasVideo,
      hasAudio: facts.hasAudio,
      ...(facts.duration !== undefined ? { duration: facts.duration } : {}),
      ...(facts.bitRate !== undefined ? { bitRate: facts.bitRate } : {}),
      ...(facts.width !== undefined ? { width: facts.width } : {}),
      ...(facts.height !== undefined ? { height: facts.height } : {}),
      ...(facts.fps !== undefined ? { fps: facts.fps } : {}),
      ...(facts.videoCodec !== undefined ? { videoCodec: facts.videoCodec } : {}),
      ...(facts.audioCodec !== undefined ? { audioCodec: facts.audioCodec } : {}),
      ...(facts.sampleRate !== undefined ? { sampleRate: facts.sampleRate } : {}),
      ...(facts.channels !== undefined ? { channels: facts.channels } : {})
    }
  })

// ---------------------------------------------------------------------------------------------
// the generating routes (JSON bodies, no inputs)
// ---------------------------------------------------------------------------------------------

const maxSpecBytes = 256 * 1024

// Read a JSON body of at most `maxSpecBytes` (413 beyond, 415 when it is not JSON). A body over
// the limit is not buffered, and the rest of it is read and dropped: the client, still sending
// (a chunked body has no length to refuse up front), gets the 413 instead of a reset connection.
const readJson = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<string, BadRequest | PayloadTooLarge | UnsupportedMedia> => {
  const type = request.headers["content-type"] ?? ""
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return Effect.fail(unsupported(`the request body must be JSON (content-type application/json), not ${JSON.stringify(type.slice(0, 100))}`))
  }
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxSpecBytes) {
    return Effect.fail(tooLarge(`the request body (${declared} bytes) is larger than this route accepts (${maxSpecBytes} bytes)`))
  }
  return Upload.readBounded(request, maxSpecBytes).pipe(
    Effect.mapError((error) => badRequest(`could not read the request body: ${error.message}`)),
    Effect.flatMap((bytes) =>
      bytes === undefined
        ? Effect.fail(tooLarge(`the request body is larger than this route accepts (${maxSpecBytes} bytes)`))
        : Effect.succeed(Buffer.from(bytes).toString("utf8"))
    )
  )
}

type GeneratorWork<S> = (spec: S, dir: string) => Effect.Effect<{ readonly output: OutputFile }, JobError, Deps>

/**
 * A generating route: read and decode the JSON spec (refusals in the service's envelope), run
 * the work in a fresh job directory, removed when the request ends.
 */
const generatorRoute =
  <S, I>(schema: Schema.Schema<S, I>, work: GeneratorWork<S>) =>
  ({
    request
  }: {
    readonly request: HttpServerRequest.HttpServerRequest
  }): Effect.Effect<
    { readonly success: true; readonly data: { readonly output: OutputFile } } | HttpServerResponse.HttpServerResponse,
    JobError,
    ServiceState | Deps
  > =>
    Effect.flatMap(ServiceState, (state) =>
      state.jobs
        .admit(
          state.jobs.owned(
            Effect.scoped(
              Effect.gen(function* () {
                const text = yield* readJson(request).pipe(Effect.tapError(() => Upload.dropBody(request)))
                const spec = yield* decodeSpec(schema, text, true, "the request body")
                const dir = yield* state.workDir.scoped
                return { success: true as const, data: yield* work(spec, dir) }
              })
            )
          )
        )
        .pipe(Effect.catchTag("QueueFull", (full) => Effect.as(Upload.dropBody(request), JobQueue.fullAnswer(respond, full))))
    ).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.zipRight(
          Effect.logError("ffmpeg service: unexpected failure", defect),
          Effect.fail(internal(`unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`))
        )
      )
    )

const slide = (state: State): GeneratorWork<SlideSpec> => (spec, dir) =>
  state.jobs.slot(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const output = yield* state.outputs.create("png")
      const plan = yield* Either.match(Slides.slidePlan(spec, output.path, state.fonts), {
        onLeft: (issue) => Effect.fail(badRequest(issue)),
        onRight: Effect.succeed
      })
      for (const text of plan.textFiles) {
        yield* fs.writeFileString(path.join(dir, text.name), text.text).pipe(Effect.mapError((e) => internal(e.message)))
      }
      yield* render(state, plan.args, dir, output.path)
      return { output: yield* finish(state, output.name, output.path, plan.mimeType) }
    })
  )

const ambient = (state: State): GeneratorWork<AmbientSpec> => (spec, dir) =>
  state.jobs.slot(
    Effect.gen(function* () {
      const output = yield* state.outputs.create("wav")
      const plan = Ambient.ambientPlan(spec, output.path)
      yield* render(state, plan.args, dir, output.path)
      return { output: yield* finish(state, output.name, output.path, plan.mimeType) }
    })
  )

// ---------------------------------------------------------------------------------------------
// route groups
// ---------------------------------------------------------------------------------------------

const VideoLive = HttpApiBuilder.group(FFmpegApi, "video", (handlers) =>
  Effect.map(ServiceState, (state) =>
    handlers
      .handle("compose", jobRoute(ComposeSpec, true, compose(state)))
      .handle(
        "extractAudio",
        jobRoute(ExtractAudioSpec, false, singleJob(state, "audio", Recipes.extractAudio, (spec) => Recipes.audioFormats[spec.format ?? "wav"].extension))
      )
      .handle(
        "filter",
        jobRoute(FilterSpec, true, singleJob(state, "video", Recipes.filter, (spec) => containers[spec.output?.format ?? "mp4"].extension))
      )
      .handle("metadata", jobRoute(MetadataSpec, false, metadata(state)))
      .handle("extractFrame", jobRoute(ExtractFrameSpec, false, singleJob(state, "video", Recipes.extractFrame, (spec) => spec.format ?? "png")))
  )
)

const AudioLive = HttpApiBuilder.group(FFmpegApi, "audio", (handlers) =>
  Effect.map(ServiceState, (state) =>
    handlers
      .handle("convert", jobRoute(AudioConvertSpec, false, convert(state)))
      .handleRaw("ambient", generatorRoute(AmbientSpec, ambient(state)))
  )
)

const ImageLive = HttpApiBuilder.group(FFmpegApi, "image", (handlers) =>
  Effect.map(ServiceState, (state) =>
    handlers
      .handleRaw("slide", generatorRoute(SlideSpec, slide(state)))
      // A picture is read as a one-frame video stream: the same single-input job as a frame's.
      .handle("upscale", jobRoute(UpscaleSpec, false, singleJob(state, "video", Recipes.upscale, (spec) => spec.format ?? "png")))
  )
)

const contentTypes: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  webm: "video/webm",
  mkv: "video/x-matroska",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  flac: "audio/flac",
  m4a: "audio/mp4",
  png: "image/png",
  jpg: "image/jpeg"
}

const notFound = (name: string) => new NotFound({ message: `no output named ${JSON.stringify(name)}` })

const OutputsLive = HttpApiBuilder.group(FFmpegApi, "outputs", (handlers) =>
  Effect.map(ServiceState, (state) =>
    handlers
      .handle("download", ({ path }) =>
        Effect.flatMap(state.outputs.find(path.name), (found) =>
          Option.match(found, {
            onNone: () => Effect.fail(notFound(path.name)),
            onSome: (file) =>
              HttpServerResponse.file(file, {
                contentType: contentTypes[path.name.slice(path.name.lastIndexOf(".") + 1)] ?? "application/octet-stream"
              }).pipe(Effect.mapError(() => notFound(path.name)))
          })
        )
      )
      .handle("remove", ({ path }) =>
        Effect.flatMap(state.outputs.find(path.name), (found) =>
          Option.match(found, {
            onNone: () => Effect.fail(notFound(path.name)),
            onSome: (file) =>
              Effect.flatMap(FileSystem.FileSystem, (fs) => fs.remove(file)).pipe(
                Effect.mapError(() => notFound(path.name)),
                Effect.as({ success: true as const, data: { deleted: path.name } })
              )
          })
        )
      )
  )
)

const SystemLive = HttpApiBuilder.group(FFmpegApi, "system", (handlers) =>
  Effect.map(ServiceState, (state) =>
    handlers.handle("health", () =>
      Effect.map(state.jobs.counts, (counts) => ({
        status: "healthy" as const,
        service: "ffmpeg" as const,
        uptime: counts.uptime,
        activeJobs: counts.activeJobs,
        queuedJobs: counts.queuedJobs,
        limits: { maxBodyBytes: state.options.maxBodyBytes, concurrency: state.options.concurrency }
      }))
    )
  )
)

/**
 * The FFmpeg service listening on `options.host:options.port`. The layer exposes the
 * `HttpServer` (read the bound address with `HttpServer.addressWith`); closing its scope stops
 * running jobs and removes the service's files. Fails with `ServiceStartFailed` when ffmpeg or
 * ffprobe cannot be run or the work directory cannot be made, `ServeError` when the address
 * cannot be bound.
 */
export const layer = (
  options: ServerOptions,
  tuning: ServerTuning = {}
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError | ServiceStartFailed> => {
  const handlers = HttpApiBuilder.api(FFmpegApi).pipe(
    Layer.provide([VideoLive, AudioLive, ImageLive, OutputsLive, SystemLive]),
    Layer.provide(stateLayer(options, tuning)),
    // Fetches the inputs a spec names by URL, connecting only to the addresses its policy allows.
    Layer.provide(Inputs.fetchClientLayer(urlPolicyOf(options, tuning)))
  )
  // The routes bound their own bodies (uploads at maxBodyBytes, JSON specs at 256 KiB) and
  // refuse in the envelope: the guard has nothing more to check yet.
  return Serve.layer(FFmpegApi, handlers, { service: "ffmpeg", server: options, guard: { respond } })
}
