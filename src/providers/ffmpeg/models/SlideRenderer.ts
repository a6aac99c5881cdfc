/**
 * The `text-to-image` model `ffmpeg-slide`: a clean text slide (PNG) drawn by the FFmpeg
 * service's `/image/slide`, not a generated picture. The input text is drawn as the slide's
 * body; `options.extra.slide` may give the slide's content and look instead:
 *
 * ```
 * extra.slide = {
 *   title?: string,                                  // drawn large near the top (bold)
 *   body?: string,                                   // word-wrapped below the title
 *   background?: "#rrggbb" | { top: "#rrggbb", bottom: "#rrggbb" },  // default: dark blue gradient
 *   color?: "#rrggbb"                                // the text's colour, default white
 * }
 * ```
 *
 * When `title` or `body` holds text, they are drawn and the input text is not. `width` and
 * `height` are honoured (default 1280x720, 64..4096 each); `seed`, `steps`, `negativePrompt`
 * and the other image options are ignored. Nothing to draw is an `InvalidInput`.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { FileSource, Image, type Text } from "../../../domain/Asset.js"
import { InvalidInput, type MediaError, ModelNotFound } from "../../../domain/Errors.js"
import type { ImageOptions } from "../../../domain/MediaProvider.js"
import type { ProviderModel } from "../../../domain/Model.js"
import { HexColour, SlideBackground, SlideSpec } from "../../../services/ffmpeg/Api.js"
import type * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"
import type { Deliver } from "./Delivery.js"

/** The model id. */
export const modelId = "ffmpeg-slide"

/** What discovery lists for it. */
export const model: ProviderModel = {
  id: modelId,
  provider,
  name: "FFmpeg text slide",
  capabilities: ["text-to-image"],
  pricing: [],
  free: true,
  limits: { maxWidth: 4096, maxHeight: 4096 },
  description:
    "A clean text slide (PNG): a title and word-wrapped body on a solid or gradient background. Draws the text; does not generate pictures."
}

/** What `options.extra.slide` may hold. */
export const SlideExtra = Schema.Struct({
  title: Schema.optional(Schema.String),
  body: Schema.optional(Schema.String),
  background: Schema.optional(SlideBackground),
  color: Schema.optional(HexColour)
})
/** What `options.extra.slide` may hold. */
export type SlideExtra = typeof SlideExtra.Type

const invalid = (message: string, issues: ReadonlyArray<string>) => new InvalidInput({ provider, detail: message, issues })

const decodeExtra = Schema.decodeUnknownEither(Schema.UndefinedOr(SlideExtra))
const encodeSpec = Schema.encodeEither(SlideSpec)

const filled = (text: string | undefined): text is string => text !== undefined && text.trim() !== ""

/** The service's spec for a prompt and its options (pure; the reasons when they are not valid). */
export const slideSpecOf = (input: Text, options: ImageOptions | undefined): Either.Either<SlideSpec, InvalidInput> =>
  Either.gen(function* () {
    const extra = yield* Either.mapLeft(decodeExtra(options?.extra?.["slide"]), (error) =>
      invalid("options.extra.slide is not valid", [ParseResult.TreeFormatter.formatErrorSync(error)])
    )
    const content: { readonly title?: string; readonly body?: string; readonly text?: string } =
      extra !== undefined && (filled(extra.title) || filled(extra.body))
        ? { ...(filled(extra.title) ? { title: extra.title } : {}), ...(filled(extra.body) ? { body: extra.body } : {}) }
        : { text: input.text }
    if (!filled(content.title) && !filled(content.body) && !filled(content.text)) {
      return yield* Either.left(invalid("nothing to draw: the text is empty", ["the text is empty"]))
    }
    const spec: SlideSpec = {
      ...content,
      width: options?.width ?? 1280,
      height: options?.height ?? 720,
      ...(extra?.background !== undefined ? { background: extra.background } : {}),
      ...(extra?.color !== undefined ? { color: extra.color } : {})
    }
    // The service's own schema: a size or a text length it would refuse is refused here.
    yield* Either.mapLeft(encodeSpec(spec), (error) => invalid("the slide options are not valid", [ParseResult.TreeFormatter.formatErrorSync(error)]))
    return spec
  })

/** Draw one slide. */
export const render =
  (client: FFmpegClient.Service, deliver: Deliver) =>
  (id: string, input: Text, options: ImageOptions | undefined): Effect.Effect<Image, MediaError> =>
    Effect.gen(function* () {
      if (id !== modelId) return yield* new ModelNotFound({ provider, model: id, detail: `no model ${JSON.stringify(id)} for text-to-image` })
      const spec = yield* slideSpecOf(input, options)
      const { output, path } = yield* deliver(client.slide(spec), id)
      return new Image({
        source: new FileSource({ path }),
        mimeType: "image/png",
        width: output.width ?? spec.width ?? 1280,
        height: output.height ?? spec.height ?? 720,
        origin: { provider, model: id, costUsd: 0 }
      })
    })
