/**
 * What the local text-to-speech and speech-to-text services share, not yet split into modules of
 * their own: the request guard (body-size limit, malformed bodies, validation errors as FastAPI's
 * 422) and the multipart upload receiver that never trusts a client's file name. Errors are the
 * classes of `Errors.ts`, written by `FastApi.ts`.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { BadRequest, EngineFailed, messageOf, PayloadTooLarge, type ValidationFailed } from "./Errors.js"
import * as FastApi from "./FastApi.js"

// ---------------------------------------------------------------------------
// The request guard
// ---------------------------------------------------------------------------

/**
 * The middleware both services install on their `HttpApi`: refuses a declared body larger than
 * `maxBodyBytes` with 413 before reading it, caps bodies without a length at the same size, and
 * turns what the HTTP layer fails with into FastAPI's answers: schema mismatches into 422 with
 * `detail: [{loc, msg, type}]`, malformed JSON into 422 `json_invalid`, an over-long body into
 * 413, an unknown route into 404 `{"detail":"Not Found"}`. Everything else passes through.
 *
 * Multipart bodies are only read on `multipartPaths` (by `receiveFile`, which counts them and
 * keeps them in the work directory); elsewhere they are refused with 422 before being read, so
 * the platform never stores an upload the service did not ask for.
 */
export const guard =
  (maxBodyBytes: number, multipartPaths: ReadonlyArray<string> = []) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const declared = request.headers["content-length"]
      if (declared !== undefined && Number(declared) > maxBodyBytes) {
        return FastApi.respond(new PayloadTooLarge({ message: FastApi.tooLargeMessage(maxBodyBytes) }))
      }
      const multipart = (request.headers["content-type"] ?? "").toLowerCase().includes("multipart/")
      if (multipart && !multipartPaths.includes(request.url.split("?")[0] ?? "")) {
        return FastApi.respond(FastApi.invalid(["body"], "expected a JSON body, not multipart/form-data", "json_invalid"))
      }
      // Multipart bodies are counted by `receiveFile`, which reads on past the limit so that the
      // client gets its 413; the platform's limit would abort the parse and reset the connection.
      return yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(multipart ? Option.none() : Option.some(maxBodyBytes)),
        Effect.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
          const refusal = FastApi.fromHttpFailure(maxBodyBytes)(Cause.squash(cause))
          return refusal === undefined ? Effect.failCause(cause) : Effect.succeed(FastApi.respond(refusal))
        })
      )
    })

// ---------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------

class UploadNotStored extends Data.TaggedError("UploadNotStored")<{ readonly message: string }> {}

/** An uploaded file, saved under a name the service chose. */
export interface ReceivedFile {
  readonly path: string
  /** The client's file name, reduced to a safe base name (for headers only; never used as a path). */
  readonly name: string
  readonly contentType: string
  readonly size: number
}

/**
 * A client-supplied file name reduced to something safe to echo in a header: the last path
 * segment, without its extension, only letters, digits, `.`, `_` and `-`, at most 64 characters.
 */
export const safeBaseName = (name: string, fallback = "audio"): string => {
  const last = name.split(/[\\/]/).pop() ?? ""
  const stem = last.replace(/\.[^.]*$/, "")
  const cleaned = stem.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._]+/, "").slice(0, 64)
  return cleaned === "" ? fallback : cleaned
}

const multipartFailure = (error: Multipart.MultipartError, maxBytes: number): BadRequest | PayloadTooLarge =>
  error.reason === "FileTooLarge" || error.reason === "FieldTooLarge" || error.reason === "BodyTooLarge"
    ? new PayloadTooLarge({ message: FastApi.tooLargeMessage(maxBytes) })
    : new BadRequest({ message: `malformed multipart/form-data body (${error.reason}): ${messageOf(error.cause)}` })

/**
 * Save the file part named `field` of a multipart stream to `path` (a name the service chose: the
 * client's file name is never used as a path). Other parts are read and dropped. Fails with 413
 * when the file exceeds `maxBytes` (the rest of the body is still read, so the client gets the
 * answer instead of a reset connection), and with FastAPI's 422 when the field is missing.
 */
