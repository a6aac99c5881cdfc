/**
 * The FFmpeg service's outputs store on the real file system: fresh `out-<uuid>.<ext>` names in
 * the root, lookups that only ever accept such names, expiry after the time to live, and every
 * output removed when the store's scope closes (other files stay).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Outputs from "../../../src/services/ffmpeg/Outputs.js"

const withRoot = <A, E, R>(use: (root: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "automarket-outputs-test-"))),
    use,
    (root) => Effect.sync(() => rmSync(root, { recursive: true, force: true }))
  )

describe("Outputs", () => {
  it.live("names results out-<uuid>.<ext> in the root and finds only such names", () =>
    withRoot((root) =>
      Effect.scoped(
        Effect.gen(function* () {
          const outputs = yield* Outputs.make(root, "30 minutes")
          const output = yield* outputs.create("mp4")
          expect(output.name).toMatch(/^out-[0-9a-f-]{36}\.mp4$/)
          expect(output.path).toBe(join(root, output.name))
          expect(yield* outputs.find(output.name)).toEqual(Option.none())
          writeFileSync(output.path, "result")
          expect(yield* outputs.find(output.name)).toEqual(Option.some(output.path))
          writeFileSync(join(root, "secret.txt"), "")
          for (const name of ["secret.txt", "../secret.txt", `../${output.name}`, "out-123.mp4"]) {
            expect(yield* outputs.find(name)).toEqual(Option.none())
          }
        })
      )
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("removes results older than the time to live", () =>
    withRoot((root) =>
      Effect.scoped(
        Effect.gen(function* () {
          const outputs = yield* Outputs.make(root, "200 millis")
          const old = yield* outputs.create("wav")
          writeFileSync(old.path, "")
          yield* Effect.sleep("700 millis")
          expect(existsSync(old.path)).toBe(false)
        })
      )
    ).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("removes every result, and nothing else, when closed", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const outputs = yield* Scope.extend(Outputs.make(root, "30 minutes"), scope)
        for (const extension of ["png", "mp4"]) writeFileSync((yield* outputs.create(extension)).path, "")
        writeFileSync(join(root, "keep.txt"), "")
        expect(readdirSync(root)).toHaveLength(3)
        yield* Scope.close(scope, Exit.void)
        expect(readdirSync(root)).toEqual(["keep.txt"])
      })
    ).pipe(Effect.provide(NodeContext.layer))
  )
})
