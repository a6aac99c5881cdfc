/**
 * The inputs of an FFmpeg job: the files uploaded with it and the http(s) URLs its spec names.
 *
 * Uploaded files are stored in the request's job directory. Their names are never used as paths:
 * a file is stored as `in-<n>.<ext>` (the extension, when it is plain, helps ffprobe), and a name
 * with a directory in it (`../x`, `/etc/x`, `..\x`) is refused with 400. A spec refers to inputs
 * by the field key they were uploaded under, or by an http(s) URL the service fetches into the
 * job directory.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as Multipart from "@effect/platform/Multipart"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import { BadRequest, Internal, PayloadTooLarge } from "../kit/Errors.js"

/** A failure answer of the service. */
export const badRequest = (message: string) => new BadRequest({ message })
/** A 413 answer. */
export const tooLarge = (message: string) => new PayloadTooLarge({ message })
/** A 500 answer for a broken service (not an ffmpeg failure). */
export const internal = (message: string) => new Internal({ message })

// ---------------------------------------------------------------------------------------------
// receiving uploads
// ---------------------------------------------------------------------------------------------

/** One uploaded file, stored under a generated name. */
export interface Upload {
  /** The form field it came in. */
  readonly key: string
  /** The name the client gave (for messages only; never used as a path). */
  readonly fileName: string
  readonly contentType: string
  readonly path: string
}

/** What a job request carried. */
export interface Received {
  readonly spec: string | undefined
  readonly files: ReadonlyMap<string, Upload>
}

const keyPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/
const maxFiles = 64

/**
 * Whether a client's file name is a plain name: no directory separators (so no `../`), not `.`
 * or `..`, no control characters. Names are never used as paths; this refuses clients that try.
 */
export const isSafeFileName = (name: string): boolean =>
  !/[/\\]/.test(name) && name !== "." && name !== ".." && !/[\u0000-\u001f\u007f]/.test(name) && name.length <= 255

/** The extension of a client's file name when it is plain (letters and digits), lower-cased, with the dot. */
export const safeExtension = (name: string): string => {
  const match = /\.([A-Za-z0-9]{1,8})$/.exec(name)
  return match === null ? "" : `.${match[1]!.toLowerCase()}`
}

