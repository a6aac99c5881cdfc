/**
 * The FFmpeg provider as the registry and the command line see it.
 *
 * @module
 */
import type { ProviderManifest } from "../Manifest.js"
import { layer } from "./FFmpegProvider.js"

/** FFmpeg: video composition, audio enhancement, slides and ambient beds on our FFmpeg service. */
export const manifest: ProviderManifest = {
  id: "ffmpeg",
  name: "FFmpeg",
  type: "local",
  settings: ["FFMPEG_SERVICE_URL"],
  layer
}
