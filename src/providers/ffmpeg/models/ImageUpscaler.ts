/**
 * The `image-upscaling` model `ffmpeg-lanczos`: a picture made `scale` times larger on each side
 * (default 2), resampled with a Lanczos filter by the FFmpeg service's `/image/upscale`. It
 * invents no detail, as the AI upscalers of fal and Replicate do, but it runs offline and free.
 * The result keeps the input's format when it is a jpeg, else it is a png.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { FileSource, Image } from "../../../domain/Asset.js"
import { InvalidInput, type MediaError, ModelNotFound } from "../../../domain/Errors.js"
import type { UpscaleOptions } from "../../../domain/MediaProvider.js"
import type { ProviderModel } from "../../../domain/Model.js"
import { UpscaleSpec } from "../../../services/ffmpeg/Api.js"
import type * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"
import type { Deliver } from "./Delivery.js"
import { uploadOf } from "./Upload.js"

/** The model id. */
export const modelId = "ffmpeg-lanczos"

/** The factor used when the options name none. */
export const defaultScale = 2

/** What discovery lists for it. */
export const model: ProviderModel = {
  id: modelId,
  provider,
  name: "FFmpeg Lanczos upscaler",
  capabilities: ["image-upscaling"],
  pricing: [],
  free: true,
  description: "A picture made larger (1x-8x a side, within 4096 pixels a side) with a Lanczos filter: offline, no detail invented."
}

/** Upscale one picture. */
export const upscale =
  (client: FFmpegClient.Service, deliver: Deliver) =>
  (id: string, input: Image, options: UpscaleOptions | undefined): Effect.Effect<Image, MediaError> =>
    Effect.gen(function* () {
      if (id !== modelId) return yield* new ModelNotFound({ provider, model: id, detail: `no model ${JSON.stringify(id)} for image-upscaling` })
      const jpeg = /^image\/(jpeg|jpg)$/i.test(input.mimeType)
      const file = yield* uploadOf(input.source, "image", jpeg ? "image.jpg" : "image.png")
      const spec = yield* Either.match(Schema.encodeEither(UpscaleSpec)({ factor: options?.scale ?? defaultScale, format: jpeg ? "jpg" : "png" }), {
        onLeft: (error) =>
          Effect.fail(new InvalidInput({ provider, detail: "the upscaling options are not valid", issues: [ParseResult.TreeFormatter.formatErrorSync(error)] })),
        onRight: Effect.succeed
      })
      const { output, path } = yield* deliver(client.upscale(spec, [file]), id)
      return new Image({
        source: new FileSource({ path }),
        mimeType: output.mimeType,
        ...(output.width !== undefined ? { width: output.width } : {}),
        ...(output.height !== undefined ? { height: output.height } : {}),
        origin: { provider, model: id, costUsd: 0 }
      })
    })
