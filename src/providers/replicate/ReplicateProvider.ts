/**
 * The Replicate provider: text-to-image, image-to-image, image-upscaling, text-to-video,
 * image-to-video, text-to-audio, text-to-speech and speech-to-text through predictions, with
 * progress, cancellation and results streamed to disk. No video-to-video: Replicate has no
 * collection of such models to list (a job submitted as one fails with CapabilityNotSupported).
 *
 * - Configuration: see ReplicateConfig (`REPLICATE_API_TOKEN`, `REPLICATE_BASE_URL`,
 *   `REPLICATE_TIMEOUT`, `REPLICATE_RETRIES`); `AUTOMARKET_DOWNLOAD_DIR` for results,
 *   `AUTOMARKET_POLL_INTERVAL` for a fixed poll interval (jobs/Settings.ts).
 * - Discovery reads the collections, merged with the curated models, through the model catalog
 *   (a `Catalog` in context, else one of the provider's own in memory); when it fails the curated
 *   models are served and the provider reads degraded until discovery answers again.
 * - Models: `owner/name` (an official model: `POST /models/{owner}/{name}/predictions`),
 *   `owner/name:version` or a bare version id (`POST /predictions` with `version`). Discovery
 *   lists a community model at its latest version (`owner/name:version`, see models/Collections.ts).
 * - Inputs: an image or audio input is sent as its URL; bytes and local files above 256 KiB
 *   (`Uploads.inlineLimitBytes`) are uploaded with the files API first (once a content within the
 *   provider's lifetime, see jobs/Uploads.ts) and sent as the file's `urls.get`, smaller ones as
 *   a data URI. A `find` builds the input the same way: within the provider's lifetime it names
 *   the same file; a provider made anew uploads anew, and an earlier prediction's input (another
 *   file URL) is then not recognised.
 * - Short jobs (images, speech, transcripts) are created with `Prefer: wait=10` (`waitSeconds`):
 *   a prediction finished within the wait needs no poll; one still running when the wait ends is
 *   followed by polling `urls.get` (the wait running out is never a failure). Video and music
 *   are created without waiting, and so is any job submitted with a webhook (`SubmitControls`):
 *   its end comes by the call.
 * - Progress: `Submitted`, `Queued` (starting), `Running` (new log lines, percent parsed from
 *   tqdm-style `45%|` logs), `Completed`, `Downloading`. Interrupting the call cancels the
 *   prediction once (`POST urls.cancel`). A failed prediction fails with GenerationFailed
 *   carrying Replicate's `error`.
 * - Where models of one capability name its picture, recording or text differently (`image`,
 *   `start_image`, `image_input: [url]`, `prompt`, `audio_file` ...), the model's published schema
 *   decides where it goes (`Inputs.placeBySchema`); without a schema it goes as the builder names it.
 * - Before the create, the input is checked against the model's schema (its version's
 *   `components.schemas.Input`, fetched once and kept for the catalog's TTL, see
 *   provider/ModelSchemas.ts): an input it refuses fails with InvalidInput naming each field and
 *   rule, and nothing is sent. A required field left out gets the schema's default (a `find`
 *   compares the same completed input). A bare version id, or a model whose schema cannot be
 *   had, is sent unchecked.
 * - `ReplicateJobs` (`jobsLayer`): `submit`, `resume(ticket)` (no new prediction), `cancel`,
 *   and `find`. A submit with a deadline (`SubmitControls`) creates the prediction with
 *   `Cancel-After` (the seconds left, rounded up, at least 5 s), so Replicate stops it then even
 *   when nobody follows it any more; a deadline already passed is Timeout, and nothing is sent.
 * - `find(search)` reads `GET /predictions` (most recent first, from `since` less
 *   `ReplicateClient.clockSkewMillis`) for a prediction of the model whose input is the one a
 *   submit would send (the same builders, compared as canonical JSON) created at or after
 *   `since`; it reads at most `maxFindPages` pages and stops at the first prediction older than
 *   `since` less the allowance.
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
import { CapabilityNotSupported, InvalidInput, type MediaError } from "../../domain/Errors.js"
import { type InputOf, MediaProvider, type MediaProviderService, type OptionsOf } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import { secondsUntil } from "../../jobs/Deadline.js"
import { follow } from "../../jobs/Follow.js"
import { inputUrlOf } from "../../jobs/Inputs.js"
import { type JobClient, type JobProtocol, jobTransform, makeJobClient } from "../../jobs/JobClient.js"
import { queuedProviderApi } from "../../jobs/QueuedProvider.js"
import { downloadResult, malformedResult, resultReaders } from "../../jobs/Results.js"
import * as Settings from "../../jobs/Settings.js"
import * as Uploads from "../../jobs/Uploads.js"
import type { JobTicket } from "../../jobs/Ticket.js"
import * as ModelSchemas from "../../provider/ModelSchemas.js"
import * as Provider from "../../provider/Provider.js"
import type * as ProviderConfig from "../../provider/ProviderConfig.js"
import { collectionRules, mergeModels } from "./models/Collections.js"
import { costOf, curatedModels, defaultModels } from "./models/Curated.js"
import * as Inputs from "./models/Inputs.js"
import { firstFileUrl, transcriptOf } from "./models/Outputs.js"
import {
  canonicalJson,
  clockSkewMillis,
  createdAt,
  layerConfig,
  type ModelRef,
  nextPagePath,
  parseModelRef,
  type Prediction,
  ReplicateClient,
  scanPredictions,
  ticketOf,
  toJobStatus
} from "./ReplicateClient.js"
import * as ReplicateConfig from "./ReplicateConfig.js"

/** The job API of Replicate: submit, resume and cancel with `JobTicket`s. */
export class ReplicateJobs extends Context.Tag("automarket/ReplicateJobs")<ReplicateJobs, JobClient>() {}

