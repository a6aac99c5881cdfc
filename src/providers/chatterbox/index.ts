/**
 * The Chatterbox provider (text-to-speech through Chatterbox TTS Server's API): the provider and
 * its typed client.
 *
 * @module
 */
export * as ChatterboxClient from "./ChatterboxClient.js"
export * as ChatterboxConfig from "./ChatterboxConfig.js"
export { envVar } from "./ChatterboxConfig.js"
export { type ChatterboxOptions, layer, make, mimeTypes } from "./ChatterboxProvider.js"
export { manifest } from "./manifest.js"
