/**
 * The kit's work directory on the real file system: a job directory a request, gone when its
 * scope closes; at shutdown a temp root goes whole, while a given root keeps everything but the
 * service's own job directories; a root that cannot be made stops the start, a job directory
 * that cannot be made is the service's answer for it.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Unavailable } from "../../../src/services/kit/Errors.js"
import * as WorkDir from "../../../src/services/kit/WorkDir.js"

const jobDirectoryFailed = (reason: string) => new Unavailable({ message: `test: cannot create a job directory: ${reason}` })

/** A temp directory of the test's, removed after `use`. */
const withTemp = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "automarket-workdir-test-"))),
    use,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("WorkDir", () => {
  it.live("a temp root: a job directory a request, removed with its scope; the root removed at shutdown", () =>
    Effect.gen(function* () {
      const service = yield* Scope.make()
      const work = yield* Scope.extend(WorkDir.make({ service: "stt", configured: undefined, jobDirectoryFailed }), service)
      expect(work.root.startsWith(join(tmpdir(), "automarket-stt-"))).toBe(true)
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
    }).pipe(Effect.provide(NodeContext.layer))
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
})
