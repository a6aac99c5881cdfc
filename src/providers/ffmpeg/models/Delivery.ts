/**
 * Bringing a result home: stream the service's output file into the provider's output
 * directory (under a fresh name), then release it on the service, whether the download worked
 * or not.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as NodePath from "node:path"
import { DownloadFailed, type MediaError } from "../../../domain/Errors.js"
import type { OutputFile } from "../../../services/ffmpeg/Api.js"
import { type FFmpegClient, provider } from "../FFmpegClient.js"

/** Download `output` into `outputDir` as `<modelId>-<uuid>.<ext>`; the local path. */
export type Deliver = (client: FFmpegClient, output: OutputFile, modelId: string) => Effect.Effect<string, MediaError>

/** A `Deliver` writing into `outputDir` (created when missing). */
export const deliverTo =
  (outputDir: string): Deliver =>
  (client, output, modelId) =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory(outputDir, { recursive: true }).pipe(
        Effect.mapError(
          (error) => new DownloadFailed({ provider, message: `${provider}: cannot create the output directory ${outputDir}: ${error.message}` })
        )
      )
      const extension = NodePath.extname(output.name).replace(/[^.a-z0-9]/g, "")
      const dest = NodePath.join(outputDir, `${modelId}-${crypto.randomUUID()}${extension}`)
      yield* client.download(output, dest)
      return dest
    }).pipe(Effect.ensuring(client.release(output)), Effect.provide(NodeFileSystem.layer))
