/**
 * The kit's work directory on the real file system: a job directory a request, gone when its
 * scope closes; at shutdown a temp root goes whole, while a given root keeps everything but the
 * service's own job directories; a root that cannot be made stops the start, a job directory
 * that cannot be made is the service's answer for it.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Unavailable } from "../../../src/services/kit/Errors.js"
import * as WorkDir from "../../../src/services/kit/WorkDir.js"

const jobDirectoryFailed = (reason: string) => new Unavailable({ message: `test: cannot create a job directory: ${reason}` })

/** Run with `$XDG_CACHE_HOME` set to `cache` (the user's cache directory, where temp roots go). */
const inCache = (cache: string) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["XDG_CACHE_HOME", cache]])))

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8)

/** A temp directory of the test's, removed after `use`. */
const withTemp = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "automarket-workdir-test-"))),
    use,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("WorkDir", () => {
  it.live("a temp root: a job directory a request, removed with its scope; the root removed at shutdown", () =>
    withTemp((cache) =>
      Effect.gen(function* () {
        const service = yield* Scope.make()
        const work = yield* Scope.extend(WorkDir.make({ service: "stt", configured: undefined, jobDirectoryFailed }), service)
        expect(work.root.startsWith(join(cache, "automarket", "services", "stt-"))).toBe(true)
        const dir = yield* Effect.scoped(
          Effect.gen(function* () {
            const dir = yield* work.scoped
            expect(dirname(dir)).toBe(work.root)
            expect(readdirSync(work.root)).toEqual([dir.slice(work.root.length + 1)])
            writeFileSync(join(dir, "upload"), "bytes")
            return dir
          })
        )
        expect(existsSync(dir)).toBe(false)
        yield* Scope.close(service, Exit.void)
        expect(existsSync(work.root)).toBe(false)
      }).pipe(inCache(cache))
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a given root is created if missing; at shutdown only the service's own job directories go", () =>
    withTemp((base) =>
      Effect.gen(function* () {
        const configured = join(base, "nested", "work")
        const service = yield* Scope.make()
        const work = yield* Scope.extend(WorkDir.make({ service: "tts", configured, jobDirectoryFailed }), service)
        expect(work.root).toBe(realpathSync(configured))
        writeFileSync(join(configured, "keep.txt"), "the user's")
        const jobScope = yield* Scope.make()
        const dir = yield* Scope.extend(work.scoped, jobScope)
        expect(existsSync(dir)).toBe(true)
        yield* Scope.close(service, Exit.void)
        expect(existsSync(dir)).toBe(false)
        expect(readdirSync(configured)).toEqual(["keep.txt"])
        yield* Scope.close(jobScope, Exit.void)
      })
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a root that cannot be made stops the start; a job directory that cannot be made is the service's answer", () =>
    withTemp((base) =>
      Effect.gen(function* () {
        const file = join(base, "a-file")
        writeFileSync(file, "")
        const failed = yield* Effect.flip(Effect.scoped(WorkDir.make({ service: "ffmpeg", configured: join(file, "work"), jobDirectoryFailed })))
        expect(failed._tag).toBe("ServiceStartFailed")
        expect(failed.message).toMatch(/^ffmpeg: cannot create the work directory: /)

        const configured = join(base, "work")
        const refused = yield* Effect.scoped(
          Effect.gen(function* () {
            const work = yield* WorkDir.make({ service: "tts", configured, jobDirectoryFailed })
            rmSync(configured, { recursive: true })
            return yield* Effect.flip(Effect.scoped(work.scoped))
          })
        )
        expect(refused).toBeInstanceOf(Unavailable)
        expect(refused.message).toMatch(/^test: cannot create a job directory: /)
      })
    ).pipe(Effect.provide(NodeContext.layer))
  )
  it.live("private per user: a temp root is made 0700 under the user's cache directory, never in the shared temp directory", () =>
    withTemp((cache) =>
      Effect.gen(function* () {
        const work = yield* WorkDir.make({ service: "ffmpeg", configured: undefined, jobDirectoryFailed }).pipe(inCache(cache))
        expect(dirname(work.root)).not.toBe(realpathSync(tmpdir()))
        expect(dirname(work.root)).toBe(join(cache, "automarket", "services"))
        expect(modeOf(work.root)).toBe("700")
        expect(modeOf(dirname(work.root))).toBe("700")
        const dir = yield* work.scoped
        expect(dirname(dir)).toBe(work.root)
      }).pipe(Effect.scoped)
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a base another hand made looser is tightened to 0700; one planted as a link is not used", () =>
    withTemp((cache) =>
      Effect.gen(function* () {
        const base = join(cache, "automarket", "services")
        mkdirSync(base, { recursive: true, mode: 0o777 })
        chmodSync(base, 0o777)
        const loose = yield* WorkDir.make({ service: "tts", configured: undefined, jobDirectoryFailed }).pipe(inCache(cache), Effect.scoped)
        expect(dirname(loose.root)).toBe(base)
        expect(modeOf(base)).toBe("700")

        const elsewhere = join(cache, "elsewhere")
        mkdirSync(elsewhere)
        const planted = join(cache, "planted")
        mkdirSync(join(planted, "automarket"), { recursive: true })
        symlinkSync(elsewhere, join(planted, "automarket", "services"))
        const work = yield* WorkDir.make({ service: "tts", configured: undefined, jobDirectoryFailed }).pipe(inCache(planted))
        expect(work.root.startsWith(elsewhere)).toBe(false)
        expect(work.root.startsWith(join(planted, "automarket", "services"))).toBe(false)
        expect(readdirSync(elsewhere)).toEqual([])
        expect(modeOf(work.root)).toBe("700")
      }).pipe(Effect.scoped)
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a given root is made 0700; one another user owns, or others can write to, stops the start", () =>
    withTemp((base) =>
      Effect.gen(function* () {
        const fresh = join(base, "fresh", "work")
        yield* Effect.scoped(WorkDir.make({ service: "stt", configured: fresh, jobDirectoryFailed }))
        expect(modeOf(fresh)).toBe("700")

        const open = join(base, "open")
        mkdirSync(open)
        chmodSync(open, 0o777)
        const refusedOpen = yield* Effect.flip(Effect.scoped(WorkDir.make({ service: "ffmpeg", configured: open, jobDirectoryFailed })))
        expect(refusedOpen._tag).toBe("ServiceStartFailed")
        expect(refusedOpen.message).toMatch(/^ffmpeg: the work directory .* is not private: others can write to it/)

        // Another user's directory (as root, the test can make one; otherwise the check is the same as above's).
        if (process.getuid?.() === 0) {
          const theirs = join(base, "theirs")
          mkdirSync(theirs, { mode: 0o700 })
          chownSync(theirs, 65534, 65534)
          const refusedTheirs = yield* Effect.flip(Effect.scoped(WorkDir.make({ service: "tts", configured: theirs, jobDirectoryFailed })))
          expect(refusedTheirs.message).toMatch(/not private: it belongs to another user \(uid 65534\)/)
          const link = join(base, "link-to-theirs")
          symlinkSync(theirs, link)
          const refusedLink = yield* Effect.flip(Effect.scoped(WorkDir.make({ service: "tts", configured: link, jobDirectoryFailed })))
          expect(refusedLink.message).toMatch(/belongs to another user/)
        }
      })
    ).pipe(Effect.provide(NodeContext.layer))
  )
})
