/**
 * What `GET /health` of the TTS and STT services answers (a route of ours: the real services have
 * none): the service is up, for how long, how busy its job queue is, and which engine is behind
 * the API. The FFmpeg service answers its own shape (`ffmpeg/Api.ts`), from the same counts.
 *
 * @module
 */
import * as Schema from "effect/Schema"
import type { JobCounts } from "./JobQueue.js"

/** What `/health` answers: the service is up, how long, and how busy. */
export const HealthResponse = Schema.Struct({
  status: Schema.Literal("healthy"),
  service: Schema.String,
  /** Milliseconds since the service started. */
  uptime: Schema.Number,
  activeJobs: Schema.Number,
  queuedJobs: Schema.Number,
  /** The engine behind the API, e.g. `flite` or `pocketsphinx-en-us`. */
  engine: Schema.String
})
/** What `/health` answers. */
export type HealthResponse = typeof HealthResponse.Type

/** The `/health` answer of `service`, run by `engine`, with its queue's counts. */
export const healthOf = (service: string, engine: string, counts: JobCounts): HealthResponse => ({
  status: "healthy",
  service,
  uptime: counts.uptime,
  activeJobs: counts.activeJobs,
  queuedJobs: counts.queuedJobs,
  engine
})
