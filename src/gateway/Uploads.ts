/**
 * Multipart uploads to the gateway: form fields are collected, the one file part is streamed to
 * a file in the state folder (never whole in memory), capped in size: past the cap the
 * request is answered 413 and the partial file removed.
 *
 * @module
 */
import * as Multipart from "@effect/platform/Multipart"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as MediaTypes from "../media/MediaTypes.js"
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
 * (created when missing). A second file part, or a file larger than `maxBytes`, is refused.
 */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  options: { readonly dir: string; readonly maxBytes: number; readonly fileField: string }
): Effect.Effect<Received, InvalidRequest | PayloadTooLarge> =>
  Effect.gen(function* () {
    const fields: Record<string, string> = {}
    let file: UploadedFile | undefined
    const written: Array<string> = []
    const parts = request.multipartStream.pipe(Multipart.withLimitsStream({ maxFileSize: Option.some(options.maxBytes), maxFieldSize: 1024 * 1024 }))
    const consume = Stream.runForEach(parts, (part): Effect.Effect<void, InvalidRequest | PayloadTooLarge | Multipart.MultipartError> => {
      if (Multipart.isField(part)) return Effect.sync(() => void (fields[part.key] = part.value))
      if (part.key !== options.fileField) {
        return Effect.fail(InvalidRequest.of(`unexpected file part "${part.key}" (the file goes in "${options.fileField}")`, "invalid_multipart", part.key))
      }
      if (file !== undefined) return Effect.fail(InvalidRequest.of(`one file only in "${options.fileField}"`, "invalid_multipart", part.key))
      const mimeType =
        part.contentType !== "" && part.contentType !== "application/octet-stream"
          ? part.contentType
          : (MediaTypes.mediaTypeOfExtension(part.name) ?? "application/octet-stream")
      const target = path.join(options.dir, `${randomUUID()}.${MediaTypes.fileExtensionOf(mimeType)}`)
      written.push(target)
      return Effect.acquireUseRelease(
        Effect.promise(async () => {
          await fs.promises.mkdir(options.dir, { recursive: true, mode: 0o700 })
          return fs.promises.open(target, "w", 0o600)
        }),
        (handle) =>
          Stream.runFoldEffect(part.content, 0, (size, chunk) => {
            const next = size + chunk.length
            if (next > options.maxBytes) return Effect.fail(PayloadTooLarge.of(options.maxBytes))
            return Effect.as(
              Effect.promise(() => handle.write(chunk)),
              next
            )
          }),
        (handle) => Effect.promise(() => handle.close())
      ).pipe(Effect.map((bytes) => void (file = { path: target, mimeType, bytes, name: part.name })))
    })
    yield* consume.pipe(
      Effect.catchAll((error: InvalidRequest | PayloadTooLarge | Multipart.MultipartError): Effect.Effect<never, InvalidRequest | PayloadTooLarge> => {
        if (error._tag === "InvalidRequest" || error._tag === "PayloadTooLarge") return Effect.fail(error)
        // The parser's own limit, or a body that is not multipart.
        return Effect.fail(
          error.reason === "FileTooLarge" || error.reason === "BodyTooLarge"
            ? PayloadTooLarge.of(options.maxBytes)
            : InvalidRequest.of(`the multipart body could not be read: ${error.reason}`, "invalid_multipart")
        )
      }),
      Effect.tapError(() => Effect.sync(() => written.forEach((file) => fs.rmSync(file, { force: true }))))
    )
    return { fields, file }
  })
