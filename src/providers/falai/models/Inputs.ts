/**
 * The input fal's models take for each capability, from our text, asset URL and options:
 * fal's parameter names (`image_size`, `image_url`, `audio_url` ...) and the models' own
 * conventions (Kling's duration as a string, Stable Audio's `seconds_total`). `options.extra`
 * is merged last, as is: fal's own parameters.
 *
 * @module
 */
import type { Text } from "../../../domain/Asset.js"
import type { AudioOptions, ImageOptions, SpeechOptions, TranscriptionOptions, VideoOptions } from "../../../domain/MediaProvider.js"
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

/** The input of a text-to-speech job. */
export const textToSpeechInput = (prompt: Text, options: SpeechOptions | undefined): Input => ({
  text: prompt.text,
  ...(options?.voice !== undefined ? { voice: options.voice } : {}),
  ...options?.extra
})

/** The input of a speech-to-text job (the recording as `audio_url`). */
export const speechToTextInput = (audioUrl: string, options: TranscriptionOptions | undefined): Input =>
  definedFields({ audio_url: audioUrl, language: options?.language, ...options?.extra })
