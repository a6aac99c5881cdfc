/**
 * Uploading an asset's content as one `multipart/form-data` file part (whisper's `audio_file`,
 * Chatterbox's reference `files`), streamed: a file is read from disk as the request is sent,
 * bytes are sent as they are, a URL is first downloaded by `Download` (under its rules: https
 * only unless loopback http is allowed, size cap, resumption) to a temporary file removed when the
 * scope closes, so that a failed download is a `DownloadFailed`, not a broken upload.
 *
 * The body is written by hand rather than with `FormData` because `FormData` objects are not
 * portable across `HttpClient` implementations (undici's client rejects Node's global one); a
 * stream body works with all of them, is re-readable when a request is retried, and carries a
 * `Content-Length`, so a service can refuse an oversized upload before reading it.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as NodePath from "node:path"
import type { AssetSource } from "../domain/Asset.js"
import { DownloadFailed, InvalidInput, type MediaError } from "../domain/Errors.js"
import { fileExtensionOf } from "../media/MediaTypes.js"
import * as Download from "./Download.js"

/** One file part. */
export interface FilePart {
  /** The form field, e.g. `audio_file`. */
  readonly field: string
  readonly source: AssetSource
  /** The file name announced to the service (a base name; the service must not trust it anyway). */
  readonly filename: string
  readonly contentType: string
}

const encoder = new TextEncoder()

/** A file name safe inside a quoted header parameter. */
const quoted = (name: string): string => name.replace(/[\r\n]/g, " ").replace(/"/g, "%22").replace(/\\/g, "%5C")

/** The bytes around the part's content. */
export const partFrame = (part: Omit<FilePart, "source">, boundary: string): { readonly head: Uint8Array; readonly tail: Uint8Array } => ({
  head: encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(part.field)}"; filename="${quoted(part.filename)}"\r\n` +
      `Content-Type: ${part.contentType.replace(/[\r\n]/g, "")}\r\n\r\n`
  ),
  tail: encoder.encode(`\r\n--${boundary}--\r\n`)
})

/** A file name for an asset: the file's base name, or `audio.<ext>` for bytes and URLs. */
export const uploadName = (source: AssetSource, mimeType: string): string =>
  source._tag === "File" ? NodePath.basename(source.path) : `audio.${fileExtensionOf(mimeType)}`

const decodeDataUrl = (provider: string, url: string): Effect.Effect<Uint8Array, InvalidInput> => {
  const decoded = Download.decodeDataUrl(url)
  return decoded === undefined
    ? Effect.fail(new InvalidInput({ provider, detail: "malformed data: URL", issues: ["malformed data: URL"] }))
    : Effect.succeed(decoded.bytes)
}

/** A file's content as a stream that reads the file anew each time it is run, and its size. */
const fileContent = (
  provider: string,
  path: string
): Effect.Effect<{ readonly content: Stream.Stream<Uint8Array, unknown>; readonly size: number }, InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError(
        (error) => new InvalidInput({ provider, detail: `cannot read ${path}: ${error.message}`, issues: [`cannot read ${path}`] })
      )
    )
    if (info.type !== "File") {
      return yield* new InvalidInput({ provider, detail: `${path} is not a file`, issues: [`${path} is not a file`] })
    }
    return { content: fs.stream(path, { chunkSize: 64 * 1024 }), size: Number(info.size) }
  })

/** Download a URL (with `Download`) to a temporary file that is removed when the scope closes. */
const download = (
  provider: string,
  url: string
): Effect.Effect<string, MediaError, HttpClient.HttpClient | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "automarket-upload-" }).pipe(
      Effect.mapError((error) => new DownloadFailed({ provider, url, detail: `no temporary directory: ${error.message}` }))
    )
    const done = yield* Download.download({ url, to: NodePath.join(dir, randomUUID()), provider })
    return done.path
  })

/** A text field of a form (e.g. a JSON `spec`). */
export interface FieldPart {
  readonly field: string
  readonly value: string
  readonly contentType?: string
}

const fieldHead = (part: FieldPart, boundary: string): Uint8Array =>
  encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(part.field)}"\r\n` +
      (part.contentType !== undefined ? `Content-Type: ${part.contentType.replace(/[\r\n]/g, "")}\r\n` : "") +
      "\r\n"
  )

/** A file part's content as a re-readable stream and its size. */
const partContent = (
  provider: string,
  source: AssetSource
): Effect.Effect<{ readonly content: Stream.Stream<Uint8Array, unknown>; readonly size: number }, MediaError, HttpClient.HttpClient | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    if (source._tag === "Bytes") return { content: Stream.succeed(source.bytes), size: source.bytes.length }
    if (source._tag === "File") return yield* fileContent(provider, source.path)
    if (/^data:/i.test(source.url)) {
      const bytes = yield* decodeDataUrl(provider, source.url)
      return { content: Stream.succeed(bytes), size: bytes.length }
    }
    if (/^https?:\/\//i.test(source.url)) return yield* fileContent(provider, yield* download(provider, source.url))
    return yield* new InvalidInput({
      provider,
      detail: `unsupported URL ${source.url} (http, https or data)`,
      issues: [`unsupported URL scheme: ${source.url}`]
    })
  })

/**
 * A `multipart/form-data` body: the text fields, then the files, each file streamed as the
 * request is sent (read anew if the request is retried), with the total `Content-Length`. A
 * local file that cannot be read is an `InvalidInput` naming it; a URL is first downloaded to a
 * temporary file that the scope keeps until the request is done.
 */
export const multipartForm = (
  provider: string,
  fields: ReadonlyArray<FieldPart>,
  files: ReadonlyArray<FilePart>
): Effect.Effect<HttpBody.HttpBody, MediaError, HttpClient.HttpClient | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const boundary = `automarket-${randomUUID()}`
    const crlf = encoder.encode("\r\n")
    const pieces: Array<Stream.Stream<Uint8Array, unknown>> = []
    let length = 0
    const bytes = (chunk: Uint8Array) => {
      pieces.push(Stream.succeed(chunk))
      length += chunk.length
    }
    for (const field of fields) {
      bytes(fieldHead(field, boundary))
      bytes(encoder.encode(field.value))
      bytes(crlf)
    }
    for (const file of files) {
      const { content, size } = yield* partContent(provider, file.source)
      bytes(partFrame(file, boundary).head)
      pieces.push(content)
      length += size
      bytes(crlf)
    }
    bytes(encoder.encode(`--${boundary}--\r\n`))
    return HttpBody.stream(
      pieces.reduce((all, piece) => Stream.concat(all, piece)),
      `multipart/form-data; boundary=${boundary}`,
      length
    )
  })

/** The multipart body of one file part (whisper's `audio_file`, Chatterbox's reference `files`). */
export const multipartBody = (
  provider: string,
  part: FilePart
): Effect.Effect<HttpBody.HttpBody, MediaError, HttpClient.HttpClient | FileSystem.FileSystem | Scope.Scope> =>
  multipartForm(provider, [], [part])
