/**
 * The work directory of a local service: everything the service writes lives under one root, and
 * each request gets a fresh `job-<uuid>` directory there (its uploads, decoded audio, text files),
 * removed with what it holds when the request ends. At shutdown the service removes what it made:
 * the whole root when it is a temp directory of its own, only its own job directories when the
 * root was given (whatever else lives there stays).
 *
 * The root is private to the user the service runs as: uploads are other people's media, and a
 * directory another local user can write to (or made in their place, or a link they planted) would
 * let them read or swap a job's files. A root of its own is made with `mkdtemp` (a fresh random
 * name, mode 0700) under the user's own cache directory (`$XDG_CACHE_HOME/automarket/services`,
 * else `~/.cache/automarket/services`, itself made 0700 and checked to be the user's), never a
 * fixed path under the shared `/tmp`; only when that directory cannot be used does it fall back to
 * `mkdtemp` in the system's temp directory (still a fresh private name). A given root is made 0700
 * when missing, and refused when it belongs to another user or others can write to it.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import * as NodeOs from "node:os"
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
 * Why `stat` (of a directory, its links followed) is not private to the user the service runs as:
 * owned by another user, or writable by its group or by others. Undefined when it is private, or
 * where the platform has no owners (Windows).
 */
export const notPrivate = (stat: { readonly uid: Option.Option<number>; readonly mode: number }, uid: number | undefined): string | undefined => {
  if (uid === undefined || Option.isNone(stat.uid)) return undefined
  if (stat.uid.value !== uid) return `it belongs to another user (uid ${stat.uid.value})`
  if ((stat.mode & 0o022) !== 0) return `others can write to it (mode ${(stat.mode & 0o777).toString(8)}; chmod 700 it)`
  return undefined
}

const currentUid = (): number | undefined => (typeof process.getuid === "function" ? process.getuid() : undefined)

/**
 * The directory temp roots are made in: `<cache>/automarket/services`, where `<cache>` is
 * `$XDG_CACHE_HOME` or `~/.cache`. Made (mode 0700) if missing; fails when it is a link, not the
 * user's, or writable by others (and its mode cannot be made private).
 */
export const privateBase: Effect.Effect<string, string, FileSystem.FileSystem> = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const cache = Option.getOrElse(yield* Effect.orElseSucceed(Config.option(Config.nonEmptyString("XDG_CACHE_HOME")), () => Option.none()), () =>
    NodePath.join(NodeOs.homedir(), ".cache")
  )
  const base = NodePath.join(cache, "automarket", "services")
  const why = (error: { readonly message: string }) => error.message
  yield* fs.makeDirectory(base, { recursive: true, mode: 0o700 }).pipe(Effect.mapError(why))
  // A link here would put the roots wherever it points (readLink succeeds only on a link).
  const isLink = yield* fs.readLink(base).pipe(
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )
  if (isLink) return yield* Effect.fail(`${base} is a symbolic link`)
  const stat = yield* fs.stat(base).pipe(Effect.mapError(why))
  if (stat.type !== "Directory") return yield* Effect.fail(`${base} is not a directory`)
  const uid = currentUid()
  if (uid !== undefined && Option.isSome(stat.uid) && stat.uid.value !== uid) return yield* Effect.fail(`${base} belongs to another user`)
  // Made by an older version, or by hand, with a looser mode: ours to tighten.
  if ((stat.mode & 0o077) !== 0) yield* fs.chmod(base, 0o700).pipe(Effect.mapError(why))
  return base
})

/**
 * Open the work directory of `service`: `configured` (created 0700 if missing; refused when not
 * private, see `notPrivate`) or a fresh private temp directory (see the module's comment). A job directory that cannot be made fails with `jobDirectoryFailed(reason)`, the
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
        ? yield* fs.makeDirectory(configured, { recursive: true, mode: 0o700 }).pipe(Effect.zipRight(fs.realPath(configured)), Effect.mapError(failed))
        : yield* privateBase.pipe(
            Effect.flatMap((directory) => fs.makeTempDirectory({ directory, prefix: `${service}-` })),
            // No usable cache directory (no home, a read-only one): a fresh private name in the
            // system's temp directory is still one nobody could have made in advance.
            Effect.orElse(() => fs.makeTempDirectory({ prefix: `automarket-${service}-` })),
            Effect.mapError(failed)
          )
    if (configured !== undefined) {
      const stat = yield* fs.stat(root).pipe(Effect.mapError(failed))
      const problem = notPrivate(stat, currentUid())
      if (problem !== undefined) {
        return yield* new ServiceStartFailed({ service, message: `${service}: the work directory ${root} is not private: ${problem}` })
      }
    }
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
