/**
 * The capabilities a provider can offer. An application asks for a capability
 * ("text-to-image"), the registry finds the providers and models that have it.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/**
 * The capabilities a remote provider runs as a queued job (fal.ai, Replicate): generations and
 * transcriptions, which may wait in a queue and run for minutes, so they are submitted, followed
 * and cancelled as jobs. Chat answers within one request, and composition and enhancement run on
 * the local FFmpeg service, so they are not among them.
 */
export const JobCapabilities = [
  "text-to-image",
  "image-to-image",
  "image-upscaling",
  "text-to-video",
  "image-to-video",
  "video-to-video",
  "text-to-audio",
  "text-to-speech",
  "speech-to-text"
] as const

/** Every capability, in the order they are listed to users. */
export const MediaCapabilities = ["text-to-text", ...JobCapabilities, "video-composition", "audio-enhancement"] as const

/** Schema of one capability literal; decoding an unknown string fails with the list of valid ones. */
export const MediaCapability = Schema.Literal(...MediaCapabilities)

/** One capability, e.g. `"text-to-image"`. */
export type MediaCapability = typeof MediaCapability.Type

/** Whether a string names a capability. */
export const isMediaCapability = Schema.is(MediaCapability)

/** Schema of a capability a queued job can have; decoding any other fails with the list of valid ones. */
export const JobCapability = Schema.Literal(...JobCapabilities)

/** A capability a queued job can have, e.g. `"text-to-video"`. */
export type JobCapability = typeof JobCapability.Type
