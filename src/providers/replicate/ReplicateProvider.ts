/**
 * The Replicate provider: text-to-image, image-to-image, text-to-video, image-to-video,
 * text-to-audio, text-to-speech and speech-to-text through predictions, with progress,
 * cancellation and results streamed to disk.
 *
 * - Configuration: `REPLICATE_API_TOKEN`, `REPLICATE_BASE_URL` (default
 *   `https://api.replicate.com/v1`), `REPLICATE_TIMEOUT`, `REPLICATE_RETRIES`;
 *   `AUTOMARKET_DOWNLOAD_DIR` for results, `AUTOMARKET_POLL_INTERVAL` for a fixed poll interval.
 * - Models: `owner/name` (an official model: `POST /models/{owner}/{name}/predictions`),
 *   `owner/name:version` or a bare version id (`POST /predictions` with `version`).
 * - Short jobs (images, speech, transcripts) are created with `Prefer: wait=10` (`waitSeconds`):
 *   a prediction finished within the wait needs no poll; one still running when the wait ends is
 *   followed by polling `urls.get` (the wait running out is never a failure). Video and music
 *   are created without waiting.
 * - Progress: `Submitted`, `Queued` (starting), `Running` (new log lines, percent parsed from
 *   tqdm-style `45%|` logs), `Completed`, `Downloading`. Interrupting the call cancels the
 *   prediction once (`POST urls.cancel`). A failed prediction fails with GenerationFailed
 *   carrying Replicate's `error`.
 * - `ReplicateJobs` (`jobsLayer`): `submit`, `resume(ticket)` (no new prediction), `cancel`.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import type { Asset } from "../../domain/Asset.js"
import { InvalidInput, type MediaError } from "../../domain/Errors.js"
import { type InputOf, MediaProvider, type MediaProviderService, type OptionsOf, type OutputOf } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import * as Jobs from "../../jobs/Jobs.js"
import * as Provider from "../../provider/Provider.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import * as ReplicateClient from "./ReplicateClient.js"
import * as ReplicateModels from "./ReplicateModels.js"

/** The job API of Replicate: submit, resume and cancel with `JobTicket`s. */
export class ReplicateJobs extends Context.Tag("automarket/ReplicateJobs")<ReplicateJobs, Jobs.JobClient>() {}

/** Programmatic settings; each overrides the environment. */
export interface ReplicateOptions {
  /** Token, base URL, timeout, retries (see ProviderConfig). */
  readonly config?: ProviderConfig.ProviderOverrides
  /** `Prefer: wait` seconds for short jobs (1..60). Default 10. */
  readonly waitSeconds?: number
  /** The wait between status polls. Default: `AUTOMARKET_POLL_INTERVAL`, else `Jobs.defaultPollSchedule`. */
  readonly pollSchedule?: Schedule.Schedule<unknown>
  /** Where results are downloaded. Default: `AUTOMARKET_DOWNLOAD_DIR`, else `<tmp>/automarket`. */
  readonly downloadDir?: string
  /** Budget of a whole job. Default 30 minutes. */
  readonly jobTimeout?: Duration.DurationInput
  /** Largest result file. Default: Download's 2 GiB. */
  readonly maxDownloadBytes?: number
}

const shortJobs: ReadonlySet<Jobs.JobCapability> = new Set(["text-to-image", "image-to-image", "text-to-speech", "speech-to-text"])

