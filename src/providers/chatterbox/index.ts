/**
 * The Chatterbox provider (text-to-speech through Chatterbox TTS Server's API): the provider and
 * its typed client.
 *
 * @module
 */
export * as ChatterboxClient from "./ChatterboxClient.js"
export { type ChatterboxOptions, envVar, layer, make, mimeTypes } from "./ChatterboxProvider.js"
export { manifest } from "./manifest.js"
