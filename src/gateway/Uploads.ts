/**
 * Multipart uploads to the gateway, over the local services' upload receiver
 * (`services/kit/Upload.ts`: parts read as they arrive, file names beyond ASCII kept, the rest of
 * a refused body drained so the client reads the answer): form fields are collected, the one
 * file part is written to a file of the state folder (never whole in memory), and the body is
 * capped: past the cap the answer is 413 and the partial file is removed.
 *
 * @module
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as MediaTypes from "../media/MediaTypes.js"
import * as Upload from "../services/kit/Upload.js"
import { InvalidRequest, PayloadTooLarge } from "./ApiErrors.js"

/** A file received from a multipart body. */
export interface UploadedFile {
  /** Where it was written. */
  readonly path: string
  /** Its media type: the part's own, else guessed from its name, else `application/octet-stream`. */
  readonly mimeType: string
  readonly bytes: number
  /** The name the client gave. */
  readonly name: string
}

/** What a multipart body held. */
export interface Received {
  readonly fields: Readonly<Record<string, string>>
  readonly file: UploadedFile | undefined
}

/**
 * Read a multipart body: fields, and the file part named `fileField` written into `dir`
 * (created when missing). Another file part, a second one, or a body larger than `maxBytes` is
 * refused, with nothing left in `dir`.
 */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  options: { readonly dir: string; readonly maxBytes: number; readonly fileField: string }
): Effect.Effect<Received, InvalidRequest | PayloadTooLarge, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fields: Record<string, string> = {}
    const targets: Array<string> = []
    const received = yield* Upload.receive(
      request,
      {
        maxBytes: options.maxBytes,
        expected: `a multipart/form-data body with the file in "${options.fileField}"`,
        field: (field) => Effect.sync(() => void (fields[field.key] = field.value)),
        file: (part) => {
          if (part.key !== options.fileField) {
            return Effect.fail(InvalidRequest.of(`unexpected file part "${part.key}" (the file goes in "${options.fileField}")`, "invalid_multipart", part.key))
          }
          if (targets.length > 0) return Effect.fail(InvalidRequest.of(`one file only in "${options.fileField}"`, "invalid_multipart", part.key))
          const target = path.join(options.dir, `${randomUUID()}.${MediaTypes.fileExtensionOf(mimeTypeOf(part))}`)
          targets.push(target)
          return Effect.sync(() => {
            fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 })
            return target
          })
        }
      },
      {
        malformed: (error) =>
          Upload.overLimit(error) ? PayloadTooLarge.of(options.maxBytes) : InvalidRequest.of(`the multipart body could not be read: ${error.message}`, "invalid_multipart"),
        notStored: (reason) => InvalidRequest.of(`the upload could not be stored: ${reason}`, "upload_not_stored"),
        badFileName: (reason) => InvalidRequest.of(`the file name is refused: ${reason}`, "invalid_multipart", options.fileField)
      }
    ).pipe(Effect.tapError(() => Effect.sync(() => targets.forEach((target) => fs.rmSync(target, { force: true })))))
    const stored = received.stored[0]
    return {
      fields,
      file: stored === undefined ? undefined : { path: stored.path, mimeType: mimeTypeOf(stored), bytes: stored.size, name: stored.name }
    }
  })

/** A part's media type: its own, else guessed from its name, else `application/octet-stream`. */
const mimeTypeOf = (part: { readonly contentType: string; readonly name: string }): string =>
  part.contentType !== "" && part.contentType !== "application/octet-stream"
    ? part.contentType
    : (MediaTypes.mediaTypeOfExtension(part.name) ?? "application/octet-stream")
