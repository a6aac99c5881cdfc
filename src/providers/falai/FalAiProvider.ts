/**
 * The fal.ai provider: text-to-image, image-to-image, image-upscaling, text-to-video,
 * image-to-video, video-to-video, text-to-audio, text-to-speech and speech-to-text through fal's
 * queue, with progress, cancellation and results streamed to disk.
 *
 * - Configuration: see FalAiConfig (`FALAI_API_KEY` or `FAL_KEY`, `FALAI_BASE_URL`,
 *   `FALAI_PLATFORM_URL`, `FALAI_TIMEOUT`, `FALAI_RETRIES`); `AUTOMARKET_DOWNLOAD_DIR` for
 *   results, `AUTOMARKET_POLL_INTERVAL` for a fixed poll interval (jobs/Settings.ts).
 * - A call submits the job (never twice, see jobs/Run.ts), reports `Submitted`, `Queued`
 *   (with the queue position), `Running` (with fal's log lines), `Completed` and `Downloading`
 *   progress events, fetches the result and downloads its first file; the asset's source is that
 *   file, its origin names the request id. Interrupting the call cancels the fal job once.
 * - Inputs: an image, video or audio input is sent as `image_url`/`video_url`/`audio_url`: its
 *   URL; bytes and local files above 256 KiB (`Uploads.inlineLimitBytes`) are uploaded to fal's
 *   storage first (once a content within the provider's lifetime, see jobs/Uploads.ts) and sent as
 *   the stored file's URL, smaller ones as a data URI. `options.extra` is merged into fal's input as is.
 * - Where endpoints of one capability name a field differently, the model's published schema
 *   decides: the text of speech and sound goes to the `text`, `prompt` or `input` it declares, a
 *   picture to `image_urls: [url]` when it takes that list and no `image_url` (a video likewise to
 *   `video_urls`), an upscaler's factor to the `scale`, `upscale_factor` or `upscaling_factor` it
 *   declares (models/Inputs.ts).
 *   A voice to clone (`referenceAudio`) is InvalidInput: fal's speech endpoints here read text.
 * - Before the submit, the input is checked against the model's published schema (its queue
 *   OpenAPI document, fetched once and kept for the catalog's TTL, see provider/ModelSchemas.ts):
 *   an input it refuses fails with InvalidInput naming each field and rule, and nothing is
 *   submitted. A required field left out gets the schema's default. A model without a schema to
 *   be had is sent unchecked.
 * - A job fal reports as failed fails with GenerationFailed carrying fal's message.
 * - A submit with a deadline (`SubmitControls`) tells fal the seconds left (rounded up) as
 *   `X-Fal-Request-Timeout`: fal ends the job when no runner has started it by then (it reads as
 *   GenerationFailed, `Request timed out`); a job already running is not stopped by it. A
 *   deadline already passed is Timeout, and nothing is sent.
 * - Models: fal's listing (`FALAI_PLATFORM_URL`) merged with the curated table, through the model
 *   catalog (a `Catalog` in context, else one of the provider's own in memory); when the listing
 *   fails the curated table is served and the provider reads degraded until it answers again.
 * - `FalAiJobs` (`jobsLayer`) offers `submit` (a `JobTicket` to keep), `resume(ticket)` (follow,
 *   fetch and download a job submitted earlier, by any process, without submitting again) and
 *   `cancel(ticket)`.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { JobCapability } from "../../domain/Capability.js"
import { InvalidInput, type MediaError } from "../../domain/Errors.js"
import { type InputOf, MediaProvider, type MediaProviderService, type OptionsOf } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import { secondsUntil } from "../../jobs/Deadline.js"
import { follow } from "../../jobs/Follow.js"
import { inputUrlOf } from "../../jobs/Inputs.js"
import { type JobClient, jobTransform, makeJobClient, type JobProtocol } from "../../jobs/JobClient.js"
import { queuedProviderApi } from "../../jobs/QueuedProvider.js"
import { downloadResult, malformedResult, resultReaders } from "../../jobs/Results.js"
import * as Settings from "../../jobs/Settings.js"
import * as Uploads from "../../jobs/Uploads.js"
import type { JobTicket } from "../../jobs/Ticket.js"
import type * as Categorizer from "../../provider/Categorizer.js"
import * as ModelSchemas from "../../provider/ModelSchemas.js"
import * as Provider from "../../provider/Provider.js"
import type * as ProviderConfig from "../../provider/ProviderConfig.js"
import { FalAiClient, layerConfig, ticketOf, toJobStatus } from "./FalAiClient.js"
import * as FalAiConfig from "./FalAiConfig.js"
import { mergeModels, unplacedModels } from "./models/Categories.js"
import { costOf, curatedModels, defaultModels } from "./models/Curated.js"
import * as Inputs from "./models/Inputs.js"
import { resultMedia, transcriptOf } from "./models/Outputs.js"

/** The job API of fal.ai: submit, resume and cancel with `JobTicket`s. */
export class FalAiJobs extends Context.Tag("automarket/FalAiJobs")<FalAiJobs, JobClient>() {}

