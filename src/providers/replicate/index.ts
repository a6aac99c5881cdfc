/**
 * The Replicate provider (predictions for images, video, audio, speech and transcripts): the
 * provider layer, its job API (`ReplicateJobs`: submit, resume, cancel with `JobTicket`s), its
 * settings (`ReplicateConfig`), the typed client (`ReplicateClient`), and its models: the
 * collections that categorize them (`Collections`), the curated table (`Curated`), the input
 * each capability sends (`Inputs`) and where results are in an output (`Outputs`).
 *
 * @module
 */
export * as Collections from "./models/Collections.js"
export * as Curated from "./models/Curated.js"
export * as Inputs from "./models/Inputs.js"
export * as Outputs from "./models/Outputs.js"
export * as ReplicateClient from "./ReplicateClient.js"
export * as ReplicateConfig from "./ReplicateConfig.js"
export {
  jobsLayer,
  layer,
  layerWith,
  make,
  makeFromClient,
  makeWithJobs,
  ReplicateJobs,
  type ReplicateJobSettings,
  type ReplicateOptions
} from "./ReplicateProvider.js"
export { manifest } from "./manifest.js"
