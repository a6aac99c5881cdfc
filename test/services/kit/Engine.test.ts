/**
 * The kit's engine runner with small real processes (`sh`, `sleep`): what a run printed, the
 * error of a non-zero exit (with the end of stderr) and of an executable that does not exist,
 * stderr bounded unless all of it is asked for, the working directory, the start-up check, and
 * an interrupted run's process killed.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { mkdtempSync, realpathSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Engine from "../../../src/services/kit/Engine.js"
import { processesMentioning } from "../../support/fakeEngines.js"

const sh = (script: string, cwd?: string): Engine.Invocation => ({ engine: "sh", args: ["-c", script], cwd })

describe("Engine.run", () => {
  it.live("gives what the engine printed", () =>
    Effect.gen(function* () {
      const output = yield* Engine.run(sh("echo answer; echo log >&2"))
      expect(output).toEqual({ stdout: "answer\n", stderr: "log\n" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a non-zero exit is an EngineError with the code and the end of stderr", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Engine.run(sh("echo partial; echo 'simulated crash' >&2; exit 3")))
      expect(error).toMatchObject({ _tag: "EngineError", engine: "sh", exitCode: 3, output: "simulated crash\n" })
      expect(error.message).toBe("sh exited with code 3: simulated crash")
      const long = yield* Effect.flip(Engine.run(sh("head -c 2000 /dev/zero | tr '\\0' x >&2; exit 1")))
      expect(long.message).toBe(`sh exited with code 1: ...${"x".repeat(600)}`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("an executable that cannot be started is an EngineError without an exit code", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Engine.run({ engine: "flite", executable: "/nonexistent/flite", args: ["-lv"] }))
      expect(error.exitCode).toBeUndefined()
      expect(error.message).toMatch(/^flite could not be run: /)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("keeps the last 64 KiB of stderr, or all of it when asked", () =>
    Effect.gen(function* () {
      const noisy = sh("head -c 200000 /dev/zero | tr '\\0' x >&2; echo end >&2")
      const tail = yield* Engine.run(noisy)
      expect(tail.stderr.length).toBe(64 * 1024)
      expect(tail.stderr.endsWith("xend\n")).toBe(true)
      const all = yield* Engine.run(noisy, { stderr: "all" })
      expect(all.stderr.length).toBe(200_004)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("runs in the working directory it is given", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "automarket-engine-"))
      try {
        expect((yield* Engine.run(sh("pwd", dir))).stdout.trim()).toBe(realpathSync(dir))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("an interrupted run kills its process", () =>
    Effect.gen(function* () {
      const marker = `${process.pid}.${Date.now() % 100000}`
      const fiber = yield* Effect.fork(Engine.run({ engine: "sleep", args: [`${marker}`] }))
      for (let i = 0; i < 200 && (yield* Effect.promise(() => processesMentioning(marker))).length === 0; i++) yield* Effect.sleep("10 millis")
      expect((yield* Effect.promise(() => processesMentioning(marker))).length).toBeGreaterThan(0)
      yield* Fiber.interrupt(fiber)
      expect(yield* Effect.promise(() => processesMentioning(marker))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("Engine.check", () => {
  it.live("an engine that cannot be run stops the service's start with its name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Engine.check("tts", { engine: "flite", executable: "/nonexistent/flite", args: ["-lv"] }))
      expect(error._tag).toBe("ServiceStartFailed")
      expect(error.service).toBe("tts")
      expect(error.message).toMatch(/^tts: flite could not be run: /)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a non-zero exit fails the check, unless any exit code will do", () =>
    Effect.gen(function* () {
      const usage = sh("echo usage >&2; exit 1")
      expect((yield* Effect.flip(Engine.check("stt", usage))).message).toBe("stt: sh exited with code 1: usage")
      expect(yield* Engine.check("stt", usage, { anyExitCode: true })).toEqual({ stdout: "", stderr: "usage\n" })
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
