/**
 * Replicate as the registry and the command line see it.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type { ProviderManifest } from "../Manifest.js"
import * as ReplicateConfig from "./ReplicateConfig.js"
import { layer, makeWithJobs } from "./ReplicateProvider.js"

/** Replicate: predictions by model or version, followed to their result. */
export const manifest: ProviderManifest = {
  id: ReplicateConfig.settings.id,
  name: ReplicateConfig.settings.name,
  type: "remote",
  settings: ReplicateConfig.variables,
  layer,
  jobs: Effect.map(makeWithJobs(), (made) => made.jobs)
}
