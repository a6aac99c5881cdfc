/**
 * OpenRouter as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { settings, variables } from "./OpenRouterConfig.js"
import { layer } from "./OpenRouterProvider.js"

/** OpenRouter: text (and images from chat models) across many upstream providers. */
export const manifest: ProviderManifest = {
  id: settings.id,
  name: settings.name,
  type: "remote",
  settings: variables,
  layer
}
