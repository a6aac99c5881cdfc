/**
 * fal.ai as the registry and the command line see it.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type { ProviderManifest } from "../Manifest.js"
import { layer, makeWithJobs } from "./FalAiProvider.js"

/** fal.ai: queued image, video, audio and transcription jobs. */
export const manifest: ProviderManifest = {
  id: "falai",
  name: "fal.ai",
  type: "remote",
  settings: ["FALAI_API_KEY", "FAL_KEY", "FALAI_BASE_URL", "FALAI_PLATFORM_URL", "FALAI_TIMEOUT", "FALAI_RETRIES"],
  layer,
  jobs: Effect.map(makeWithJobs(), (made) => made.jobs)
}
