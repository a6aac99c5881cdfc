/**
 * The input fal's models take for each capability, from our text, asset URL and options:
 * fal's parameter names (`image_size`, `image_url`, `video_url`, `audio_url` ...) and the models'
 * own conventions (Kling's duration as a string, Stable Audio's `seconds_total`, an upscaler's
 * factor as `scale`, `upscale_factor` or `upscaling_factor`). `options.extra` is merged last, as
 * is: fal's own parameters.
 *
 * @module
 */
import type { Text } from "../../../domain/Asset.js"
import type {
  AudioOptions,
  ImageOptions,
  SpeechOptions,
  TranscriptionOptions,
  UpscaleOptions,
  VideoEditOptions,
  VideoOptions
} from "../../../domain/MediaProvider.js"
import { definedFields } from "../../../jobs/Inputs.js"

type Input = Readonly<Record<string, unknown>>

/** The input of a text-to-image job. */
export const textToImageInput = (prompt: Text, options: ImageOptions | undefined): Input =>
  definedFields({
    prompt: prompt.text,
    image_size: options?.width !== undefined && options.height !== undefined ? { width: options.width, height: options.height } : undefined,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of an image-to-image job (the image as `image_url`). */
export const imageToImageInput = (imageUrl: string, options: ImageOptions | undefined): Input =>
  definedFields({
    image_url: imageUrl,
    prompt: options?.prompt ?? "",
    strength: options?.strength,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of a text-to-video job. Kling-style models take `duration` as a string ("5", "10"). */
export const textToVideoInput = (model: string, prompt: Text, options: VideoOptions | undefined): Input =>
  definedFields({
    prompt: prompt.text,
    duration: durationFor(model, options?.durationSeconds),
    seed: options?.seed,
    ...options?.extra
  })

/** The input of an image-to-video job (the picture as `image_url`). */
export const imageToVideoInput = (model: string, imageUrl: string, options: VideoOptions | undefined): Input =>
  definedFields({
    image_url: imageUrl,
    prompt: options?.prompt ?? "",
    duration: durationFor(model, options?.durationSeconds),
    seed: options?.seed,
    ...options?.extra
  })

/**
 * The input of a video-to-video job (the video as `video_url`). The prompt is sent only when
 * given: fal's video upscalers and interpolators, listed under video-to-video too, take none,
 * and a model that needs one says so through its schema.
 */
export const videoToVideoInput = (videoUrl: string, options: VideoEditOptions | undefined): Input =>
  definedFields({
    video_url: videoUrl,
    prompt: options?.prompt,
    negative_prompt: options?.negativePrompt,
    seed: options?.seed,
    ...options?.extra
  })

/** The input of an image upscaling job: the picture as `image_url`, the factor as `scale` (see `placeScale`). */
export const upscaleInput = (imageUrl: string, options: UpscaleOptions | undefined): Input =>
  definedFields({ image_url: imageUrl, scale: options?.scale, ...options?.extra })

const durationFor = (model: string, seconds: number | undefined): unknown =>
  seconds === undefined ? undefined : model.includes("kling") ? String(Math.round(seconds)) : seconds

/** The input of a text-to-audio job (Stable Audio calls the length `seconds_total`). */
export const textToAudioInput = (model: string, prompt: Text, options: AudioOptions | undefined): Input =>
  definedFields({
    prompt: prompt.text,
    ...(options?.durationSeconds !== undefined
      ? model.includes("stable-audio")
        ? { seconds_total: options.durationSeconds }
        : { duration: options.durationSeconds }
      : {}),
    ...options?.extra
  })

/**
 * The input of a text-to-speech job. fal's speech endpoints do not agree on names: Kokoro and
 * MiniMax's later Speech models take the text as `prompt`, MiniMax's Speech-02 as `text`; MiniMax
 * puts voice and speed inside `voice_setting` and is asked for `output_format: "url"` (its
 * default, hex, is no file to download); the rest take `text`, `voice` and `speed`. Where the
 * model publishes a schema, `placeText` corrects the text's field. `options.extra` wins.
 */
export const textToSpeechInput = (model: string, prompt: Text, options: SpeechOptions | undefined): Input => {
  const family = speechFamilyOf(model)
  const voice = options?.voice
  const speed = options?.speed
  const voiceSetting = voice !== undefined || speed !== undefined ? { voice_setting: definedFields({ voice_id: voice, speed }) } : {}
  switch (family) {
    case "minimax-text":
      return definedFields({ text: prompt.text, ...voiceSetting, output_format: "url", ...options?.extra })
    case "minimax-prompt":
      return definedFields({ prompt: prompt.text, ...voiceSetting, output_format: "url", ...options?.extra })
    case "prompt":
      return definedFields({ prompt: prompt.text, voice, speed, ...options?.extra })
    case "text":
      return definedFields({ text: prompt.text, voice, speed, ...options?.extra })
  }
}

/** How a speech endpoint names its text and voice (see `textToSpeechInput`). */
export const speechFamilyOf = (model: string): "minimax-text" | "minimax-prompt" | "prompt" | "text" => {
  if (/minimax/.test(model)) return /speech-0\d/.test(model) || /minimax-tts/.test(model) ? "minimax-text" : "minimax-prompt"
  return /kokoro/.test(model) ? "prompt" : "text"
}

/** The names fal's speech and sound endpoints give the text, in the order they are tried. */
export const textFields: ReadonlyArray<string> = ["text", "prompt", "input"]

/**
 * A text-to-speech or text-to-audio input with its text moved to the field the model's published
 * schema declares, when it declares none of the one the builder chose (a discovered endpoint of a
 * family the id rules do not know; fal lists some speech models under text-to-audio). Without a
 * schema (`properties` empty) the input is left as it is.
 */
export const placeText = (input: Input, properties: ReadonlyArray<string>): Input => {
  const used = textFields.find((name) => typeof input[name] === "string")
  if (used === undefined || properties.length === 0 || properties.includes(used)) return input
  const declared = textFields.find((name) => properties.includes(name))
  if (declared === undefined) return input
  const { [used]: value, ...rest } = input
  return { ...rest, [declared]: value }
}

/**
 * An image-to-image or image-to-video input with its picture sent as `image_urls: [url]` when the
 * model's schema declares that list and no `image_url` (fal's edit endpoints: Seedream edit,
 * Nano Banana edit take several pictures). Without a schema the input is left as it is.
 */
export const placeImage = (input: Input, properties: ReadonlyArray<string>): Input => {
  const url = input.image_url
  if (typeof url !== "string" || properties.length === 0 || properties.includes("image_url") || !properties.includes("image_urls")) return input
  const { image_url: _, ...rest } = input
  return { ...rest, image_urls: [url] }
}

/**
 * A video-to-video input with its video sent as `video_urls: [url]` when the model's schema
 * declares that list and no `video_url`, as `placeImage` does for pictures. Without a schema the
 * input is left as it is.
 */
export const placeVideo = (input: Input, properties: ReadonlyArray<string>): Input => {
  const url = input.video_url
  if (typeof url !== "string" || properties.length === 0 || properties.includes("video_url") || !properties.includes("video_urls")) return input
  const { video_url: _, ...rest } = input
  return { ...rest, video_urls: [url] }
}

/** The names fal's upscalers give the factor, in the order they are tried: ESRGAN and Creative Upscaler's, Clarity's, AuraSR's. */
export const scaleFields: ReadonlyArray<string> = ["scale", "upscale_factor", "upscaling_factor"]

/**
 * An upscaling input with its factor moved from `scale` to the field the model's schema declares
 * (Clarity Upscaler's `upscale_factor`, AuraSR's `upscaling_factor`) when it declares no `scale`.
 * Without a schema, or when the schema names none of them, the input is left as it is.
 */
export const placeScale = (input: Input, properties: ReadonlyArray<string>): Input => {
  if (input.scale === undefined || properties.length === 0 || properties.includes("scale")) return input
  const declared = scaleFields.find((name) => properties.includes(name))
  if (declared === undefined) return input
  const { scale, ...rest } = input
  return { ...rest, [declared]: scale }
}

/** The input of a speech-to-text job (the recording as `audio_url`). */
export const speechToTextInput = (audioUrl: string, options: TranscriptionOptions | undefined): Input =>
  definedFields({ audio_url: audioUrl, language: options?.language, ...options?.extra })
