/**
 * The FFmpeg provider: the local AutoMarket FFmpeg service as a `MediaProvider` with four free
 * models: `ffmpeg-composer` (video-composition), `ffmpeg-audio` (audio-enhancement),
 * `ffmpeg-slide` (text-to-image: a text slide, not a generated picture) and `ffmpeg-ambient`
 * (text-to-audio: a synthesized ambient pad, not AI music).
 *
 * The service is found through `LocalService.locate("ffmpeg", "FFMPEG_SERVICE_URL")`: the URL
 * the user configured (their own service or container), or the embedded one `ServiceRuntime`
 * starts on first use. Results are downloaded into `FFMPEG_OUTPUT_DIR` (default: the system
 * temp directory's `automarket-ffmpeg`), streamed to disk.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { MediaError } from "../../domain/Errors.js"
import { MediaProvider, type MediaProviderService } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import * as LocalService from "../../local/LocalService.js"
import * as Provider from "../../provider/Provider.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import * as FFmpegClient from "./FFmpegClient.js"
import * as AmbientSynth from "./models/AmbientSynth.js"
import * as AudioEnhancer from "./models/AudioEnhancer.js"
import * as Composer from "./models/Composer.js"
import { deliverTo } from "./models/Delivery.js"
import * as SlideRenderer from "./models/SlideRenderer.js"

/** The provider id. */
export const providerId = FFmpegClient.provider

/** The models the provider offers (all free: the work runs on this machine). */
export const models: ReadonlyArray<ProviderModel> = [Composer.model, AudioEnhancer.model, SlideRenderer.model, AmbientSynth.model]

/** Options of `make`. */
export interface FFmpegProviderOptions {
  /** Where results are written. Default: `<tmpdir>/automarket-ffmpeg`. */
  readonly outputDir?: string | undefined
  /** Budget of one job. Default 10 minutes. */
  readonly jobTimeout?: Duration.DurationInput | undefined
}

/** The default directory results are written to. */
export const defaultOutputDir = (): string => NodePath.join(NodeOs.tmpdir(), "automarket-ffmpeg")

/** Build the provider for a service location. Calls reach the service through the `HttpClient` in context. */
export const make = (
  location: LocalService.ServiceLocation,
  options: FFmpegProviderOptions = {}
): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const clients = new Map<string, FFmpegClient.FFmpegClient>()
    const clientFor = (baseUrl: string): Effect.Effect<FFmpegClient.FFmpegClient> => {
      const known = clients.get(baseUrl)
      if (known !== undefined) return Effect.succeed(known)
      return FFmpegClient.make({ baseUrl, ...(options.jobTimeout !== undefined ? { jobTimeout: options.jobTimeout } : {}) }).pipe(
        Effect.provideService(HttpClient.HttpClient, http),
        Effect.tap((client) => Effect.sync(() => clients.set(baseUrl, client)))
      )
    }
    const client: Effect.Effect<FFmpegClient.FFmpegClient, MediaError> = Effect.flatMap(location.url, clientFor)
    const deliver = deliverTo(options.outputDir ?? defaultOutputDir())
    return yield* Provider.make({
      id: providerId,
      name: "FFmpeg (local)",
      type: "local",
      configured: true,
      discover: Effect.succeed(models),
      defaultModels: {
        "video-composition": Composer.modelId,
        "audio-enhancement": AudioEnhancer.modelId,
        "text-to-image": SlideRenderer.modelId,
        "text-to-audio": AmbientSynth.modelId
      },
      transforms: {
        "video-composition": Composer.compose(client, deliver),
        "audio-enhancement": AudioEnhancer.enhance(client, deliver),
        "text-to-image": SlideRenderer.render(client, deliver),
        "text-to-audio": AmbientSynth.synthesize(client, deliver)
      },
      probe: LocalService.probe(
        location,
        client.pipe(
          Effect.flatMap((c) => c.health),
          Effect.map((health) => health.status === "healthy")
        )
      )
    })
  })

/**
 * The provider as a layer: the service from `FFMPEG_SERVICE_URL` or the `ServiceRuntime`,
 * results into `FFMPEG_OUTPUT_DIR` when set.
 */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> = Layer.effect(
  MediaProvider,
  Effect.gen(function* () {
    const location = yield* LocalService.locate("ffmpeg", "FFMPEG_SERVICE_URL")
    const outputDir = yield* Config.option(Config.nonEmptyString("FFMPEG_OUTPUT_DIR"))
    return yield* make(location, { outputDir: Option.getOrUndefined(outputDir) })
  })
)
