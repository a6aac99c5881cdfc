/**
 * Together AI as the registry and the command line see it.
 *
 * @module
 */
import { type ProviderManifest, remote } from "../Manifest.js"
import { settings } from "./TogetherConfig.js"
import { layer } from "./TogetherProvider.js"

/** Together AI: text, images, speech and transcription over an OpenAI-style API. */
export const manifest: ProviderManifest = remote(settings, layer)