export const receiveFile = (
  parts: Stream.Stream<Multipart.Part, Multipart.MultipartError>,
  options: { readonly field: string; readonly path: string; readonly maxBytes: number }
): Effect.Effect<ReceivedFile, BadRequest | PayloadTooLarge | ValidationFailed | EngineFailed, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    let found: { name: string; contentType: string } | undefined
    let size = 0
    let tooLarge = false
    // Reading on after the limit keeps the connection usable for the 413; past this, give up.
    const drainLimit = Math.max(options.maxBytes * 4, 64 * 1024 * 1024)
    let drained = 0
    const bodyTooLarge = () => new Multipart.MultipartError({ reason: "BodyTooLarge", cause: "body too large" })
    const drain = (content: Stream.Stream<Uint8Array, Multipart.MultipartError>) =>
      Stream.runForEach(content, (chunk): Effect.Effect<void, Multipart.MultipartError> => {
        drained += chunk.length
        return drained > drainLimit ? Effect.fail(bodyTooLarge()) : Effect.void
      })

    const save = (part: Multipart.File): Effect.Effect<void, Multipart.MultipartError | UploadNotStored> =>
      Effect.scoped(
        Effect.gen(function* () {
          const file = yield* fs.open(options.path, { flag: "w" }).pipe(
            Effect.mapError((error) => new UploadNotStored({ message: error.message }))
          )
          yield* Stream.runForEach(part.content, (chunk): Effect.Effect<void, Multipart.MultipartError | UploadNotStored> => {
            if (tooLarge) {
              drained += chunk.length
              return drained > drainLimit ? Effect.fail(bodyTooLarge()) : Effect.void
            }
            size += chunk.length
            if (size > options.maxBytes) {
              tooLarge = true
              return Effect.void
            }
            return Effect.mapError(file.writeAll(chunk), (error) => new UploadNotStored({ message: error.message }))
          })
        })
      )

    yield* Stream.runForEach(parts, (part): Effect.Effect<void, Multipart.MultipartError | UploadNotStored> => {
      if (!Multipart.isFile(part)) return Effect.void
      if (part.key === options.field && found === undefined) {
        found = { name: part.name, contentType: part.contentType }
        return save(part)
      }
      return drain(part.content)
    }).pipe(
      // The parser throws (a defect) on a body that is not multipart at all.
      Effect.catchAllDefect((defect) =>
        Effect.fail(new Multipart.MultipartError({ reason: "Parse", cause: `expected a multipart/form-data body with a file in "${options.field}" (${messageOf(defect)})` }))
      ),
      Effect.mapError((error) =>
        error._tag === "UploadNotStored"
          ? new EngineFailed({ message: `the upload could not be stored: ${error.message}` })
          : multipartFailure(error, options.maxBytes)
      )
    )
    if (tooLarge) {
      yield* Effect.ignore(fs.remove(options.path, { force: true }))
      return yield* Effect.fail(new PayloadTooLarge({ message: FastApi.tooLargeMessage(options.maxBytes) }))
    }
    if (found === undefined) {
      return yield* Effect.fail(FastApi.invalid(["body", options.field], "Field required", "missing"))
    }
    return { path: options.path, name: found.name, contentType: found.contentType, size }
  })

/** Read a multipart stream to its end, returning the file names of its file parts (contents dropped). */
export const drainFiles = (
  parts: Stream.Stream<Multipart.Part, Multipart.MultipartError>,
  maxBytes: number
): Effect.Effect<ReadonlyArray<string>, BadRequest | PayloadTooLarge> => {
  let total = 0
  const names: Array<string> = []
  return Stream.runForEach(parts, (part) => {
    if (!Multipart.isFile(part)) return Effect.void
    names.push(part.name)
    return Stream.runForEach(part.content, (chunk) => {
      total += chunk.length
      return total > maxBytes
        ? Effect.fail(new Multipart.MultipartError({ reason: "BodyTooLarge", cause: "body too large" }))
        : Effect.void
    })
  }).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.fail(new Multipart.MultipartError({ reason: "Parse", cause: `expected a multipart/form-data body (${messageOf(defect)})` }))
    ),
    Effect.mapError((error) => multipartFailure(error, maxBytes)),
    Effect.as(names)
  )
}
