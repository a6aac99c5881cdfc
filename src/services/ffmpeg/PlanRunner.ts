/**
 * Running a composition plan (`FilterGraph.compositionPlan`): its one ffmpeg run, or, for a
 * segmented plan, each segment in turn and then the join. Segments run one after another, not
 * side by side: the point of segmenting is that one ffmpeg's memory is that of a few clips.
 *
 * The segment files are the plan's own temporary files in the job's working directory: they are
 * removed once the plan has run, whether it succeeded, failed or was interrupted, so a long job
 * does not keep two copies of its video while the result waits to be fetched. A failing segment
 * ends the plan with the caller's error for a failed run; the join is then not attempted.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import type { CompositionPlan } from "./FilterGraph.js"

/**
 * How one ffmpeg run is made: its arguments, the file it writes (an absolute path), and whether
 * its inputs are already confined (the join: see `CompositionPlan`) or still need the service's
 * input policy.
 */
export type Render<E, R> = (args: ReadonlyArray<string>, output: string, confined: boolean) => Effect.Effect<void, E, R>

/**
 * Run `plan` with ffmpeg working in `dir` (where its text files were written), its result going
 * to `output`: the segments in order into `dir`, then the join (or the single run).
 */
export const runPlan = <E, R>(
  plan: Pick<CompositionPlan, "args" | "segments">,
  dir: string,
  output: string,
  render: Render<E, R>
): Effect.Effect<void, E, R | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    if (plan.segments.length === 0) return yield* render(plan.args, output, false)
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const files = plan.segments.map((segment) => path.join(dir, segment.file))
    const written = plan.segments.flatMap((segment) => [segment.file, ...(segment.audioFile !== undefined ? [segment.audioFile] : [])])
    const removeSegments = Effect.forEach(written, (file) => fs.remove(path.join(dir, file)).pipe(Effect.ignore), { discard: true })
    return yield* Effect.ensuring(
      Effect.gen(function* () {
        for (const [i, segment] of plan.segments.entries()) {
          yield* render(segment.args, files[i]!, false)
          if (segment.audioArgs !== undefined && segment.audioFile !== undefined) {
            yield* render(segment.audioArgs, path.join(dir, segment.audioFile), false)
          }
        }
        yield* render(plan.args, output, true)
      }),
      removeSegments
    )
  })
