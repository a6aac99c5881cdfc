/**
 * OpenRouter as the registry and the command line see it.
 *
 * @module
 */
import { type ProviderManifest, remote } from "../Manifest.js"
import { settings } from "./OpenRouterConfig.js"
import { layer } from "./OpenRouterProvider.js"

/** OpenRouter: text (and images from chat models, videos as jobs) across many upstream providers. */
export const manifest: ProviderManifest = remote(settings, layer)
