/**
 * Replicate as the registry and the command line see it.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type { ProviderManifest } from "../Manifest.js"
import { layer, makeWithJobs } from "./ReplicateProvider.js"

/** Replicate: predictions by model or version, followed to their result. */
export const manifest: ProviderManifest = {
  id: "replicate",
  name: "Replicate",
  type: "remote",
  settings: ["REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "REPLICATE_TIMEOUT", "REPLICATE_RETRIES"],
  layer,
  jobs: Effect.map(makeWithJobs(), (made) => made.jobs)
}
