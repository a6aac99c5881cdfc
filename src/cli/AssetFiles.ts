/**
 * Writing an asset the command line produced to the path the user named: complete files only
 * (written under a temporary name, renamed into place), from whichever source the asset has.
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

/** Write the asset's content to `target`, atomically. */
export const save = (asset: Audio | Image | Video, target: string): Effect.Effect<string, MediaError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const out = path.resolve(target)
    const part = `${out}.part`
    const provider = asset.origin?.provider ?? "automarket"
    const failed = (why: unknown) =>
      new DownloadFailed({ provider, message: `could not write ${out}: ${why instanceof Error ? why.message : String(why)}` })
    yield* Effect.try({ try: () => fs.mkdirSync(path.dirname(out), { recursive: true }), catch: failed })
    const source = asset.source
    switch (source._tag) {
      case "File":
        yield* Effect.try({ try: () => fs.copyFileSync(source.path, part), catch: failed })
        break
      case "Bytes":
        yield* Effect.try({ try: () => fs.writeFileSync(part, source.bytes), catch: failed })
        break
      case "Url": {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(source.url).pipe(Effect.mapError(failed))
        if (response.status !== 200) return yield* failed(`HTTP ${response.status} from ${new URL(source.url).origin}`)
        const sink = fs.createWriteStream(part)
        yield* response.stream.pipe(
          Stream.runForEach((chunk) => Effect.async<void>((resume) => void sink.write(chunk, () => resume(Effect.void)))),
          Effect.zipRight(Effect.async<void>((resume) => void sink.end(() => resume(Effect.void)))),
          Effect.mapError(failed)
        )
        break
      }
    }
    yield* Effect.try({ try: () => fs.renameSync(part, out), catch: failed })
    return out
  }).pipe(Effect.onError(() => Effect.sync(() => fs.rmSync(`${path.resolve(target)}.part`, { force: true }))))
