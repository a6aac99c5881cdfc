/**
 * OpenRouter as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { layer } from "./OpenRouterProvider.js"

/** OpenRouter: text (and images from chat models) across many upstream providers. */
export const manifest: ProviderManifest = {
  id: "openrouter",
  name: "OpenRouter",
  type: "remote",
  settings: ["OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "OPENROUTER_TIMEOUT", "OPENROUTER_RETRIES"],
  layer
}
