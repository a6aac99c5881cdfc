/**
 * The work directory of a local service: everything the service writes lives under one root, and
 * each request gets a fresh `job-<uuid>` directory there (its uploads, decoded audio, text files),
 * removed with what it holds when the request ends. At shutdown the service removes what it made:
 * the whole root when it is a temp directory of its own, only its own job directories when the
 * root was given (whatever else lives there stays).
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import * as NodePath from "node:path"
import { ServiceStartFailed } from "./Errors.js"
import type { ServiceName } from "./ServerOptions.js"

/** Where a service writes: one root, one fresh sub-directory a request. */
export interface WorkDir<E> {
  /** The root, an absolute path with its links resolved. */
  readonly root: string
  /** A fresh directory for one request, removed with everything in it when the scope closes. */
  readonly scoped: Effect.Effect<string, E, Scope.Scope>
}

/**
 * Open the work directory of `service`: `configured` (created if missing) or a fresh temp
 * directory. A job directory that cannot be made fails with `jobDirectoryFailed(reason)`, the
 * service's answer for it.
 */
export const make = <E>(options: {
  readonly service: ServiceName
  readonly configured: string | undefined
  readonly jobDirectoryFailed: (reason: string) => E
}): Effect.Effect<WorkDir<E>, ServiceStartFailed, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const { service, configured } = options
    const failed = (error: { readonly message: string }) =>
      new ServiceStartFailed({ service, message: `${service}: cannot create the work directory: ${error.message}` })
    const root =
      configured !== undefined
        ? yield* fs.makeDirectory(configured, { recursive: true }).pipe(Effect.zipRight(fs.realPath(configured)), Effect.mapError(failed))
        : yield* fs.makeTempDirectory({ prefix: `automarket-${service}-` }).pipe(Effect.mapError(failed))
    const live = yield* Ref.make<ReadonlySet<string>>(new Set())
    const remove = (dir: string) => Effect.ignore(fs.remove(dir, { recursive: true, force: true }))
    yield* Effect.addFinalizer(() =>
      configured === undefined ? remove(root) : Effect.flatMap(Ref.get(live), (dirs) => Effect.forEach(dirs, remove, { discard: true }))
    )
    const scoped = Effect.acquireRelease(
      Effect.gen(function* () {
        const dir = NodePath.join(root, `job-${randomUUID()}`)
        yield* fs.makeDirectory(dir).pipe(Effect.mapError((error) => options.jobDirectoryFailed(error.message)))
        yield* Ref.update(live, (dirs) => new Set([...dirs, dir]))
        return dir
      }),
      (dir) => Effect.zipRight(remove(dir), Ref.update(live, (dirs) => new Set([...dirs].filter((d) => d !== dir))))
    )
    return { root, scoped }
  })
