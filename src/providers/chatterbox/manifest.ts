/**
 * The Chatterbox provider as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { envVar, providerId } from "./ChatterboxConfig.js"
import { layer } from "./ChatterboxProvider.js"

/** Chatterbox: text-to-speech on a Chatterbox TTS server (ours, over flite, unless one is configured). */
export const manifest: ProviderManifest = {
  id: providerId,
  name: "Chatterbox TTS",
  type: "local",
  settings: [envVar],
  layer
}