/** The settings of the provider over a given client; each overrides the environment. */
export interface ReplicateJobSettings extends Settings.JobSettings {
  /** `Prefer: wait` seconds for short jobs (1..60). Default 10. */
  readonly waitSeconds?: number
}

/** Programmatic settings; each overrides the environment. */
export interface ReplicateOptions extends ReplicateJobSettings {
  /** Token, base URL, timeout, retries (see ProviderConfig). */
  readonly config?: ProviderConfig.ProviderOverrides
}

// The capabilities whose predictions usually finish within a `Prefer: wait`.
const shortJobs: ReadonlySet<JobCapability> = new Set(["text-to-image", "image-to-image", "image-upscaling", "text-to-speech", "speech-to-text"])

type Builders = {
  readonly [C in JobCapability]: (input: InputOf<C>, options: OptionsOf<C> | undefined) => Effect.Effect<Record<string, unknown>, MediaError>
}

// The input each capability sends; an asset goes as its URL or inlined (jobs/Inputs.ts).
const builders: Builders = {
  "text-to-image": (input, o) => Effect.succeed(Inputs.textToImageInput(input, o)),
  "image-to-image": (input, o) =>
    Effect.map(inputUrlOf(ReplicateConfig.settings.id, input.source, input.mimeType), (url) => Inputs.imageToImageInput(url, o)),
  "image-upscaling": (input, o) =>
    Effect.map(inputUrlOf(ReplicateConfig.settings.id, input.source, input.mimeType), (url) => Inputs.upscaleInput(url, o)),
  "text-to-video": (input, o) => Effect.succeed(Inputs.textToVideoInput(input, o)),
  "image-to-video": (input, o) =>
    Effect.map(inputUrlOf(ReplicateConfig.settings.id, input.source, input.mimeType), (url) => Inputs.imageToVideoInput(url, o)),
  // Not offered (no transform, no model listed); a job submitted as one through the job API is refused.
  "video-to-video": () =>
    Effect.fail(
      new CapabilityNotSupported({ provider: ReplicateConfig.settings.id, capability: "video-to-video", detail: "Replicate has no video-to-video models listed here" })
    ),
  "text-to-audio": (input, o) => Effect.succeed(Inputs.textToAudioInput(input, o)),
  "text-to-speech": (input, o) => Effect.succeed(Inputs.textToSpeechInput(input, o)),
  "speech-to-text": (input, o) =>
    Effect.map(inputUrlOf(ReplicateConfig.settings.id, input.source, input.mimeType), (url) => Inputs.speechToTextInput(url, o))
}

/**
 * The most pages of `GET /predictions` a `find` reads (100 predictions each): a search that has
 * not reached `since` by then answers none. 1,000 predictions covers far more than the minutes
 * between a submit and its run's recovery for any account this library serves.
 */
