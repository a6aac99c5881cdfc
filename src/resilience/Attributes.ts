/**
 * The names of automarket's spans and of their attributes, in one place: the registry, the HTTP
 * stack, the job runner and the durable steps write them, tests and dashboards read them.
 *
 * What never becomes an attribute: a header, a URL's query string, a request or response body,
 * anything an API key could hide in. Paths are recorded without their query (`pathOf`).
 *
 * @module
 */

/** Span names, all prefixed `automarket.`. */
export const SpanName = {
  /** One registry call (`generateDetailed`), fallback included. */
  generate: "automarket.generate",
  /** One provider's try inside a registry call (a step of the fallback plan). */
  attempt: "automarket.attempt",
  /** One HTTP exchange (a try inside the retry loop), body read included. */
  http: "automarket.http",
  /** A streamed text generation (`streamTextDetailed`), from the first provider to the last delta. */
  stream: "automarket.stream",
  /** Submitting a queued job. */
  jobSubmit: "automarket.job.submit",
  /** The whole wait for a queued job, every poll included. */
  jobPoll: "automarket.job.poll",
  /** Downloading a job's result file. */
  jobDownload: "automarket.job.download",
  /** A durable generation's step: `automarket.durable.route`, `.submit`, `.collect`, `.call`, `.deliver`. */
  durable: (step: "route" | "submit" | "collect" | "call" | "deliver") => `automarket.durable.${step}`
} as const

/** Attribute keys. Metric tags use the same words (without the `automarket.` prefix). */
export const Attribute = {
  capability: "automarket.capability",
  provider: "automarket.provider",
  model: "automarket.model",
  /** How many providers a registry call tried (the one that served included). */
  attempts: "automarket.attempts",
  /** The position of a try in the fallback order, from 0. */
  attemptIndex: "automarket.attempt.index",
  /** The `_tag` of the `MediaError` a call or a try ended with. */
  errorTag: "automarket.error.tag",
  /** What the result cost, in US dollars, when the provider priced it. */
  costUsd: "automarket.cost_usd",
  /** The call's own time: wall time minus the time spent waiting on providers (see `ProviderWait`). */
  overheadMs: "automarket.overhead_ms",
  /** The try number inside the HTTP retry loop, from 1. */
  httpAttempt: "automarket.http.attempt",
  /** Bytes of an answer's body that were read. */
  bytes: "automarket.bytes",
  jobId: "automarket.job.id",
  /** Status reads of one job wait. */
  polls: "automarket.job.polls",
  /** A durable generation's id. */
  generationId: "automarket.generation.id",
  httpMethod: "http.request.method",
  httpStatus: "http.response.status_code",
  /** The request's path without its query string. */
  urlPath: "url.path",
  serverAddress: "server.address"
} as const

/** The path of a relative path or absolute URL, without query string or fragment: what may be recorded of a request's target. */
export const pathOf = (target: string): string => {
  const end = target.search(/[?#]/)
  const bare = end === -1 ? target : target.slice(0, end)
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(bare)
  return scheme === null ? bare : bare.slice(scheme[0].length) || "/"
}
