/**
 * What the TTS and STT services share because the services they stand in for (Chatterbox TTS
 * Server, whisper-asr-webservice) are FastAPI applications. First FastAPI's wire: every error is
 * `{"detail": "..."}`, a request that does not match the schema is 422
 * `{"detail": [{loc, msg, type}]}`, an unknown route is 404 `{"detail": "Not Found"}`; here as
 * `HttpApi` error schemas (`errors`, `api`), and as responses made outside the `HttpApi`
 * (`respond`). Then the kit's parts as these two services set them up: their guard (`guard`:
 * body limits, and FastAPI's readings of what the HTTP layer fails with), their work directory
 * and job queue (`workspace`), and the words they refuse in (an upload; a job directory or a
 * shutdown, prefixed with the service's name).
 *
 * @module
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Multipart from "@effect/platform/Multipart"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import {
  BadRequest,
  capQuotes,
  EngineFailed,
  Forbidden,
  Internal,
  type MessageErrorClass,
  messageOf,
  NotFound,
  PayloadTooLarge,
  type ServiceError,
  type ServiceStartFailed,
  statuses,
  Unauthorized,
  Unavailable,
  UnsupportedMedia,
  ValidationFailed,
  ValidationIssue
} from "./Errors.js"
import type { GuardPolicy } from "./Guard.js"
import * as JobQueue from "./JobQueue.js"
import type { ServerOptions, ServiceName } from "./ServerOptions.js"
import { overLimit, type UploadRefusals } from "./Upload.js"
import * as WorkDir from "./WorkDir.js"

// What the OpenAPI document says of each status.
const descriptions: { readonly [Tag in ServiceError["_tag"]]: string } = {
  BadRequest: "Invalid request",
  Unauthorized: "Missing or wrong bearer token",
  Forbidden: "Refused for where it comes from (Host, Origin)",
  NotFound: "Not found",
  PayloadTooLarge: "Request body too large",
  UnsupportedMedia: "Unsupported media type",
  ValidationFailed: "Validation Error",
  EngineFailed: "Internal error",
  Internal: "Internal error",
  Unavailable: "Service unavailable"
}

/** An error class as an `HttpApi` error schema: its status, body `{"detail": message}`. */
const detail = <E extends ServiceError>(errorClass: MessageErrorClass<E>) =>
  Schema.transform(Schema.Struct({ detail: Schema.String }), errorClass, {
    strict: true,
    decode: (body) => ({ _tag: errorClass._tag, message: body.detail }),
    encode: (error) => ({ detail: error.message })
  }).annotations(HttpApiSchema.annotations({ status: statuses[errorClass._tag], description: descriptions[errorClass._tag] }))

/** The error classes as `HttpApi` error schemas in FastAPI's encoding; declare these on the endpoints. */
export const errors = {
  BadRequest: detail(BadRequest),
  Unauthorized: detail(Unauthorized),
  Forbidden: detail(Forbidden),
  NotFound: detail(NotFound),
  PayloadTooLarge: detail(PayloadTooLarge),
  UnsupportedMedia: detail(UnsupportedMedia),
  /** 422, body `{"detail": [{loc, msg, type}]}` (FastAPI's `HTTPValidationError`). */
  ValidationFailed: Schema.transform(Schema.Struct({ detail: Schema.Array(ValidationIssue) }), ValidationFailed, {
    strict: true,
    decode: (body) => ({ _tag: "ValidationFailed" as const, issues: body.detail }),
    encode: (error) => ({ detail: error.issues })
  }).annotations(HttpApiSchema.annotations({ status: statuses.ValidationFailed, description: descriptions.ValidationFailed })),
  EngineFailed: detail(EngineFailed),
  Internal: detail(Internal),
  Unavailable: detail(Unavailable)
}

/**
 * The `HttpApi` of a FastAPI-style service: its routes, titled, and the two errors any of its
 * routes can answer (413 from the body limit, 422 for a request off the schema).
 */
export const api = <const Id extends string, Group extends HttpApiGroup.HttpApiGroup.Any>(id: Id, title: string, group: Group) =>
  HttpApi.make(id).annotate(OpenApi.Title, title).add(group).addError(errors.PayloadTooLarge).addError(errors.ValidationFailed)

/** An error as a response in FastAPI's encoding, for answers made before the `HttpApi` runs (the guard's). */
export const respond = (error: ServiceError): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ detail: error._tag === "ValidationFailed" ? error.issues : error.message }, { status: statuses[error._tag] })

/** A 422 about one field. */
export const invalid = (loc: ReadonlyArray<string | number>, msg: string, type = "value_error"): ValidationFailed =>
  new ValidationFailed({ issues: [{ loc, msg, type }] })

/** The message of a 413, naming the limit. */
export const tooLargeMessage = (maxBodyBytes: number): string =>
  `request body is larger than this service accepts (${maxBodyBytes} bytes)`

const expected = /^Expected (.*), actual (.*)$/s

/**
 * FastAPI-style issues from a decode error. The alternatives of a union (a literal list, an
 * optional field) come as one issue each; those at the same place are merged into one
 * `Expected a | b | c, actual x`, leaving out the absent-value alternatives.
 */
