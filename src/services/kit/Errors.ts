/**
 * The errors of the local services: one class a status, the same classes in all three services.
 * How an error is written on the wire is not decided here but by each service's `Api.ts`, which
 * declares every class with the encoding its API speaks: FastAPI's `{"detail": ...}`
 * (`FastApi.ts`, the TTS and STT services) or the FFmpeg service's envelope
 * `{"success": false, "error", "code"}` (`ffmpeg/Api.ts`). A handler fails with the class, the
 * API's encoding writes it.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** 400: the request is understood but cannot be served as asked (an unsafe file name, undecodable audio, an unknown language). */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}

/**
 * 401: the service was started with a bearer token and the request did not carry it (or carried
 * another). Answered by the guard, before the request's body is read.
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}

/**
 * 403: the request is refused for where it comes from: a `Host` that does not name this service
 * (DNS rebinding), a page of another site (`Origin`, `Sec-Fetch-Site`). Answered by the guard,
 * before the request's body is read.
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {}

/** 404: a named thing (a voice, a result, a route) does not exist. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}

/** 413: the request body is larger than the service accepts. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", { message: Schema.String }) {}

/** 415: the body is not of the kind the route reads, or an input is not media the engine can read. */
export class UnsupportedMedia extends Schema.TaggedError<UnsupportedMedia>()("UnsupportedMedia", { message: Schema.String }) {}

/** One problem with a request: where (`loc`), what (`msg`), which kind (`type`), as FastAPI reports it. */
export const ValidationIssue = Schema.Struct({
  loc: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  msg: Schema.String,
  type: Schema.String
})
/** One problem with a request. */
export type ValidationIssue = typeof ValidationIssue.Type

/** 422: the request does not match the schema; each problem named with its place. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  issues: Schema.Array(ValidationIssue)
}) {
  override get message(): string {
    return this.issues.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; ")
  }
}

/** 500: the engine ran and failed. */
export class EngineFailed extends Schema.TaggedError<EngineFailed>()("EngineFailed", { message: Schema.String }) {}

/** 500: the service itself broke (a file it could not write, a failure it did not expect). */
export class Internal extends Schema.TaggedError<Internal>()("Internal", { message: Schema.String }) {}

/** 503: the service cannot take the job now (it is shutting down, it has no room to work in). */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { message: Schema.String }) {}

/** Every error a handler of a local service answers with. */
export type ServiceError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | PayloadTooLarge
  | UnsupportedMedia
  | ValidationFailed
  | EngineFailed
  | Internal
  | Unavailable

/** The HTTP status of each error, whatever the encoding of its body. */
export const statuses: { readonly [Tag in ServiceError["_tag"]]: number } = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  PayloadTooLarge: 413,
  UnsupportedMedia: 415,
  ValidationFailed: 422,
  EngineFailed: 500,
  Internal: 500,
  Unavailable: 503
}

/** The HTTP status an error is answered with. */
export const statusOf = (error: ServiceError): number => statuses[error._tag]

/**
 * An error class of this module whose body is one message, as the encodings take it: its schema
 * (instance on one side, `{_tag, message}` on the other) and its tag.
 */
export interface MessageErrorClass<E extends { readonly _tag: string; readonly message: string }> extends Schema.Schema<
  E,
  { readonly _tag: E["_tag"]; readonly message: string }
> {
  readonly _tag: E["_tag"]
}

/** Why a service could not start (its engine is missing, its work directory cannot be made). */
export class ServiceStartFailed extends Schema.TaggedError<ServiceStartFailed>()("ServiceStartFailed", {
  service: Schema.String,
  message: Schema.String
}) {}

/** The message of an unknown thrown value. */
/**
 * A message about a client's input, short whatever the input: each quoted string in it longer
 * than `maxQuote` characters keeps its head and says its length, and the whole is cut at
 * `maxLength`. Validation messages quote what was sent: uncapped, a 3 MB field came back as a
 * 6 MB answer (an amplifier, and a log flood).
 */
export const capQuotes = (text: string, options: { readonly maxQuote?: number; readonly maxLength?: number } = {}): string => {
  const maxQuote = options.maxQuote ?? 100
  const maxLength = options.maxLength ?? 2000
  const capped = text.replace(/"((?:[^"\\]|\\[\s\S])*)"/g, (whole, inner: string) =>
    inner.length > maxQuote ? `"${inner.slice(0, maxQuote)}…" (${inner.length} characters)` : whole
  )
  return capped.length > maxLength ? `${capped.slice(0, maxLength - 1)}…` : capped
}

export const messageOf = (u: unknown): string => (u instanceof Error ? u.message : String(u))
