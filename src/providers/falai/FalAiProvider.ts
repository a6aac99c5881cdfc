/**
 * The fal.ai provider: text-to-image, image-to-image, text-to-video, image-to-video,
 * text-to-audio and speech-to-text through fal's queue, with progress, cancellation and results
 * streamed to disk.
 *
 * - Configuration: `FALAI_API_KEY` (or `FAL_KEY`), `FALAI_BASE_URL` (default
 *   `https://queue.fal.run`), `FALAI_TIMEOUT`, `FALAI_RETRIES`; `FALAI_PLATFORM_URL` for the
 *   model listing (default `https://api.fal.ai/v1` for the public queue, else the base URL);
 *   `AUTOMARKET_DOWNLOAD_DIR` for results, `AUTOMARKET_POLL_INTERVAL` for a fixed poll interval.
 * - A call submits the job (never twice, see runtime/Jobs.ts), reports `Submitted`, `Queued`
 *   (with the queue position), `Running` (with fal's log lines), `Completed` and `Downloading`
 *   progress events, fetches the result and downloads its first file; the asset's source is that
 *   file, its origin names the request id. Interrupting the call cancels the fal job once.
 * - Inputs: an image or audio input is sent as `image_url`/`audio_url`: its URL, or a data URI for
 *   bytes and files up to 20 MiB. `options.extra` is merged into fal's input as is.
 * - A job fal reports as failed fails with GenerationFailed carrying fal's message.
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
import type * as Duration from "effect/Duration"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import type { Asset } from "../../domain/Asset.js"
import type { MediaError } from "../../domain/Errors.js"
import { type InputOf, MediaProvider, type MediaProviderService, type OptionsOf, type OutputOf } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import * as Jobs from "../../jobs/Jobs.js"
import * as Provider from "../../provider/Provider.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import * as FalAiClient from "./FalAiClient.js"
import * as FalAiModels from "./FalAiModels.js"

/** The job API of fal.ai: submit, resume and cancel with `JobTicket`s. */
export class FalAiJobs extends Context.Tag("automarket/FalAiJobs")<FalAiJobs, Jobs.JobClient>() {}

/** Programmatic settings; each overrides the environment. */
export interface FalAiOptions {
  /** Key, base URL, timeout, retries (see ProviderConfig). */
  readonly config?: ProviderConfig.ProviderOverrides
  /** Where the model listing is. Default: `FALAI_PLATFORM_URL`, else see the module comment. */
  readonly platformUrl?: string
  /** The wait between status polls. Default: `AUTOMARKET_POLL_INTERVAL`, else `Jobs.defaultPollSchedule`. */
  readonly pollSchedule?: Schedule.Schedule<unknown>
  /** Where results are downloaded. Default: `AUTOMARKET_DOWNLOAD_DIR`, else `<tmp>/automarket`. */
  readonly downloadDir?: string
  /** Budget of a whole job. Default 30 minutes. */
  readonly jobTimeout?: Duration.DurationInput
  /** Largest result file. Default: Download's 2 GiB. */
  readonly maxDownloadBytes?: number
}

/** The public queue's base URL. */
export const publicQueueUrl = "https://queue.fal.run"
/** The public model listing's base URL. */
export const publicPlatformUrl = "https://api.fal.ai/v1"