export const issuesOf = (error: HttpApiError.HttpApiDecodeError): ReadonlyArray<ValidationIssue> => {
  const byPlace = new Map<string, Array<HttpApiError.HttpApiDecodeError["issues"][number]>>()
  for (const issue of error.issues) {
    const key = JSON.stringify(issue.path)
    byPlace.set(key, [...(byPlace.get(key) ?? []), issue])
  }
  // At most `maxIssues` places, each message short (`capQuotes`): the answer stays small
  // whatever was sent.
  const places = [...byPlace.values()]
  const issues = places.slice(0, maxIssues).map((group): ValidationIssue => {
    const first = group[0]!
    const loc = first.path.map((part) => (typeof part === "number" ? part : capQuotes(String(part), { maxLength: 200 })))
    const parts = group.map((issue) => expected.exec(issue.message))
    if (group.length > 1 && parts.every((m) => m !== null)) {
      const options = parts.map((m) => m![1]!).filter((o) => o !== "undefined" && o !== "null")
      return { loc, msg: capQuotes(`Expected ${options.join(" | ")}, actual ${parts[0]![2]}`), type: first._tag }
    }
    return { loc, msg: capQuotes(group.map((issue) => issue.message).join("; ")), type: first._tag }
  })
  return places.length > maxIssues
    ? [...issues, { loc: ["body"], msg: `and ${places.length - maxIssues} more invalid places`, type: "too_many_errors" }]
    : issues
}

const maxIssues = 20

/**
 * What FastAPI answers to the HTTP layer's own failures: a schema mismatch is 422 with its
 * issues, malformed JSON 422 `json_invalid`, a body over `maxBodyBytes` 413, an unknown route 404
 * `Not Found`. Anything else is not the client's doing: undefined (it passes through).
 */
export const fromHttpFailure =
  (maxBodyBytes: number) =>
  (failure: unknown): ValidationFailed | PayloadTooLarge | NotFound | undefined => {
    if (failure instanceof HttpApiError.HttpApiDecodeError) return new ValidationFailed({ issues: issuesOf(failure) })
    if (!HttpServerError.isServerError(failure)) return undefined
    if (failure._tag === "RouteNotFound") return new NotFound({ message: "Not Found" })
    if (failure._tag !== "RequestError") return undefined
    const reason = messageOf(failure.cause)
    return /maxBytes exceeded/.test(reason)
      ? new PayloadTooLarge({ message: tooLargeMessage(maxBodyBytes) })
      : invalid(["body"], `JSON decode error: ${reason}`, "json_invalid")
  }

/**
 * The guard of a FastAPI-style service: a declared body larger than `maxBodyBytes` is 413 before
 * it is read, and bodies are read up to that size; a multipart body is only read on
 * `multipartPaths` (by the upload receiver, into the work directory) and refused with 422
 * elsewhere before it is read, so nothing stores an upload the service did not ask for; the HTTP
 * layer's failures are answered as FastAPI does (`fromHttpFailure`).
 */
export const guard = (
  maxBodyBytes: number,
  multipartPaths: ReadonlyArray<string> = []
): GuardPolicy<PayloadTooLarge | ValidationFailed | NotFound> => ({
  respond,
  checks: [
    (request) => {
      const declared = request.headers["content-length"]
      return declared !== undefined && Number(declared) > maxBodyBytes ? new PayloadTooLarge({ message: tooLargeMessage(maxBodyBytes) }) : undefined
    },
    (request) => {
      const multipart = (request.headers["content-type"] ?? "").toLowerCase().includes("multipart/")
      return multipart && !multipartPaths.includes(request.url.split("?")[0] ?? "")
        ? invalid(["body"], "expected a JSON body, not multipart/form-data", "json_invalid")
        : undefined
    }
  ],
  maxBodyBytes,
  tooLarge: (max) => new PayloadTooLarge({ message: tooLargeMessage(max) }),
  fromHttpFailure: fromHttpFailure(maxBodyBytes)
})

/**
 * How the TTS and STT services refuse an upload: a body over `maxBodyBytes` (or a field over the
 * parser's limit) is 413, any other parser failure 400 naming it, a file that cannot be stored 500.
 */
export const uploadRefusals = (maxBodyBytes: number): UploadRefusals<BadRequest | PayloadTooLarge | EngineFailed> => ({
  malformed: (error: Multipart.MultipartError) =>
    overLimit(error) || error.reason === "FieldTooLarge"
      ? new PayloadTooLarge({ message: tooLargeMessage(maxBodyBytes) })
      : new BadRequest({ message: `malformed multipart/form-data body (${error.reason}): ${messageOf(error.cause)}` }),
  notStored: (reason) => new EngineFailed({ message: `the upload could not be stored: ${reason}` }),
  badFileName: (reason) => new BadRequest({ message: reason })
})

/** The work directory and job queue of a FastAPI-style service, from its options. */
export interface Workspace {
  readonly workDir: WorkDir.WorkDir<Unavailable>
  readonly jobs: JobQueue.JobQueue
}

/**
 * Open the work directory and the job queue of `service`: a job directory that cannot be made,
 * and work stopped by the shutdown, are answered 503 `<service>: ...`.
 */
export const workspace = (
  service: ServiceName,
  options: ServerOptions
): Effect.Effect<Workspace, ServiceStartFailed, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const workDir = yield* WorkDir.make({
      service,
      configured: options.workDir,
      jobDirectoryFailed: (reason) => new Unavailable({ message: `${service}: cannot create a job directory: ${reason}` })
    })
    const jobs = yield* JobQueue.make({
      concurrency: options.concurrency,
      maxQueued: options.maxQueued,
      shuttingDown: new Unavailable({ message: `${service}: the service is shutting down` })
    })
    return { workDir, jobs }
  })
