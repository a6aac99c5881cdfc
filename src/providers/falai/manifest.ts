/**
 * fal.ai as the registry and the command line see it.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type { ProviderManifest } from "../Manifest.js"
import * as FalAiConfig from "./FalAiConfig.js"
import { layer, makeWithJobs } from "./FalAiProvider.js"

/** fal.ai: queued image, video, audio and transcription jobs. */
export const manifest: ProviderManifest = {
  id: FalAiConfig.settings.id,
  name: FalAiConfig.settings.name,
  type: "remote",
  settings: FalAiConfig.variables,
  layer,
  jobs: Effect.map(makeWithJobs(), (made) => made.jobs)
}
