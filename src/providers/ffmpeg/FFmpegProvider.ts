/**
 * The FFmpeg provider: the local AutoMarket FFmpeg service as a `MediaProvider` with five free
 * models: `ffmpeg-composer` (video-composition), `ffmpeg-audio` (audio-enhancement),
 * `ffmpeg-slide` (text-to-image: a text slide, not a generated picture), `ffmpeg-ambient`
 * (text-to-audio: a synthesized ambient pad, not AI music) and `ffmpeg-lanczos`
 * (image-upscaling: a Lanczos resample, offline; no detail invented).
 *
 * The service is found as `FFmpegConfig.ts` says: the URL the user configured in
 * `FFMPEG_SERVICE_URL` (their own service or container), or the embedded one `ServiceRuntime`
 * starts on first use. Results are downloaded into `FFMPEG_OUTPUT_DIR` (default: the user's
 * private `ffmpeg` folder, see `local/PrivateDir`), streamed to disk.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { MediaProvider, type MediaProviderService } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import * as LocalService from "../../local/LocalService.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import * as Provider from "../../provider/Provider.js"
import * as FFmpegClient from "./FFmpegClient.js"
import * as FFmpegConfig from "./FFmpegConfig.js"
import * as AmbientSynth from "./models/AmbientSynth.js"
import * as AudioEnhancer from "./models/AudioEnhancer.js"
import * as Composer from "./models/Composer.js"
import * as ImageUpscaler from "./models/ImageUpscaler.js"
import { deliverTo } from "./models/Delivery.js"
import * as SlideRenderer from "./models/SlideRenderer.js"

export { defaultOutputDir, providerId } from "./FFmpegConfig.js"

/** The models the provider offers (all free: the work runs on this machine). */
export const models: ReadonlyArray<ProviderModel> = [Composer.model, AudioEnhancer.model, SlideRenderer.model, AmbientSynth.model, ImageUpscaler.model]

/** Options of `make`. */
export interface FFmpegProviderOptions {
  /** Where results are written. Default: the user's private `ffmpeg` folder (`FFmpegConfig.defaultOutputDir`). */
  readonly outputDir?: string | undefined
  /** Budget of one job. Default 10 minutes. */
  readonly jobTimeout?: Duration.DurationInput | undefined
}

/** Build the provider for a service location. Calls reach the service through the `HttpClient` in context. */
export const make = (
  location: LocalService.ServiceLocation,
  options: FFmpegProviderOptions = {}
): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* FFmpegClient.make(location, { jobTimeout: options.jobTimeout })
    const deliver = deliverTo(client, options.outputDir ?? FFmpegConfig.defaultOutputDir())
    return yield* Provider.make({
      id: FFmpegConfig.providerId,
      name: "FFmpeg (local)",
      type: "local",
      configured: true,
      // A fixed list, known without the service: nothing to cache in the model catalog.
      discover: Effect.succeed(models),
      defaultModels: {
        "video-composition": Composer.modelId,
        "audio-enhancement": AudioEnhancer.modelId,
        "text-to-image": SlideRenderer.modelId,
        "text-to-audio": AmbientSynth.modelId,
        "image-upscaling": ImageUpscaler.modelId
      },
      transforms: {
        "video-composition": Composer.compose(client, deliver),
        "audio-enhancement": AudioEnhancer.enhance(client, deliver),
        "text-to-image": SlideRenderer.render(client, deliver),
        "text-to-audio": AmbientSynth.synthesize(client, deliver),
        "image-upscaling": ImageUpscaler.upscale(client, deliver)
      },
      probe: LocalService.probe(
        location,
        Effect.map(client.health, (health) => health.status === "healthy")
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
    const location = yield* FFmpegConfig.location
    const outputDir = yield* FFmpegConfig.outputDir
    return yield* make(location, { outputDir })
  })
)
