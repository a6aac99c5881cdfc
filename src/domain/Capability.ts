/**
 * The capabilities a provider can offer. An application asks for a capability
 * ("text-to-image"), the registry finds the providers and models that have it.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** Every capability, in the order they are listed to users. */
export const MediaCapabilities = [
  "text-to-text",
  "text-to-image",
  "image-to-image",
  "text-to-video",
  "image-to-video",
  "text-to-audio",
  "text-to-speech",
  "speech-to-text",
  "video-composition",
  "audio-enhancement"
] as const

/** Schema of one capability literal; decoding an unknown string fails with the list of valid ones. */
export const MediaCapability = Schema.Literal(...MediaCapabilities)

/** One capability, e.g. `"text-to-image"`. */
export type MediaCapability = typeof MediaCapability.Type

/** Whether a string names a capability. */
export const isMediaCapability = Schema.is(MediaCapability)
