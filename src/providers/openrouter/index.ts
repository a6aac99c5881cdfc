/**
 * The OpenRouter provider (text, streamed text, text-to-image through chat, text- and image-to-video as jobs): the provider, its
 * typed client and its categorization rules.
 *
 * @module
 */
export * as Categories from "./Categories.js"
export * as OpenRouterClient from "./OpenRouterClient.js"
export * as OpenRouterConfig from "./OpenRouterConfig.js"
export { chatRequest, defaultModels, layer, layerWith, make, type OpenRouterProviderService } from "./OpenRouterProvider.js"
export { manifest } from "./manifest.js"
