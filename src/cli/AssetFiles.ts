/**
 * Writing an asset the command line produced to the path the user named: complete files only
 * (through `Output.writeAtomically`), from whichever source the asset has.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Audio, Image, Video } from "../domain/Asset.js"
import { DownloadFailed, type MediaError } from "../domain/Errors.js"
import type { SpeechOptions } from "../domain/MediaProvider.js"
import * as MediaTypes from "../media/MediaTypes.js"
import type { WriteFailed } from "./Errors.js"
import { attempt, writeAtomically } from "./Output.js"

/**
 * Write the asset's content to `target`, atomically: a file is copied, bytes are written, a URL
 * is fetched with the `HttpClient` (a status other than 200 fails). Gives the absolute path.
 */
export const save = (asset: Audio | Image | Video, target: string): Effect.Effect<string, MediaError, HttpClient.HttpClient> => {
  const out = path.resolve(target)
  const provider = asset.origin?.provider ?? "automarket"
  const failed = (why: unknown) =>
    new DownloadFailed({ provider, detail: `could not write ${out}: ${why instanceof Error ? why.message : String(why)}` })
  const source = asset.source
  const fill = (temp: string): Effect.Effect<void, DownloadFailed | WriteFailed, HttpClient.HttpClient> => {
    switch (source._tag) {
      case "File":
        return attempt(out, () => fs.copyFileSync(source.path, temp))
      case "Bytes":
        return attempt(out, () => fs.writeFileSync(temp, source.bytes))
      case "Url":
        return Effect.gen(function* () {
          const client = yield* HttpClient.HttpClient
          const response = yield* client.get(source.url).pipe(Effect.mapError(failed))
          if (response.status !== 200) return yield* failed(`HTTP ${response.status} from ${new URL(source.url).origin}`)
          const sink = fs.createWriteStream(temp)
          yield* response.stream.pipe(
            Stream.runForEach((chunk) => Effect.async<void>((resume) => void sink.write(chunk, () => resume(Effect.void)))),
            Effect.zipRight(Effect.async<void>((resume) => void sink.end(() => resume(Effect.void)))),
            Effect.mapError(failed)
          )
        })
    }
  }
  return writeAtomically(out, fill).pipe(Effect.catchTag("WriteFailed", (error) => Effect.fail(failed(error.cause))))
}

// The content types a URL result of each kind may have.
const expected = { Image: "image/*", Video: "video/*", Audio: "audio/*" } as const

/**
 * Write an asset to `target`, atomically, a URL result through `Download` (size cap, content
 * type checked against the asset's kind, resumed, `Downloading` progress events); a file or
 * bytes as `save` writes them.
 */
export const saveDownloading = (
  asset: Image | Video | Audio,
  target: string
): Effect.Effect<string, MediaError, HttpClient.HttpClient> => {
  const source = asset.source
  if (source._tag !== "Url") return save(asset, target)
  // Loaded here, not at start-up: the downloader brings its HTTP client (start-up time of every command).
  return Effect.flatMap(Effect.promise(() => import("../http/Download.js")), (Download) =>
    Effect.map(
      Download.download({
        url: source.url,
        to: target,
        expect: [expected[asset._tag]],
        ...(asset.origin !== undefined ? { provider: asset.origin.provider, model: asset.origin.model } : {})
      }),
      (done) => done.path
    )
  )
}

/** The file extension of an asset's mime type (`MediaTypes.extensionOf`, parameters ignored), `bin` when unknown. */
export const extensionOf = (mimeType: string): string => MediaTypes.extensionOf(MediaTypes.mediaTypeOf(mimeType)) ?? "bin"

/** The speech format an output file's name asks for: `mp3` or `opus` by its extension, else `wav`. */
export const speechFormatOf = (file: string): NonNullable<SpeechOptions["format"]> => {
  const ext = path.extname(file).slice(1).toLowerCase()
  return ext === "mp3" || ext === "opus" ? ext : "wav"
}
