/**
 * The Whisper provider as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { envVar, providerId } from "./WhisperConfig.js"
import { layer } from "./WhisperProvider.js"

/** Whisper: speech-to-text on a whisper-asr-webservice (ours, over pocketsphinx, unless one is configured). */
export const manifest: ProviderManifest = {
  id: providerId,
  name: "Whisper ASR",
  type: "local",
  settings: [envVar],
  layer
}
