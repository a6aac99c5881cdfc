/**
 * The Together AI provider (text, streamed text, text-to-image, image-to-image, text-to-speech, speech-to-text):
 * the provider, its typed client and its categorization rules.
 *
 * @module
 */
export * as Categories from "./Categories.js"
export * as Parameters from "./Parameters.js"
export * as TogetherClient from "./TogetherClient.js"
export * as TogetherConfig from "./TogetherConfig.js"
export { chatRequest, defaultModels, defaultVoice, layer, layerWith, make, type TogetherProviderService } from "./TogetherProvider.js"
export { manifest } from "./manifest.js"
