import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Progress from "../../src/cli/Progress.js"

describe("Progress", () => {
  it.scoped("prints a plain line per change when not a terminal, with provider and elapsed time", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const progress = yield* Progress.make({ live: false, write: (t) => void written.push(t) })
      yield* progress.plan([{ id: "a", label: "narrate scene 1" }, { id: "b", label: "picture scene 1" }])
      yield* progress.step("a", Effect.delay(Effect.succeed("x"), "1500 millis"), () => ({ provider: "chatterbox" })).pipe(
        Effect.fork,
        Effect.tap(() => TestClock.adjust("1500 millis")),
        Effect.flatMap((f) => f.await)
      )
      yield* Effect.either(progress.step("b", Effect.fail(new Error("quota"))))
      expect(written).toEqual([
        "> [1/2] narrate scene 1  0.0s\n",
        "✓ [1/2] narrate scene 1  (chatterbox)  1.5s\n",
        "> [2/2] picture scene 1  0.0s\n",
        "✗ [2/2] picture scene 1  0.0s  quota\n"
      ])
      expect((yield* progress.steps).map((s) => s.state)).toEqual(["done", "failed"])
    }))

  it.scoped("shows a step resumed from an earlier run as done at once, without a time of its own", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const progress = yield* Progress.make({ live: false, write: (t) => void written.push(t) })
      yield* progress.plan([{ id: "a", label: "narrate scene 1" }, { id: "b", label: "music bed" }])
      yield* progress.resumed("a", { provider: "chatterbox" })
      expect(written).toEqual(["✓ [1/2] narrate scene 1  (chatterbox)  resumed\n"])
      expect((yield* progress.steps).map((s) => s.state)).toEqual(["done", "pending"])
    }))

  it.effect("on a terminal redraws the block in place and draws a last frame when done", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      yield* Effect.scoped(
        Effect.gen(function* () {
          const progress = yield* Progress.make({ live: true, write: (t) => void written.push(t) })
          yield* progress.plan([{ id: "a", label: "one" }, { id: "b", label: "two" }])
          yield* TestClock.adjust("200 millis")
          yield* progress.step("a", Effect.succeed(1))
        })
      )
      const last = written[written.length - 1]!
      expect(last.startsWith("\x1b[2F")).toBe(true)
      expect(last).toContain("✓ [1/2] one")
      expect(last).toContain("  [2/2] two")
    }))
})
