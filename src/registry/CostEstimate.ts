/**
 * What a request may cost at most, in US dollars, before it is sent: the gateway reserves this
 * much of a key's spend limit and refuses the request (402) when it does not fit. The figure
 * comes from the model's prices (`ProviderModel.pricing`, per unit) and the request's size: the
 * quantities are upper bounds where the request says (its `maxTokens`, `durationSeconds`, size and
 * count) and documented defaults where it does not.
 *
 * Quantities per unit:
 * - token: input `ceil(characters / 3)` of the prompt and system text (a pessimistic ratio: English
 *   runs near 4 characters a token); output `maxTokens`, else the model's `maxOutputTokens`, else
 *   4096. Only text-to-text (and text-to-speech input) can be counted in tokens here.
 * - character: the characters of the input text.
 * - image: the images made (`n`, `num_images` or `num_outputs` in `extra`, default 1); on the
 *   input side, the one input image.
 * - megapixel: images made × width × height (default 1024 × 1024); an upscaled image: the input's
 *   width × height (default 1024 × 1024) × `scale`² (default 4); for video, width × height
 *   (default 1280 × 720; a video-to-video input's own) × frames (seconds × fps, default 24).
 * - second, minute: video and audio made: `durationSeconds`, else the model's
 *   `maxDurationSeconds`, else 10 s of video or 30 s of audio; video-to-video: the input's
 *   duration, else the model's `maxDurationSeconds`, else unknown; speech made from text: one second
 *   per 10 characters at speed 1 (a slow speaker); speech transcribed: the input's duration, else
 *   the model's `maxDurationSeconds`, else unknown.
 * - request: 1.
 * - step: images made × `steps` (default 50).
 *
 * A price whose quantity cannot be bounded makes the whole estimate `undefined` (unknown), as
 * does a model without prices that is not free. Free models cost 0.
 *
 * @module
 */
import type { Audio, Image, Text, Video } from "../domain/Asset.js"
import type { MediaCapability } from "../domain/Capability.js"
import type { InputOf, OptionsOf } from "../domain/MediaProvider.js"
import type { Price, ProviderModel } from "../domain/Model.js"

/** Output tokens assumed when neither the request nor the model bounds them. */
export const defaultMaxOutputTokens = 4096
/** Seconds of video assumed when neither the request nor the model bounds them. */
export const defaultVideoSeconds = 10
/** Seconds of audio (sound, music) assumed when neither the request nor the model bounds them. */
export const defaultAudioSeconds = 30
/** Characters of text spoken per second, slowly (normal speech is nearer 15). */
export const speechCharactersPerSecond = 10
/** The size of an image when the request does not say. */
export const defaultImageSize = { width: 1024, height: 1024 } as const
/** The size of a video when the request does not say. */
export const defaultVideoSize = { width: 1280, height: 720 } as const
/** Frames per second of a video when the request does not say. */
export const defaultFps = 24
/** The scale factor of an upscale when the request does not say (the largest most upscalers take). */
export const defaultUpscale = 4
/** Diffusion steps when the request does not say. */
export const defaultSteps = 50
/** Characters per token assumed for input text (pessimistic: more tokens than most tokenizers make). */
export const charactersPerToken = 3

type AnyInput = InputOf<MediaCapability>
type AnyOptions = OptionsOf<MediaCapability>

// The option bags are read by field: each capability's options type has a subset of these.
const field = (options: AnyOptions | undefined, name: string): number | undefined => {
  if (options === undefined || !(name in options)) return undefined
  const value: unknown = Reflect.get(options, name)
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined
}

// Every input but a composition is an asset with a tag.
const asset = (input: AnyInput): Text | Image | Audio | Video | undefined => ("_tag" in input ? input : undefined)

const text = (input: AnyInput): string | undefined => {
  const given = asset(input)
  return given?._tag === "Text" ? given.text : undefined
}

// How many outputs the request asks for, in the provider-specific names of `extra`.
const outputCount = (options: AnyOptions | undefined): number => {
  const extra = options?.extra
  if (extra === undefined) return 1
  for (const name of ["n", "num_images", "num_outputs"]) {
    const value: unknown = extra[name]
    if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value
  }
  return 1
}

const isImage = (capability: MediaCapability) =>
  capability === "text-to-image" || capability === "image-to-image" || capability === "image-upscaling"
const isVideo = (capability: MediaCapability) =>
  capability === "text-to-video" || capability === "image-to-video" || capability === "video-to-video"