/** Programmatic settings; each overrides the environment. */
export interface FalAiOptions extends Settings.JobSettings {
  /** Key, base URL, timeout, retries (see ProviderConfig). */
  readonly config?: ProviderConfig.ProviderOverrides
  /** Where the model listing is. Default: `FALAI_PLATFORM_URL`, else see FalAiConfig. */
  readonly platformUrl?: string
}

/** The public queue's base URL. */
export const publicQueueUrl = FalAiConfig.publicQueueUrl
/** The public model listing's base URL. */
export const publicPlatformUrl = FalAiConfig.publicPlatformUrl

type Builders = {
  readonly [C in JobCapability]: (model: string, input: InputOf<C>, options: OptionsOf<C> | undefined) => Effect.Effect<Record<string, unknown>, MediaError>
}

// The input each capability sends; an asset goes as its URL or inlined (jobs/Inputs.ts).
const builders: Builders = {
  "text-to-image": (_model, input, o) => Effect.succeed(Inputs.textToImageInput(input, o)),
  "image-to-image": (_model, input, o) =>
    Effect.map(inputUrlOf(FalAiConfig.settings.id, input.source, input.mimeType), (url) => Inputs.imageToImageInput(url, o)),
  "image-upscaling": (_model, input, o) =>
    Effect.map(inputUrlOf(FalAiConfig.settings.id, input.source, input.mimeType), (url) => Inputs.upscaleInput(url, o)),
  "text-to-video": (model, input, o) => Effect.succeed(Inputs.textToVideoInput(model, input, o)),
  "image-to-video": (model, input, o) =>
    Effect.map(inputUrlOf(FalAiConfig.settings.id, input.source, input.mimeType), (url) => Inputs.imageToVideoInput(model, url, o)),
  "video-to-video": (_model, input, o) =>
    Effect.map(inputUrlOf(FalAiConfig.settings.id, input.source, input.mimeType), (url) => Inputs.videoToVideoInput(url, o)),
  "text-to-audio": (model, input, o) => Effect.succeed(Inputs.textToAudioInput(model, input, o)),
  // fal's speech endpoints read text only: a voice to clone is refused rather than ignored.
  "text-to-speech": (model, input, o) =>
    o?.referenceAudio !== undefined
      ? Effect.fail(
          new InvalidInput({ provider: FalAiConfig.settings.id, detail: `${model} cannot clone a voice`, issues: ["referenceAudio: not supported by fal text-to-speech"] })
        )
      : Effect.succeed(Inputs.textToSpeechInput(model, input, o)),
  "speech-to-text": (_model, input, o) =>
    Effect.map(inputUrlOf(FalAiConfig.settings.id, input.source, input.mimeType), (url) => Inputs.speechToTextInput(url, o))
}

// Speech and sound endpoints name their text three ways, edit endpoints take a list of pictures,
// upscalers name their factor three ways.
const placeBySchema = (capability: JobCapability, input: Readonly<Record<string, unknown>>, properties: ReadonlyArray<string>) => {
  switch (capability) {
    case "text-to-speech":
    case "text-to-audio":
      return Inputs.placeText(input, properties)
    case "image-to-image":
    case "image-to-video":
      return Inputs.placeImage(input, properties)
    case "image-upscaling":
      return Inputs.placeScale(Inputs.placeImage(input, properties), properties)
    case "video-to-video":
      return Inputs.placeVideo(input, properties)
    default:
      return input
  }
}

