/**
 * The fal.ai provider (queued image, video, audio and transcription jobs): the provider layer,
 * its job API (`FalAiJobs`: submit, resume, cancel with `JobTicket`s), the typed queue client and
 * the model table.
 *
 * @module
 */
export * as FalAiClient from "./FalAiClient.js"
export * as FalAiModels from "./FalAiModels.js"
export {
  FalAiJobs,
  type FalAiOptions,
  jobsLayer,
  layer,
  layerWith,
  make,
  makeWithJobs,
  publicPlatformUrl,
  publicQueueUrl
} from "./FalAiProvider.js"
export { manifest } from "./manifest.js"
