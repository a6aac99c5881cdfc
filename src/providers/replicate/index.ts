/**
 * The Replicate provider (predictions for images, video, audio, speech and transcripts): the
 * provider layer, its job API (`ReplicateJobs`: submit, resume, cancel with `JobTicket`s), the
 * typed client and the model table.
 *
 * @module
 */
export * as ReplicateClient from "./ReplicateClient.js"
export * as ReplicateModels from "./ReplicateModels.js"
export { jobsLayer, layer, layerWith, make, makeWithJobs, ReplicateJobs, type ReplicateOptions } from "./ReplicateProvider.js"
export { manifest } from "./manifest.js"
