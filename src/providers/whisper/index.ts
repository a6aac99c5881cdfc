/**
 * The Whisper provider (speech-to-text through whisper-asr-webservice's API): the provider, its
 * typed client and the transcript renderer.
 *
 * @module
 */
export * as WhisperClient from "./WhisperClient.js"
export * as WhisperConfig from "./WhisperConfig.js"
export { envVar } from "./WhisperConfig.js"
export { genericModelId, layer, make, renderTranscript, type TranscriptFormat, TranscriptFormats } from "./WhisperProvider.js"
export { manifest } from "./manifest.js"