/** Seconds of media the request makes (or, for speech-to-text, takes), or undefined when unbounded. */
const seconds = (model: ProviderModel, capability: MediaCapability, input: AnyInput, options: AnyOptions | undefined): number | undefined => {
  const max = model.limits?.maxDurationSeconds
  switch (capability) {
    case "text-to-video":
    case "image-to-video":
      return field(options, "durationSeconds") ?? max ?? defaultVideoSeconds
    case "video-to-video": {
      // The video made is as long as the one given, which only its asset may tell.
      const given = asset(input)
      return (given?._tag === "Video" ? given.duration : undefined) ?? max
    }
    case "text-to-audio":
      return field(options, "durationSeconds") ?? max ?? defaultAudioSeconds
    case "text-to-speech": {
      const spoken = text(input)
      const speed = field(options, "speed") ?? 1
      return spoken === undefined || speed <= 0 ? undefined : spoken.length / speechCharactersPerSecond / speed
    }
    case "speech-to-text":
    case "audio-enhancement": {
      const given = asset(input)
      return (given?._tag === "Audio" ? given.duration : undefined) ?? max
    }
    default:
      return undefined
  }
}

/** How many units of `price` the request uses at most, or undefined when that cannot be bounded. */
const quantity = (
  price: Price,
  model: ProviderModel,
  capability: MediaCapability,
  input: AnyInput,
  options: AnyOptions | undefined
): number | undefined => {
  const prompt = text(input)
  switch (price.unit) {
    case "request":
      return 1
    case "token": {
      if (price.applies === "input") {
        if (prompt === undefined) return undefined
        const system = capability === "text-to-text" && options !== undefined && "system" in options ? (options.system ?? "") : ""
        return Math.ceil((prompt.length + system.length) / charactersPerToken)
      }
      if (capability !== "text-to-text") return undefined
      const output = field(options, "maxTokens") ?? model.limits?.maxOutputTokens ?? defaultMaxOutputTokens
      return price.applies === "output" ? output : undefined
    }
    case "character":
      return prompt?.length
    case "image":
      if (price.applies === "input") return asset(input)?._tag === "Image" ? 1 : undefined
      return isImage(capability) ? outputCount(options) : undefined
    case "megapixel": {
      if (isImage(capability)) {
        const given = asset(input)
        if (price.applies === "input") {
          if (given?._tag !== "Image") return undefined
          const width = given.width ?? field(options, "width") ?? defaultImageSize.width
          const height = given.height ?? field(options, "height") ?? defaultImageSize.height
          return (width * height) / 1e6
        }
        if (capability === "image-upscaling") {
          const scale = field(options, "scale") ?? defaultUpscale
          const width = (given?._tag === "Image" ? given.width : undefined) ?? defaultImageSize.width
          const height = (given?._tag === "Image" ? given.height : undefined) ?? defaultImageSize.height
          return (width * scale * height * scale) / 1e6
        }
        const width = field(options, "width") ?? defaultImageSize.width
        const height = field(options, "height") ?? defaultImageSize.height
        return (outputCount(options) * width * height) / 1e6
      }
      if (isVideo(capability)) {
        const duration = seconds(model, capability, input, options)
        if (duration === undefined) return undefined
        const given = asset(input)
        const source = given?._tag === "Video" ? given : undefined
        const width = source?.width ?? field(options, "width") ?? defaultVideoSize.width
        const height = source?.height ?? field(options, "height") ?? defaultVideoSize.height
        const frames = Math.ceil(duration * (source?.fps ?? field(options, "fps") ?? defaultFps))
        return (width * height * frames) / 1e6
      }
      return undefined
    }
    case "second":
    case "minute": {
      const duration = seconds(model, capability, input, options)
      if (duration === undefined) return undefined
      return price.unit === "second" ? duration : duration / 60
    }
    case "step":
      return isImage(capability) ? outputCount(options) * (field(options, "steps") ?? defaultSteps) : undefined
  }
}

/**
 * The most a request to `model` may cost, in US dollars: 0 for a free model, `undefined` when
 * the model (or one of its prices' quantities) is unknown. Pure; see the module's comment for
 * how each unit is counted.
 */
export const worstCase = <C extends MediaCapability>(
  model: ProviderModel | undefined,
  capability: C,
  input: InputOf<C>,
  options?: OptionsOf<C>
): number | undefined => {
  if (model === undefined) return undefined
  if (model.free) return 0
  if (model.pricing.length === 0) return undefined
  let total = 0
  for (const price of model.pricing) {
    const units = quantity(price, model, capability, input, options)
    if (units === undefined) return undefined
    total += price.usd * units
  }
  return total
}