/** The provider and its job API over the `FalAiClient` in context (results are downloaded with the `HttpClient` in context), with `options`' job settings. */
export const makeFromClient = (
  options: Settings.JobSettings = {}
): Effect.Effect<
  { readonly provider: MediaProviderService; readonly jobs: JobClient; readonly schemas: ModelSchemas.ModelSchemas },
  never,
  FalAiClient | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const client = yield* FalAiClient
    // Result files are downloaded with the HttpClient the provider was made with.
    const httpClient = yield* HttpClient.HttpClient
    const withHttpClient = <A, E>(self: Effect.Effect<A, E, HttpClient.HttpClient>): Effect.Effect<A, E> =>
      Effect.provideService(self, HttpClient.HttpClient, httpClient)
    const { dir, schedule } = yield* Settings.resolve(options)
    const upload = yield* Uploads.make(FalAiConfig.settings.id, client.upload)

    const fetchFile = (ticket: JobTicket, kind: "image" | "video" | "audio", output: unknown) => {
      const media = resultMedia(output, kind)
      if (media === undefined) return Effect.fail(malformedResult(ticket, `the result has no ${kind} file`))
      return withHttpClient(downloadResult(ticket, kind, media, { dir, costUsd: costOf(ticket.model), maxBytes: options.maxDownloadBytes }))
    }
    const readers = resultReaders(fetchFile, transcriptOf)
    const schemas = yield* ModelSchemas.make({ provider: FalAiConfig.settings.id, fetch: client.inputSchema })

    // A fal submit answers the ticket only: every job is followed by polling.
    const protocol: JobProtocol<JobTicket> = {
      provider: FalAiConfig.settings.id,
      missing: client.remote.notConfigured,
      submit: (capability, model, input, opts, controls) =>
        Effect.gen(function* () {
          // A deadline already passed fails before even the schema is asked for.
          yield* secondsUntil(FalAiConfig.settings.id, controls?.deadline)
          // Checked before the submit: an input the model refuses costs no job. Where endpoints of
          // one capability disagree on a field's name, the schema, when published, decides.
          const checker = yield* schemas.checker(model)
          const placedWith = (uploader: Uploads.UploadFile) =>
            Effect.map(builders[capability](model, input, opts).pipe(Uploads.withUploader(uploader)), (built) =>
              Option.match(checker, { onNone: () => built, onSome: (c) => placeBySchema(capability, built, c.properties) })
            )
          // With a schema, checked before any upload: a refused input uploads nothing.
          const prepare = (placed: Record<string, unknown>) => schemas.prepare(model, placed)
          const body = yield* Option.isSome(checker)
            ? Uploads.checkedBeforeUpload(upload, placedWith, prepare)
            : Effect.flatMap(placedWith(upload), prepare)
          const startWithin = yield* secondsUntil(FalAiConfig.settings.id, controls?.deadline)
          let key: string | undefined
          const answer = yield* client.submit(model, body, startWithin, controls?.webhook, (used) => {
            key = used
          })
          const now = yield* Clock.currentTimeMillis
          return ticketOf(client.remote.baseUrl, model, capability, answer, new Date(now), key)
        }),
      ticketOf: (ticket) => ticket,
      run: (capability, ticket, control, _submitted, pace) =>
        follow({ ticket, control, poll: client.status(ticket), statusOf: toJobStatus, schedule, pace }).pipe(
          Effect.zipRight(client.result(ticket)),
          Effect.flatMap((output) => readers[capability](ticket, output))
        ),
      cancel: client.cancel,
      timeout: options.jobTimeout
    }
    const transform = jobTransform(protocol)

    // A failed listing fails discovery: the catalog keeps it from being cached, and the curated
    // table is served as a fallback (degraded health) until a listing answers again.
    const discoverUnplaced: Effect.Effect<Categorizer.Discovery, MediaError> = Effect.map(client.listModels(), (listed) => ({
      models: mergeModels(listed),
      unplaced: unplacedModels(listed)
    }))
    const discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> = Effect.map(discoverUnplaced, (found) => found.models)

    const provider = yield* Provider.make({
      id: FalAiConfig.settings.id,
      name: FalAiConfig.settings.name,
      ...client.remote,
      discover,
      // Models in no category the rules know are categorized by a text model, when one is configured.
      discoverUnplaced,
      inputsOf: (model) => Effect.map(schemas.checker(model), Option.match({ onNone: () => undefined, onSome: (checker) => checker.properties })),
      ownCatalog: true,
      fallbackModels: curatedModels,
      defaultModels,
      transforms: {
        "text-to-image": transform("text-to-image"),
        "image-to-image": transform("image-to-image"),
        "image-upscaling": transform("image-upscaling"),
        "text-to-video": transform("text-to-video"),
        "image-to-video": transform("image-to-video"),
        "video-to-video": transform("video-to-video"),
        "text-to-audio": transform("text-to-audio"),
        "text-to-speech": transform("text-to-speech"),
        "speech-to-text": transform("speech-to-text")
      }
    })
    return { provider, jobs: makeJobClient(protocol), schemas }
  })

/** The provider and its job API, from the environment and `options`. */
export const makeWithJobs = (
  options: FalAiOptions = {}
): Effect.Effect<
  { readonly provider: MediaProviderService; readonly jobs: JobClient; readonly schemas: ModelSchemas.ModelSchemas },
  ConfigError.ConfigError,
  HttpClient.HttpClient
> =>
  Effect.provide(makeFromClient(options), layerConfig(FalAiConfig.fromEnv(options.config, options.platformUrl)))

const api = queuedProviderApi(makeWithJobs, FalAiJobs)

/** The provider, configured from the environment and `options`. */
export const make: (options?: FalAiOptions) => Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient> = api.make

/** The provider as a layer, configured from the environment. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = api.layer

/** The provider with `options` as a layer. */
export const layerWith: (options: FalAiOptions) => Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = api.layerWith

/** The job API (`FalAiJobs`) as a layer, configured from the environment and `options`. */
export const jobsLayer: (options?: FalAiOptions) => Layer.Layer<FalAiJobs, ConfigError.ConfigError, HttpClient.HttpClient> = api.jobsLayer