const quote = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 97)}...` : text)

// File contents report the parser's limit errors as "InternalError" with the limit as the cause.
const reachedLimit = (cause: unknown): string | undefined =>
  Predicate.hasProperty(cause, "_tag") && cause._tag === "ReachedLimit" && Predicate.hasProperty(cause, "limit") && typeof cause.limit === "string"
    ? cause.limit
    : undefined

const multipartFailure = (maxBodyBytes: number) => (error: Multipart.MultipartError) => {
  const limit = reachedLimit(error.cause)
  if (limit === "MaxTotalSize" || limit === "MaxPartSize") {
    return tooLarge(`the request body is larger than this service accepts (${maxBodyBytes} bytes)`)
  }
  switch (error.reason) {
    case "BodyTooLarge":
    case "FileTooLarge":
      return tooLarge(`the request body is larger than this service accepts (${maxBodyBytes} bytes)`)
    case "FieldTooLarge":
      return tooLarge("a form field is larger than this service accepts")
    case "TooManyParts":
      return badRequest("the request has too many parts")
    case "Parse":
      return badRequest(`the request body is not valid multipart/form-data: ${error.message}`)
    case "InternalError":
      return internal(`receiving the upload failed: ${error.message}`)
  }
}

/**
 * Store the parts of a multipart body into `dir`: the `spec` field kept as text, each file
 * written as `in-<n>.<ext>`. Refuses (400) unknown fields, repeated keys, unsafe file names and
 * more than 64 files; a body over `maxBodyBytes` is refused with 413.
 */
export const receive = (
  parts: Stream.Stream<Multipart.Part, Multipart.MultipartError>,
  dir: string,
  maxBodyBytes: number
): Effect.Effect<Received, BadRequest | PayloadTooLarge | Internal, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    let spec: string | undefined
    const files = new Map<string, Upload>()
    yield* Stream.runForEach(
      Stream.mapError(parts, multipartFailure(maxBodyBytes)),
      (part): Effect.Effect<void, BadRequest | PayloadTooLarge | Internal> => {
        if (part._tag === "Field") {
          if (part.key !== "spec") return Effect.fail(badRequest(`unexpected form field ${quote(part.key)}: only "spec" and files are read`))
          if (spec !== undefined) return Effect.fail(badRequest(`the "spec" field is given twice`))
          spec = part.value
          return Effect.void
        }
        if (!keyPattern.test(part.key) || part.key === "spec") {
          return Effect.fail(badRequest(`invalid file field name ${quote(part.key)}: use letters, digits, "_", "-" and "." (not "spec")`))
        }
        if (!isSafeFileName(part.name)) {
          return Effect.fail(
            badRequest(`unsafe file name ${quote(part.name)} in field ${quote(part.key)}: a name must not contain "/" or "\\" or be ".."`)
          )
        }
        if (files.has(part.key)) return Effect.fail(badRequest(`more than one file under the key ${quote(part.key)}`))
        if (files.size >= maxFiles) return Effect.fail(badRequest(`more than ${maxFiles} files`))
        const stored = path.join(dir, `in-${files.size}${safeExtension(part.name)}`)
        files.set(part.key, { key: part.key, fileName: part.name, contentType: part.contentType, path: stored })
        return Stream.run(part.content, fs.sink(stored)).pipe(
          Effect.catchTags({
            MultipartError: (error) => Effect.fail(multipartFailure(maxBodyBytes)(error)),
            SystemError: (error) => Effect.fail(internal(`storing an upload failed: ${error.message}`)),
            BadArgument: (error) => Effect.fail(internal(`storing an upload failed: ${error.message}`))
          })
        )
      }
    ).pipe(IncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)))
    return { spec, files }
  })

// ---------------------------------------------------------------------------------------------
// resolving the inputs a spec names
// ---------------------------------------------------------------------------------------------

const urlExtension = (url: string): string => {
  try {
    return safeExtension(new URL(url).pathname)
  } catch {
    return ""
  }
}

/** Whether a spec's `src` is a URL for the service to fetch. */
export const isUrl = (src: string): boolean => /^https?:\/\//i.test(src)

/**
 * Fetch an http(s) URL into `dest`, streaming, refusing more than `maxBytes`. Failures are
 * answered 400 (the caller gave a URL the service could not use) or 413 (too big).
 */
export const fetchInto = (
  url: string,
  dest: string,
  maxBytes: number,
  timeout: Duration.DurationInput
): Effect.Effect<void, BadRequest | PayloadTooLarge, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.get(url)).pipe(
      Effect.mapError((error) => badRequest(`could not fetch ${quote(url)}: ${error.message}`))
    )
    if (response.status < 200 || response.status >= 300) {
      return yield* Effect.fail(badRequest(`could not fetch ${quote(url)}: HTTP ${response.status}`))
    }
    let received = 0
    yield* response.stream.pipe(
      Stream.mapError((error) => badRequest(`could not fetch ${quote(url)}: ${error.message}`)),
      Stream.mapEffect((chunk) => {
        received += chunk.length
        return received > maxBytes
          ? Effect.fail(tooLarge(`${quote(url)} is larger than this service accepts (${maxBytes} bytes)`))
          : Effect.succeed(chunk)
      }),
      Stream.run(fs.sink(dest)),
      Effect.catchTags({
        SystemError: (error) => Effect.fail(badRequest(`could not store ${quote(url)}: ${error.message}`)),
        BadArgument: (error) => Effect.fail(badRequest(`could not store ${quote(url)}: ${error.message}`))
      })
    )
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: timeout, onTimeout: () => badRequest(`fetching ${quote(url)} took too long`) })
  )

/**
 * The local file of each `src`: an uploaded file's key, or a URL fetched into `dir`. A `src`
 * that is neither is answered 400, naming it.
 */
export const resolveSources = (
  sources: ReadonlyArray<string>,
  received: Received,
  dir: string,
  maxBytes: number,
  fetchTimeout: Duration.DurationInput
): Effect.Effect<ReadonlyMap<string, string>, BadRequest | PayloadTooLarge, HttpClient.HttpClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const resolved = new Map<string, string>()
    let fetched = 0
    for (const src of sources) {
      const upload = received.files.get(src)
      if (upload !== undefined) {
        resolved.set(src, upload.path)
      } else if (isUrl(src)) {
        const dest = path.join(dir, `url-${fetched++}${urlExtension(src)}`)
        yield* fetchInto(src, dest, maxBytes, fetchTimeout)
        resolved.set(src, dest)
      } else {
        const keys = [...received.files.keys()]
        return yield* Effect.fail(
          badRequest(
            `the spec names ${quote(src)} but no file was uploaded under that key` +
              (keys.length > 0 ? ` (uploaded: ${keys.map(quote).join(", ")})` : " (no files were uploaded)")
          )
        )
      }
    }
    return resolved
  })
