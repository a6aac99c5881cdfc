/**
 * Together AI as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { settings, variables } from "./TogetherConfig.js"
import { layer } from "./TogetherProvider.js"

/** Together AI: text, images, speech and transcription over an OpenAI-style API. */
export const manifest: ProviderManifest = {
  id: settings.id,
  name: settings.name,
  type: "remote",
  settings: variables,
  layer
}
