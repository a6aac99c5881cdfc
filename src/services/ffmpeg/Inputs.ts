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
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { BadRequest, Internal, PayloadTooLarge } from "../kit/Errors.js"
import * as Upload from "../kit/Upload.js"

/** A failure answer of the service. */
export const badRequest = (message: string) => new BadRequest({ message })
/** A 413 answer. */
export const tooLarge = (message: string) => new PayloadTooLarge({ message })
/** A 500 answer for a broken service (not an ffmpeg failure). */
export const internal = (message: string) => new Internal({ message })

// ---------------------------------------------------------------------------------------------
// receiving uploads
// ---------------------------------------------------------------------------------------------

/** What a job request carried: its `spec` field, and its files by the key they came under. */
export interface Received {
  readonly spec: string | undefined
  readonly files: ReadonlyMap<string, Upload.Stored>
}

const keyPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/
const maxFiles = 64

const quote = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 97)}...` : text)

/** How this service refuses an upload the receiver could not take. */
const refusals = (maxBodyBytes: number): Upload.UploadRefusals<BadRequest | PayloadTooLarge | Internal> => ({
  malformed: (error) => {
    if (Upload.overLimit(error)) return tooLarge(`the request body is larger than this service accepts (${maxBodyBytes} bytes)`)
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
  },
  notStored: (reason) => internal(`storing an upload failed: ${reason}`)
})

/**
 * Store the parts of a job's multipart body into `dir`: the `spec` field kept as text, each file
 * written as `in-<n>.<ext>`. Refuses (400) unknown fields, repeated keys, unsafe file names and
 * more than 64 files; a body over `maxBodyBytes` is refused with 413.
 */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  dir: string,
  maxBodyBytes: number
): Effect.Effect<Received, BadRequest | PayloadTooLarge | Internal, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    let spec: string | undefined
    const keys = new Set<string>()
    const { stored } = yield* Upload.receive(
      request,
      {
        maxBytes: maxBodyBytes,
        field: (part) => {
          if (part.key !== "spec") return Effect.fail(badRequest(`unexpected form field ${quote(part.key)}: only "spec" and files are read`))
          if (spec !== undefined) return Effect.fail(badRequest(`the "spec" field is given twice`))
          spec = part.value
          return Effect.void
        },
        file: (part) => {
          if (!keyPattern.test(part.key) || part.key === "spec") {
            return Effect.fail(badRequest(`invalid file field name ${quote(part.key)}: use letters, digits, "_", "-" and "." (not "spec")`))
          }
          if (!Upload.isSafeFileName(part.name)) {
            return Effect.fail(
              badRequest(`unsafe file name ${quote(part.name)} in field ${quote(part.key)}: a name must not contain "/" or "\\" or be ".."`)
            )
          }
          if (keys.has(part.key)) return Effect.fail(badRequest(`more than one file under the key ${quote(part.key)}`))
          if (keys.size >= maxFiles) return Effect.fail(badRequest(`more than ${maxFiles} files`))
          const stored = path.join(dir, `in-${keys.size}${Upload.safeExtension(part.name)}`)
          keys.add(part.key)
          return Effect.succeed(stored)
        }
      },
      refusals(maxBodyBytes)
    )
    return { spec, files: new Map(stored.map((file) => [file.key, file])) }
  })

// ---------------------------------------------------------------------------------------------
// resolving the inputs a spec names
// ---------------------------------------------------------------------------------------------

const urlExtension = (url: string): string => {
  try {
    return Upload.safeExtension(new URL(url).pathname)
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