/** The provider and its job API, from the environment and `options`. */
export const makeWithJobs = (
  options: FalAiOptions = {}
): Effect.Effect<{ readonly provider: MediaProviderService; readonly jobs: Jobs.JobClient }, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const settings = ProviderConfig.remoteProviders.falai
    const config = yield* ProviderConfig.fromEnv(settings, options.config)
    const platformUrl =
      options.platformUrl ??
      (yield* Config.option(Config.nonEmptyString("FALAI_PLATFORM_URL"))).pipe(
        Option.getOrElse(() => (config.baseUrl.replace(/\/+$/, "") === publicQueueUrl ? publicPlatformUrl : config.baseUrl))
      )
    const { http: queue, missing, remote } = yield* ProviderConfig.makeHttp(settings, config)
    const { http: platform } = yield* ProviderConfig.makeHttp(settings, { ...config, baseUrl: platformUrl })
    const client = FalAiClient.make(queue, platform)
    // Result files are downloaded with the HttpClient the provider was made with.
    const httpClient = yield* HttpClient.HttpClient
    const withHttpClient = <A, E>(self: Effect.Effect<A, E, HttpClient.HttpClient>): Effect.Effect<A, E> =>
      Effect.provideService(self, HttpClient.HttpClient, httpClient)
    const schedule = options.pollSchedule ?? (yield* Jobs.pollScheduleFromEnv)
    const dir = options.downloadDir ?? (yield* Jobs.downloadDir)
    const cache = yield* Ref.make(Option.none<ReadonlyArray<ProviderModel>>())

    type Builders = {
      readonly [C in Jobs.JobCapability]: (model: string, input: InputOf<C>, options: OptionsOf<C> | undefined) => Effect.Effect<Record<string, unknown>, MediaError>
    }
    const builders: Builders = {
      "text-to-image": (_model, input, o) => Effect.succeed(FalAiModels.textToImageInput(input, o)),
      "image-to-image": (_model, input, o) =>
        Effect.map(Jobs.inputUrlOf(FalAiClient.providerId, input.source, input.mimeType), (url) => FalAiModels.imageToImageInput(url, o)),
      "text-to-video": (model, input, o) => Effect.succeed(FalAiModels.textToVideoInput(model, input, o)),
      "image-to-video": (model, input, o) =>
        Effect.map(Jobs.inputUrlOf(FalAiClient.providerId, input.source, input.mimeType), (url) => FalAiModels.imageToVideoInput(model, url, o)),
      "text-to-audio": (model, input, o) => Effect.succeed(FalAiModels.textToAudioInput(model, input, o)),
      "text-to-speech": (_model, input, o) => Effect.succeed({ text: input.text, ...(o?.voice !== undefined ? { voice: o.voice } : {}), ...o?.extra }),
      "speech-to-text": (_model, input, o) =>
        Effect.map(Jobs.inputUrlOf(FalAiClient.providerId, input.source, input.mimeType), (url) => FalAiModels.speechToTextInput(url, o))
    }

    const fetchFile = (ticket: Jobs.JobTicket, kind: "image" | "video" | "audio", output: unknown) => {
      const media = FalAiModels.resultMedia(output, kind)
      if (media === undefined) return Effect.fail(Jobs.malformedResult(ticket, `the result has no ${kind} file`))
      return withHttpClient(
        Jobs.downloadResult(ticket, kind, media, {
          dir,
          costUsd: FalAiModels.costOf(ticket.model),
          maxBytes: options.maxDownloadBytes
        })
      )
    }

    const readers = Jobs.resultReaders(fetchFile, FalAiModels.transcriptOf)

    const submitTicket = <C extends Jobs.JobCapability>(
      capability: C,
      model: string,
      input: InputOf<C>,
      opts: OptionsOf<C> | undefined
    ): Effect.Effect<Jobs.JobTicket, MediaError> =>
      Effect.gen(function* () {
        if (missing !== undefined) return yield* Effect.fail(missing)
        const body = yield* builders[capability](model, input, opts)
        const answer = yield* client.submit(model, body)
        const now = yield* Clock.currentTimeMillis
        return FalAiClient.ticketOf(config.baseUrl, model, capability, answer, new Date(now))
      })

    const followTicket = (ticket: Jobs.JobTicket, control: Jobs.JobControl) =>
      Effect.zipRight(
        Jobs.follow({ ticket, control, status: Effect.map(client.status(ticket), FalAiClient.toJobStatus), schedule }),
        client.result(ticket)
      )

    const resumeAs = <C extends Jobs.JobCapability>(
      capability: C,
      ticket: Jobs.JobTicket,
      control: Jobs.JobControl
    ): Effect.Effect<OutputOf<C>, MediaError> => Effect.flatMap(followTicket(ticket, control), (output) => readers[capability](ticket, output))

    const transform =
      <C extends Jobs.JobCapability>(capability: C): Provider.Transform<C> =>
      (model, input, opts) =>
        Jobs.submitAndRun(
          submitTicket(capability, model, input, opts),
          (ticket) => ticket,
          (ticket) => client.cancel(ticket),
          (ticket, control) => resumeAs(capability, ticket, control),
          options.jobTimeout
        )

    const jobs: Jobs.JobClient = {
      provider: FalAiClient.providerId,
      submit: (capability, model, input, opts) =>
        Effect.tap(submitTicket(capability, model, input, opts), (ticket) =>
          Jobs.reportSubmitted(ticket)
        ),
      resume: (ticket): Effect.Effect<Asset, MediaError> =>
        missing !== undefined
          ? Effect.fail(missing)
          : Jobs.guarded(ticket, client.cancel(ticket), (control) => resumeAs(ticket.capability, ticket, control), options.jobTimeout),
      cancel: (ticket) => (missing !== undefined ? Effect.fail(missing) : client.cancel(ticket))
    }

    const discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> = Effect.flatMap(Ref.get(cache), (cached) =>
      Option.isSome(cached)
        ? Effect.succeed(cached.value)
        : client.listModels().pipe(
            Effect.map(FalAiModels.mergeModels),
            Effect.catchAll((error) =>
              Effect.as(
                Effect.logDebug(`falai: model listing unavailable (${error._tag}); using the curated table`),
                FalAiModels.curatedModels
              )
            ),
            Effect.tap((models) => Ref.set(cache, Option.some(models)))
          )
    )

    const provider = yield* Provider.make({
      id: FalAiClient.providerId,
      name: settings.name,
      ...remote,
      discover,
      defaultModels: FalAiModels.defaultModels,
      transforms: {
        "text-to-image": transform("text-to-image"),
        "image-to-image": transform("image-to-image"),
        "text-to-video": transform("text-to-video"),
        "image-to-video": transform("image-to-video"),
        "text-to-audio": transform("text-to-audio"),
        "speech-to-text": transform("speech-to-text")
      }
    })
    return { provider, jobs }
  })

/** The provider, configured from the environment and `options`. */
export const make = (options: FalAiOptions = {}): Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.map(makeWithJobs(options), (made) => made.provider)

/** The provider as a layer, configured from the environment. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> = Layer.effect(MediaProvider, make())

/** The provider with `options` as a layer. */
export const layerWith = (options: FalAiOptions): Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(MediaProvider, make(options))

/** The job API (`FalAiJobs`) as a layer, configured from the environment and `options`. */
export const jobsLayer = (options: FalAiOptions = {}): Layer.Layer<FalAiJobs, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(FalAiJobs, Effect.map(makeWithJobs(options), (made) => made.jobs))
