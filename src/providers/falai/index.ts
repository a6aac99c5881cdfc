/**
 * The fal.ai provider (queued image, video, audio and transcription jobs): the provider layer,
 * its job API (`FalAiJobs`: submit, resume, cancel with `JobTicket`s), its settings
 * (`FalAiConfig`), the typed queue client (`FalAiClient`), and its models: the categorization of
 * fal's listing (`Categories`), the curated table (`Curated`), the input each capability sends
 * (`Inputs`) and where results are in an output (`Outputs`).
 *
 * @module
 */
export * as FalAiClient from "./FalAiClient.js"
export * as FalAiConfig from "./FalAiConfig.js"
export * as Categories from "./models/Categories.js"
export * as Curated from "./models/Curated.js"
export * as Inputs from "./models/Inputs.js"
export * as Outputs from "./models/Outputs.js"
export {
  FalAiJobs,
  type FalAiOptions,
  jobsLayer,
  layer,
  layerWith,
  make,
  makeFromClient,
  makeWithJobs,
  publicPlatformUrl,
  publicQueueUrl
} from "./FalAiProvider.js"
export { manifest } from "./manifest.js"
