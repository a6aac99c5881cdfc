/**
 * The input Replicate's models take for each capability, from our text, asset URL and options
 * (the parameter names of the curated models: FLUX Kontext's `input_image`, MiniMax speech's
 * `voice_id`, Whisper's `audio` ...). `options.extra` is merged last, as is.
 *
 * @module
 */
import type { Text } from "../../../domain/Asset.js"
import type { AudioOptions, ImageOptions, SpeechOptions, TranscriptionOptions, VideoOptions } from "../../../domain/MediaProvider.js"
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
