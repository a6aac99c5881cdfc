/**
 * Together AI as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { layer } from "./TogetherProvider.js"

/** Together AI: text, images, speech and transcription over an OpenAI-style API. */
export const manifest: ProviderManifest = {
  id: "together",
  name: "Together AI",
  type: "remote",
  settings: ["TOGETHER_API_KEY", "TOGETHER_BASE_URL", "TOGETHER_TIMEOUT", "TOGETHER_RETRIES"],
  layer
}