export const maxFindPages = 10

/** The input a capability sends for `input` and `options` (the same for a submit and a `find`), large inputs hosted by `upload`, before the schema's defaults. */
const bodyOf = <C extends JobCapability>(capability: C, input: InputOf<C>, options: OptionsOf<C> | undefined, upload: Uploads.UploadFile) =>
  builders[capability](input, options).pipe(Uploads.withUploader(upload))

/** A created prediction: its ticket, and the prediction as the create answered it (finished, when it finished within the wait). */
interface Created {
  readonly ticket: JobTicket
  readonly initial: Prediction
}

/** The provider and its job API over the `ReplicateClient` in context (results are downloaded with the `HttpClient` in context), with `options`' job settings. */
export const makeFromClient = (
  options: ReplicateJobSettings = {}
): Effect.Effect<
  { readonly provider: MediaProviderService; readonly jobs: JobClient; readonly schemas: ModelSchemas.ModelSchemas },
  never,
  ReplicateClient | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const client = yield* ReplicateClient
    const provider = ReplicateConfig.settings.id
    // Result files are downloaded with the HttpClient the provider was made with.
    const httpClient = yield* HttpClient.HttpClient
    const withHttpClient = <A, E>(self: Effect.Effect<A, E, HttpClient.HttpClient>): Effect.Effect<A, E> =>
      Effect.provideService(self, HttpClient.HttpClient, httpClient)
    const { dir, schedule } = yield* Settings.resolve(options)
    const upload = yield* Uploads.make(provider, client.upload)

    const fetchFile = (ticket: JobTicket, kind: "image" | "video" | "audio", output: unknown) => {
      const url = firstFileUrl(output)
      if (url === undefined) return Effect.fail(malformedResult(ticket, `the output has no ${kind} file`))
      return withHttpClient(downloadResult(ticket, kind, { url }, { dir, costUsd: costOf(ticket.model), maxBytes: options.maxDownloadBytes }))
    }
    const readers = resultReaders(fetchFile, transcriptOf)
    const schemas = yield* ModelSchemas.make({ provider, fetch: client.inputSchema })

    // The input to send: built, then placed where the model's schema, when published, takes it (models/Inputs.ts).
    const inputOf = <C extends JobCapability>(
      capability: C,
      model: string,
      input: InputOf<C>,
      opts: OptionsOf<C> | undefined,
      uploader: Uploads.UploadFile = upload
    ) =>
      Effect.flatMap(bodyOf(capability, input, opts, uploader), (built) =>
        Effect.map(
          schemas.checker(model),
          Option.match({ onNone: () => built, onSome: (checker) => Inputs.placeBySchema(capability, built, checker.properties) })
        )
      )

    const refOf = (model: string): Effect.Effect<ModelRef, InvalidInput> => {
      const ref = parseModelRef(model)
      return ref !== undefined
        ? Effect.succeed(ref)
        : Effect.fail(new InvalidInput({ provider, detail: `"${model}" is not owner/name, owner/name:version or a version id`, issues: ["model id"] }))
    }

    const protocol: JobProtocol<Created> = {
      provider,
      missing: client.remote.notConfigured,
      submit: (capability, model, input, opts, controls) =>
        Effect.gen(function* () {
          const ref = yield* refOf(model)
          // A deadline already passed fails before even the schema is asked for.
          yield* secondsUntil(provider, controls?.deadline)
          // Checked before anything is created: an input the model refuses costs no prediction.
          // With a schema, checked before any upload: a refused input uploads nothing.
          const prepare = (placed: Record<string, unknown>) => schemas.prepare(model, placed)
          const body = yield* Option.isSome(yield* schemas.checker(model))
            ? Uploads.checkedBeforeUpload(upload, (uploader) => inputOf(capability, model, input, opts, uploader), prepare)
            : Effect.flatMap(inputOf(capability, model, input, opts), prepare)
          // With a webhook the result comes by the call, not by holding the create open.
          const wait = shortJobs.has(capability) && controls?.webhook === undefined ? (options.waitSeconds ?? 10) : undefined
          // Read last, just before the create: the seconds left are as few as they will be.
          const cancelAfter = yield* secondsUntil(provider, controls?.deadline)
          let key: string | undefined
          const initial = yield* client.create(ref, body, wait, model, cancelAfter, controls?.webhook, (used) => {
            key = used
          })
          const now = yield* Clock.currentTimeMillis
          return { ticket: ticketOf(client.remote.baseUrl, model, capability, initial, new Date(now), key), initial }
        }),
      ticketOf: (created) => created.ticket,
      // The create's answer stands for the first poll: a prediction finished within the wait needs none.
      run: (capability, ticket, control, created, pace) =>
        follow({ ticket, control, poll: client.get(ticket), statusOf: toJobStatus, initial: created?.initial, schedule, pace }).pipe(
          Effect.flatMap((prediction) => readers[capability](ticket, prediction.output))
        ),
      cancel: client.cancel,
      find: (search) =>
        Effect.gen(function* () {
          const ref = yield* refOf(search.model)
          const input = canonicalJson(
            yield* Effect.flatMap(inputOf(search.capability, search.model, search.input, search.options), (placed) => schemas.complete(search.model, placed))
          )
          const since = search.since.getTime()
          let next: string | undefined
          for (let page = 0; page < maxFindPages; page++) {
            const answer = yield* client.listPredictions(new Date(since - clockSkewMillis), next)
            const scan = scanPredictions(answer.results, { ref, input, since })
            if (scan.found !== undefined) {
              return Option.some(ticketOf(client.remote.baseUrl, search.model, search.capability, scan.found, createdAt(scan.found, search.since)))
            }
            next = nextPagePath(client.remote.baseUrl, answer.next)
            if (scan.exhausted || next === undefined) return Option.none()
          }
          yield* Effect.logWarning(`replicate: find read ${maxFindPages} pages of predictions without reaching ${search.since.toISOString()}; none found`)
          return Option.none()
        }),
      timeout: options.jobTimeout
    }
    const transform = jobTransform(protocol)

    // Cached by the catalog; a failure serves the curated table (degraded) and is retried after its back-off.
    const discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> = Effect.forEach(
            collectionRules,
            (rule) =>
              client.collection(rule.slug).pipe(
                Effect.map((collection) => [{ capability: rule.capability, models: collection.models }]),
                // A collection that does not exist (any more) is skipped; other failures fail discovery.
                Effect.catchTag("ModelNotFound", () => Effect.succeed([]))
              ),
            { concurrency: 3 }
          ).pipe(Effect.map((found) => mergeModels(found.flat())))

    const service = yield* Provider.make({
      id: provider,
      name: ReplicateConfig.settings.name,
      ...client.remote,
      discover,
      ownCatalog: true,
      fallbackModels: curatedModels,
      defaultModels,
      transforms: {
        "text-to-image": transform("text-to-image"),
        "image-to-image": transform("image-to-image"),
        "image-upscaling": transform("image-upscaling"),
        "text-to-video": transform("text-to-video"),
        "image-to-video": transform("image-to-video"),
        "text-to-audio": transform("text-to-audio"),
        "text-to-speech": transform("text-to-speech"),
        "speech-to-text": transform("speech-to-text")
      }
    })
    return { provider: service, jobs: makeJobClient(protocol), schemas }
  })

/** The provider and its job API, from the environment and `options`. */
export const makeWithJobs = (
  options: ReplicateOptions = {}
): Effect.Effect<
  { readonly provider: MediaProviderService; readonly jobs: JobClient; readonly schemas: ModelSchemas.ModelSchemas },
  ConfigError.ConfigError,
  HttpClient.HttpClient
> =>
  Effect.provide(makeFromClient(options), layerConfig(ReplicateConfig.fromEnv(options.config)))

const api = queuedProviderApi(makeWithJobs, ReplicateJobs)

/** The provider, configured from the environment and `options`. */
export const make: (options?: ReplicateOptions) => Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient> = api.make

/** The provider as a layer, configured from the environment. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = api.layer

/** The provider with `options` as a layer. */
export const layerWith: (options: ReplicateOptions) => Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = api.layerWith

/** The job API (`ReplicateJobs`) as a layer, configured from the environment and `options`. */
export const jobsLayer: (options?: ReplicateOptions) => Layer.Layer<ReplicateJobs, ConfigError.ConfigError, HttpClient.HttpClient> = api.jobsLayer
