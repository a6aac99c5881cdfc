/**
 * The FFmpeg service's results: `out-<uuid>.<ext>` files in the root of the work directory, kept
 * after the request that made them until the client fetches and deletes them, until they are
 * older than the time to live (checked every minute, or every `ttl` when shorter), or until the
 * service stops. Only names of that form are ever looked up, so a result name is never a path.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

/** The results kept by the service. */
export interface Outputs {
  /** A fresh output path `out-<uuid>.<extension>` (the file is not created). */
  readonly create: (extension: string) => Effect.Effect<{ readonly name: string; readonly path: string }>
  /** The path of an existing output, by name; none for names that are not outputs or do not exist. */
  readonly find: (name: string) => Effect.Effect<Option.Option<string>>
}

const outputName = /^out-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z0-9]{1,5}$/

/**
 * The outputs kept in `root` for `ttl`. The expiry runs in the background for as long as the
 * scope is open; closing it removes every output left.
 */
export const make = (root: string, ttl: Duration.DurationInput): Effect.Effect<Outputs, never, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path

    const existing = Effect.map(
      fs.readDirectory(root).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => [])),
      (entries) => entries.filter((entry) => outputName.test(entry)).map((entry) => path.join(root, entry))
    )

    const expire = (age: Duration.Duration) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        for (const file of yield* existing) {
          const info = yield* fs.stat(file)
          const modified = Option.getOrElse(Option.map(info.mtime, (date) => date.getTime()), () => now)
          if (now - modified > Duration.toMillis(age)) yield* fs.remove(file)
        }
      }).pipe(Effect.ignore)

    const lifetime = Duration.decode(ttl)
    yield* Effect.addFinalizer(() => Effect.flatMap(existing, (files) => Effect.forEach(files, (file) => Effect.ignore(fs.remove(file)), { discard: true })))
    yield* Effect.forkScoped(Effect.repeat(expire(lifetime), Schedule.spaced(Duration.min(lifetime, Duration.minutes(1)))))

    const create = (extension: string) =>
      Effect.sync(() => {
        const name = `out-${crypto.randomUUID()}.${extension}`
        return { name, path: path.join(root, name) }
      })

    const find = (name: string) =>
      outputName.test(name)
        ? Effect.map(fs.exists(path.join(root, name)).pipe(Effect.orElseSucceed(() => false)), (exists) =>
            exists ? Option.some(path.join(root, name)) : Option.none()
          )
        : Effect.succeed(Option.none())

    return { create, find }
  })
