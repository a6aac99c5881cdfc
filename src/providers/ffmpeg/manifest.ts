/**
 * The FFmpeg provider as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { envVar, providerId } from "./FFmpegConfig.js"
import { layer } from "./FFmpegProvider.js"

/** FFmpeg: video composition, audio enhancement, slides and ambient beds on our FFmpeg service. */
export const manifest: ProviderManifest = {
  id: providerId,
  name: "FFmpeg",
  type: "local",
  settings: [envVar],
  layer
}