/** The provider and its job API, from the environment and `options`. */
export const makeWithJobs = (
  options: ReplicateOptions = {}
): Effect.Effect<{ readonly provider: MediaProviderService; readonly jobs: Jobs.JobClient }, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const settings = ProviderConfig.remoteProviders.replicate
    const config = yield* ProviderConfig.fromEnv(settings, options.config)
    const { http, missing, remote } = yield* ProviderConfig.makeHttp(settings, config)
    const client = ReplicateClient.make(http)
    // Result files are downloaded with the HttpClient the provider was made with.
    const httpClient = yield* HttpClient.HttpClient
    const withHttpClient = <A, E>(self: Effect.Effect<A, E, HttpClient.HttpClient>): Effect.Effect<A, E> =>
      Effect.provideService(self, HttpClient.HttpClient, httpClient)
    const schedule = options.pollSchedule ?? (yield* Jobs.pollScheduleFromEnv)
    const dir = options.downloadDir ?? (yield* Jobs.downloadDir)
    const cache = yield* Ref.make(Option.none<ReadonlyArray<ProviderModel>>())
    const provider = ReplicateClient.providerId

    type Builders = {
      readonly [C in Jobs.JobCapability]: (input: InputOf<C>, options: OptionsOf<C> | undefined) => Effect.Effect<Record<string, unknown>, MediaError>
    }
    const builders: Builders = {
      "text-to-image": (input, o) => Effect.succeed(ReplicateModels.textToImageInput(input, o)),
      "image-to-image": (input, o) =>
        Effect.map(Jobs.inputUrlOf(provider, input.source, input.mimeType), (url) => ReplicateModels.imageToImageInput(url, o)),
      "text-to-video": (input, o) => Effect.succeed(ReplicateModels.textToVideoInput(input, o)),
      "image-to-video": (input, o) =>
        Effect.map(Jobs.inputUrlOf(provider, input.source, input.mimeType), (url) => ReplicateModels.imageToVideoInput(url, o)),
      "text-to-audio": (input, o) => Effect.succeed(ReplicateModels.textToAudioInput(input, o)),
      "text-to-speech": (input, o) => Effect.succeed(ReplicateModels.textToSpeechInput(input, o)),
      "speech-to-text": (input, o) =>
        Effect.map(Jobs.inputUrlOf(provider, input.source, input.mimeType), (url) => ReplicateModels.speechToTextInput(url, o))
    }

    const fetchFile = (ticket: Jobs.JobTicket, kind: "image" | "video" | "audio", output: unknown) => {
      const url = ReplicateModels.firstFileUrl(output)
      if (url === undefined) return Effect.fail(Jobs.malformedResult(ticket, `the output has no ${kind} file`))
      return withHttpClient(
        Jobs.downloadResult(ticket, kind, { url }, { dir, costUsd: ReplicateModels.costOf(ticket.model), maxBytes: options.maxDownloadBytes })
      )
    }

    const readers = Jobs.resultReaders(fetchFile, ReplicateModels.transcriptOf)

    interface Created {
      readonly ticket: Jobs.JobTicket
      readonly initial: ReplicateClient.Prediction
    }

    const create = <C extends Jobs.JobCapability>(
      capability: C,
      model: string,
      input: InputOf<C>,
      opts: OptionsOf<C> | undefined
    ): Effect.Effect<Created, MediaError> =>
      Effect.gen(function* () {
        if (missing !== undefined) return yield* Effect.fail(missing)
        const ref = ReplicateClient.parseModelRef(model)
        if (ref === undefined) {
          return yield* Effect.fail(
            new InvalidInput({ provider, message: `replicate: "${model}" is not owner/name, owner/name:version or a version id`, issues: ["model id"] })
          )
        }
        const body = yield* builders[capability](input, opts)
        const wait = shortJobs.has(capability) ? (options.waitSeconds ?? 10) : undefined
        const initial = yield* client.create(ref, body, wait, model)
        const now = yield* Clock.currentTimeMillis
        return { ticket: ReplicateClient.ticketOf(config.baseUrl, model, capability, initial, new Date(now)), initial }
      })

    // Follow a prediction (its first status being `initial` when the create answered one), then read its output.
    const run = <C extends Jobs.JobCapability>(
      capability: C,
      ticket: Jobs.JobTicket,
      control: Jobs.JobControl,
      initial: ReplicateClient.Prediction | undefined
    ): Effect.Effect<OutputOf<C>, MediaError> =>
      Effect.suspend(() => {
        let primed = initial
        let last: ReplicateClient.Prediction | undefined
        const status = Effect.suspend(() => {
          const first = primed
          primed = undefined
          return first !== undefined ? Effect.succeed(first) : client.get(ticket)
        }).pipe(
          Effect.tap((prediction) => {
            last = prediction
          }),
          Effect.map(ReplicateClient.toJobStatus)
        )
        return Jobs.follow({ ticket, control, status, schedule }).pipe(
          Effect.flatMap(() => (last === undefined ? Effect.fail(Jobs.malformedResult(ticket, "no status")) : readers[capability](ticket, last.output)))
        )
      })

    const transform =
      <C extends Jobs.JobCapability>(capability: C): Provider.Transform<C> =>
      (model, input, opts) =>
        Jobs.submitAndRun(
          create(capability, model, input, opts),
          (created) => created.ticket,
          (created) => client.cancel(created.ticket),
          (created, control) => run(capability, created.ticket, control, created.initial),
          options.jobTimeout
        )

    const jobs: Jobs.JobClient = {
      provider,
      submit: (capability, model, input, opts) =>
        Effect.map(create(capability, model, input, opts), (created) => created.ticket).pipe(Effect.tap(Jobs.reportSubmitted)),
      resume: (ticket): Effect.Effect<Asset, MediaError> =>
        missing !== undefined
          ? Effect.fail(missing)
          : Jobs.guarded(ticket, client.cancel(ticket), (control) => run(ticket.capability, ticket, control, undefined), options.jobTimeout),
      cancel: (ticket) => (missing !== undefined ? Effect.fail(missing) : client.cancel(ticket))
    }

    const discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> = Effect.flatMap(Ref.get(cache), (cached) =>
      Option.isSome(cached)
        ? Effect.succeed(cached.value)
        : Effect.forEach(
            ReplicateModels.collectionRules,
            (rule) =>
              client.collection(rule.slug).pipe(
                Effect.map((collection) => [{ capability: rule.capability, models: collection.models }]),
                // A collection that does not exist (any more) is skipped; other failures fail discovery.
                Effect.catchTag("ModelNotFound", () => Effect.succeed([]))
              ),
            { concurrency: 3 }
          ).pipe(
            Effect.map((found) => ReplicateModels.mergeModels(found.flat())),
            Effect.tap((models) => Ref.set(cache, Option.some(models)))
          )
    )

    const service = yield* Provider.make({
      id: provider,
      name: settings.name,
      ...remote,
      discover,
      defaultModels: ReplicateModels.defaultModels,
      transforms: {
        "text-to-image": transform("text-to-image"),
        "image-to-image": transform("image-to-image"),
        "text-to-video": transform("text-to-video"),
        "image-to-video": transform("image-to-video"),
        "text-to-audio": transform("text-to-audio"),
        "text-to-speech": transform("text-to-speech"),
        "speech-to-text": transform("speech-to-text")
      }
    })
    return { provider: service, jobs }
  })

/** The provider, configured from the environment and `options`. */
export const make = (options: ReplicateOptions = {}): Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.map(makeWithJobs(options), (made) => made.provider)

/** The provider as a layer, configured from the environment. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = Layer.effect(MediaProvider, make())

/** The provider with `options` as a layer. */
export const layerWith = (options: ReplicateOptions): Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(MediaProvider, make(options))

/** The job API (`ReplicateJobs`) as a layer, configured from the environment and `options`. */
export const jobsLayer = (options: ReplicateOptions = {}): Layer.Layer<ReplicateJobs, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(ReplicateJobs, Effect.map(makeWithJobs(options), (made) => made.jobs))
