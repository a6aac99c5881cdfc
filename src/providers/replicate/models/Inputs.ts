/**
 * The input Replicate's models take for each capability, from our text, asset URL and options
 * (the parameter names of the curated models: FLUX Kontext's `input_image`, Real-ESRGAN's `image`
 * and `scale`, MiniMax speech's `voice_id`, Whisper's `audio` ...). `options.extra` is merged
 * last, as is.
 *
 * Models of one collection name their picture, recording or text differently: `placeBySchema`
 * moves it to the field the model's published schema declares (`inputPlaces`).
 *
 * @module
 */
import type { Text } from "../../../domain/Asset.js"
import type { JobCapability } from "../../../domain/Capability.js"
import type {
  AudioOptions,
  ImageOptions,
  SpeechOptions,
  TranscriptionOptions,
  UpscaleOptions,
  VideoOptions
} from "../../../domain/MediaProvider.js"
import { definedFields } from "../../../jobs/Inputs.js"

type Input = Readonly<Record<string, unknown>>

/** The input of a text-to-image prediction. */
export const textToImageInput = (prompt: Text, options: ImageOptions | undefined): Input =>
  definedFields({
    prompt: prompt.text,
    width: options?.width,
    height: options?.height,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of an image-to-image prediction (`input_image`, as FLUX Kontext names it). */
export const imageToImageInput = (imageUrl: string, options: ImageOptions | undefined): Input =>
  definedFields({ input_image: imageUrl, prompt: options?.prompt ?? "", seed: options?.seed, ...options?.extra })

/** The input of an image upscaling prediction (`image` and `scale`, as Real-ESRGAN and the super-resolution collection's models name them). */
export const upscaleInput = (imageUrl: string, options: UpscaleOptions | undefined): Input =>
  definedFields({ image: imageUrl, scale: options?.scale, ...options?.extra })

/** The input of a text-to-video prediction. */
export const textToVideoInput = (prompt: Text, options: VideoOptions | undefined): Input =>
  definedFields({ prompt: prompt.text, duration: options?.durationSeconds, seed: options?.seed, ...options?.extra })

/** The input of an image-to-video prediction. */
export const imageToVideoInput = (imageUrl: string, options: VideoOptions | undefined): Input =>
  definedFields({ image: imageUrl, prompt: options?.prompt ?? "", duration: options?.durationSeconds, seed: options?.seed, ...options?.extra })

/** The input of a text-to-audio prediction. */
export const textToAudioInput = (prompt: Text, options: AudioOptions | undefined): Input =>
  definedFields({ prompt: prompt.text, duration: options?.durationSeconds, ...options?.extra })

/** The input of a text-to-speech prediction. */
export const textToSpeechInput = (prompt: Text, options: SpeechOptions | undefined): Input =>
  definedFields({ text: prompt.text, voice_id: options?.voice, speed: options?.speed, ...options?.extra })

/** The input of a speech-to-text prediction. */
export const speechToTextInput = (audioUrl: string, options: TranscriptionOptions | undefined): Input =>
  definedFields({ audio: audioUrl, language: options?.language, ...options?.extra })

/** A field a model takes an input in: its name, and whether it takes a list of them. */
export interface InputPlace {
  readonly field: string
  readonly list?: boolean
}

/**
 * Where Replicate's models take what a capability sends, as data: the field the builder uses,
 * then the names other models give it (FLUX Kontext's `input_image`, Qwen Image Edit's `image`,
 * Nano Banana's `image_input` list; Wan's `image`, Kling's `start_image`, MiniMax video-01's
 * `first_frame_image`; MiniMax speech's `text`, Chatterbox's `prompt`; Whisper's `audio`,
 * WhisperX's `audio_file`).
 */
export const inputPlaces: { readonly [C in JobCapability]?: readonly [InputPlace, ...ReadonlyArray<InputPlace>] } = {
  "image-to-image": [{ field: "input_image" }, { field: "image" }, { field: "image_input", list: true }],
  "image-to-video": [{ field: "image" }, { field: "start_image" }, { field: "first_frame_image" }],
  "text-to-speech": [{ field: "text" }, { field: "prompt" }],
  "speech-to-text": [{ field: "audio" }, { field: "audio_file" }]
}

/**
 * `input` with the value in the builder's field of `capability` moved to the first other field of
 * `inputPlaces` the model's schema declares (`properties`, its top-level names), when the schema
 * does not declare the builder's. Left as it is without a schema, when no other field is declared,
 * or when `options.extra` already set that field.
 */
export const placeBySchema = (capability: JobCapability, input: Input, properties: ReadonlyArray<string>): Input => {
  const places = inputPlaces[capability]
  if (places === undefined || properties.length === 0) return input
  const [built, ...others] = places
  if (properties.includes(built.field) || !(built.field in input)) return input
  const place = others.find((other) => properties.includes(other.field))
  if (place === undefined || place.field in input) return input
  const { [built.field]: value, ...rest } = input
  return { ...rest, [place.field]: place.list === true ? [value] : value }
}
