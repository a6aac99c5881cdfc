/**
 * The engine runner's limits, with a stand-in engine that ignores SIGTERM (a shell that traps it
 * and loops on `sleep`s, which inherit the ignored signal): a run past its timeout fails as timed
 * out and its whole process group is gone (SIGTERM, then SIGKILL after the grace); an interrupted
 * run of such an engine ends too; a command line longer than the system takes is refused before
 * anything is spawned.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Engine from "../../../src/services/kit/Engine.js"
import { gone, killLeftovers, processesAppear } from "../runaway.js"

const marker = `stubborn-${process.pid}-${Date.now() % 100000}`
// `marker` is an argument of the shell, so its command line names it; `sleep` is its child.
const stubborn: Engine.Invocation = { engine: "sh", args: ["-c", "trap '' TERM; while :; do sleep 0.05; done", marker] }
// Long enough for the test to find the engine among the processes on a busy machine before it is stopped.
const limits = { timeout: "4 seconds", killGrace: "1 second" } as const

afterEach(() => killLeftovers(marker))

describe("Engine limits", () => {
  it.live("a run past its timeout is stopped (SIGTERM, then SIGKILL to its group) and fails as timed out", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(Effect.either(Engine.runner(limits).run(stubborn)))
      const pids = yield* Effect.promise(() => processesAppear([marker]))
      const result = yield* Fiber.join(fiber).pipe(Effect.timeout("20 seconds"))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left).toMatchObject({ _tag: "EngineError", engine: "sh", reason: "timedOut" })
        expect(result.left.message).toBe("sh took longer than 4s and was stopped")
      }
      expect(yield* Effect.promise(() => gone(pids, 5000))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("an interrupted run of an engine that ignores SIGTERM ends, its process group gone", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(Engine.runner({ timeout: "1 hour", killGrace: "1 second" }).run(stubborn))
      const pids = yield* Effect.promise(() => processesAppear([marker]))
      yield* Fiber.interrupt(fiber).pipe(Effect.timeout("20 seconds"))
      expect(yield* Effect.promise(() => gone(pids, 5000))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("the whole process group is killed: a child that ignores SIGTERM too is gone with its parent", () =>
    Effect.gen(function* () {
      // The child shell's $0 names the marker too, so both are found; both ignore SIGTERM.
      const family: Engine.Invocation = {
        engine: "sh",
        args: ["-c", `trap '' TERM; sh -c "trap '' TERM; while :; do sleep 0.05; done" child-${marker} & while :; do sleep 0.05; done`, marker]
      }
      const fiber = yield* Effect.fork(Effect.either(Engine.runner(limits).run(family)))
      const pids = yield* Effect.promise(async () => {
        for (let i = 0; i < 400; i++) {
          const found = await processesAppear([marker])
          if (found.length >= 2) return found
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        return processesAppear([marker])
      })
      expect(pids.length).toBeGreaterThanOrEqual(2)
      yield* Fiber.join(fiber).pipe(Effect.timeout("20 seconds"))
      expect(yield* Effect.promise(() => gone(pids, 5000))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("every run has a timeout: the default runner's", () =>
    Effect.sync(() => {
      expect(Engine.defaultLimits.timeout).toBeDefined()
      expect(Engine.defaultLimits.killGrace).toBeDefined()
    })
  )

  it.live("a command line longer than the system takes is refused before spawning (no E2BIG)", () =>
    Effect.gen(function* () {
      const long = yield* Effect.flip(Engine.run({ engine: "echo", args: ["x".repeat(200 * 1024)] }))
      expect(long).toMatchObject({ _tag: "EngineError", engine: "echo", reason: "argumentsTooLong", exitCode: undefined })
      const many = yield* Effect.flip(Engine.run({ engine: "echo", args: Array.from({ length: 20_000 }, () => "y".repeat(100)) }))
      expect(many.reason).toBe("argumentsTooLong")
      expect(many.message).toMatch(/^echo: the command line .* is longer than this service runs/)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
