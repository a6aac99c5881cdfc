/**
 * Bringing a result home: run the job, stream the service's output file into the provider's
 * output directory (under a fresh name), then release it on the service, whether the download
 * worked or not.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as NodePath from "node:path"
import { DownloadFailed, type MediaError } from "../../../domain/Errors.js"
import * as PrivateDir from "../../../local/PrivateDir.js"
import type { JobResult, OutputFile } from "../../../services/ffmpeg/Api.js"
import type * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"

/** A job's result on the service, and where it now is on this machine. */
export interface Delivered {
  readonly output: OutputFile
  readonly path: string
}

/** Run `job` and download its output as `<modelId>-<uuid>.<ext>`. */
export type Deliver = (job: Effect.Effect<JobResult, MediaError>, modelId: string) => Effect.Effect<Delivered, MediaError>

/**
 * A `Deliver` that fetches results from `client` into `outputDir`: created when missing, and,
 * when it is the user's private default, refused if another user owns it or it is a link.
 */
export const deliverTo =
  (client: FFmpegClient.Service, outputDir: string): Deliver =>
  (job, modelId) =>
    Effect.flatMap(job, ({ output }) =>
      Effect.gen(function* () {
        const dir = yield* PrivateDir.ensure(outputDir).pipe(
          Effect.mapError(
            (error) => new DownloadFailed({ provider, detail: `cannot use the output directory ${outputDir}: ${error.message}` })
          )
        )
        const extension = NodePath.extname(output.name).replace(/[^.a-z0-9]/g, "")
        const path = NodePath.join(dir, `${modelId}-${crypto.randomUUID()}${extension}`)
        yield* client.download(output, path)
        return { output, path }
      }).pipe(Effect.ensuring(client.release(output)))
    )
