/**
 * Input uploads: a local file or bytes given as a job's input, hosted by the provider's own
 * storage (fal's storage, Replicate's files API) rather than inlined as a `data:` URI, so that a
 * large input is streamed from disk once instead of base64'd into a JSON body.
 *
 * A provider offers an `Uploader` (its storage call) and runs its input builders with
 * `withUploader`; `jobs/Inputs.ts` then sends anything above `inlineLimitBytes` through it. The
 * uploader made by `make` remembers what it uploaded by content hash: the same content is not
 * uploaded twice within its lifetime, and concurrent calls for the same content share one upload.
 * A failed upload is forgotten, so that the next call tries again.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as NodePath from "node:path"
import type { AssetSource } from "../domain/Asset.js"
import { InvalidInput, type MediaError } from "../domain/Errors.js"
import { fileExtensionOf } from "../media/MediaTypes.js"

/**
 * Largest input sent inline (as a `data:` URI) when the provider can host uploads: 256 KiB. Below
 * it, an extra round trip costs more than the base64 in the submit body; above it, the body's size
 * (a third larger than the file, held whole in memory on both ends) is what costs.
 */
export const inlineLimitBytes = 256 * 1024

/** How long an uploaded file's URL is reused: well within fal's and Replicate's hosting of it (a day at least). */
export const cacheTtlMillis = 60 * 60 * 1000

/** How many uploaded URLs are remembered; the oldest is forgotten first. */
export const cacheCapacity = 256

/** One input to host: a local file (read from disk as it is sent) or bytes. */
export interface Upload {
  readonly source: Extract<AssetSource, { readonly _tag: "File" | "Bytes" }>
  /** Its size in bytes. */
  readonly size: number
  readonly contentType: string
  /** The name announced to the storage (a base name). */
  readonly filename: string
}

/** A provider's storage call: host `upload`, answer the URL a model reads it from. */
export type UploadFile = (upload: Upload) => Effect.Effect<string, MediaError>

/** The uploader in effect while a provider builds a job's input (see `withUploader`). */
export class Uploader extends Context.Tag("automarket/Uploader")<Uploader, UploadFile>() {}

/** Run `self` (a provider's input builders) with `upload` hosting its large inputs. */
export const withUploader =
  (upload: UploadFile) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Uploader>> =>
    Effect.provideService(self, Uploader, upload)

/**
 * An uploader that uploads nothing: it names each input by a placeholder URL (a `.invalid` host,
 * which never resolves). See `checkedBeforeUpload`.
 */
export const placeholder: UploadFile = (upload) => Effect.succeed(`https://upload.invalid/${encodeURIComponent(upload.filename)}`)

/**
 * A job's input built and checked before anything is uploaded: `build` runs first with large
 * inputs named by placeholders and its result is checked, so an input the model refuses uploads
 * nothing; only when a placeholder was used is it built again with `upload` and checked again
 * (an input with nothing to upload is built and checked once).
 */
export const checkedBeforeUpload = <A, B, E, R>(
  upload: UploadFile,
  build: (uploader: UploadFile) => Effect.Effect<A, E, R>,
  check: (built: A) => Effect.Effect<B, E, R>
): Effect.Effect<B, E, R> =>
  Effect.suspend(() => {
    let deferred = 0
    const dry: UploadFile = (file) => Effect.zipRight(Effect.sync(() => deferred++), placeholder(file))
    return Effect.flatMap(Effect.flatMap(build(dry), check), (checked) => (deferred === 0 ? Effect.succeed(checked) : Effect.flatMap(build(upload), check)))
  })

/** The name an input is announced under: the file's base name, else `input.<ext>` of its type. */
export const filenameOf = (source: AssetSource, contentType: string): string =>
  source._tag === "File" ? NodePath.basename(source.path) : `input.${fileExtensionOf(contentType)}`

/** The SHA-256 (hex) of an input's content, a file read as a stream (never whole). */
export const contentHash = (provider: string, source: Upload["source"]): Effect.Effect<string, InvalidInput> =>
  source._tag === "Bytes"
    ? Effect.sync(() => crypto.createHash("sha256").update(source.bytes).digest("hex"))
    : Effect.async<string, InvalidInput>((resume) => {
        const hash = crypto.createHash("sha256")
        const stream = fs.createReadStream(source.path, { highWaterMark: 256 * 1024 })
        stream.on("data", (chunk) => hash.update(chunk))
        stream.once("error", () =>
          resume(Effect.fail(new InvalidInput({ provider, detail: `cannot read ${source.path}`, issues: ["input file unreadable"] })))
        )
        stream.once("end", () => resume(Effect.succeed(hash.digest("hex"))))
        return Effect.sync(() => stream.destroy())
      })

interface Entry {
  readonly url: Deferred.Deferred<string, MediaError>
  /** When the upload finished (epoch ms); undefined while it runs. */
  done: number | undefined
}

/**
 * `upload` behind a cache by content hash (and type): a content uploaded before (within
 * `cacheTtlMillis`) answers its URL again, concurrent calls for one content wait for the same
 * upload, a failure is answered to the callers waiting on it and then forgotten.
 */
export const make = (provider: string, upload: UploadFile): Effect.Effect<UploadFile> =>
  Effect.sync(() => {
    const entries = new Map<string, Entry>()
    return (input: Upload) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const key = `${yield* restore(contentHash(provider, input.source))} ${input.contentType}`
          const now = yield* Clock.currentTimeMillis
          const known = entries.get(key)
          if (known !== undefined && (known.done === undefined || now - known.done < cacheTtlMillis)) return yield* restore(Deferred.await(known.url))
          const entry: Entry = { url: yield* Deferred.make<string, MediaError>(), done: undefined }
          entries.set(key, entry)
          while (entries.size > cacheCapacity) entries.delete(entries.keys().next().value!)
          // Whatever the end (an interruption too), the callers waiting on this upload are told and a failure is forgotten.
          const exit = yield* Effect.exit(restore(upload(input)))
          if (Exit.isSuccess(exit)) entry.done = yield* Clock.currentTimeMillis
          else if (entries.get(key) === entry) entries.delete(key)
          yield* Deferred.done(entry.url, exit)
          return yield* exit
        })
      )
  })

/** An input's content as a stream: a file read from disk in chunks as it is sent (anew each time the stream runs), bytes as they are. */
export const contentOf = (upload: Upload): Stream.Stream<Uint8Array, unknown> =>
  upload.source._tag === "Bytes"
    ? Stream.succeed(upload.source.bytes)
    : fileStream(upload.source.path)

const fileStream = (path: string): Stream.Stream<Uint8Array, unknown> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (files) => files.stream(path, { chunkSize: 64 * 1024 }))).pipe(Stream.provideLayer(NodeFileSystem.layer))
