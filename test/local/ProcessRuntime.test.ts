import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as path from "node:path"
import * as ProcessRuntime from "../../src/local/ProcessRuntime.js"

const fixture = path.resolve(import.meta.dirname, "../support/fake-service.mjs")
const deps = Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)

const runtimeWith = (mode: (service: string) => string, startTimeout: Duration.DurationInput = "20 seconds") =>
  ProcessRuntime.makeProcess({ command: (service) => [process.execPath, fixture, mode(service)], startTimeout })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const pidOf = (url: string) => Effect.promise(() => fetch(`${url}/pid`).then((r) => r.text()).then(Number))

describe("ServiceRuntime (process mode)", () => {
  it.live("starts a service on first use, shares it, and stops it when the scope closes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const runtime = yield* runtimeWith(() => "ok").pipe(Scope.extend(scope))
      expect(yield* runtime.status("ffmpeg")).toEqual({ service: "ffmpeg", running: false, healthy: false })
      const [a, b] = yield* Effect.all([runtime.ensure("ffmpeg"), runtime.ensure("ffmpeg")], { concurrency: 2 })
      expect(a).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(b).toBe(a)
      const pid = yield* pidOf(a)
      expect(alive(pid)).toBe(true)
      expect(yield* runtime.status("ffmpeg")).toMatchObject({ running: true, healthy: true, url: a })
      yield* Scope.close(scope, Exit.void)
      expect(alive(pid)).toBe(false)
    }).pipe(Effect.provide(deps)))

  it.live("a service that died is started again on the next use", () =>
    Effect.gen(function* () {
      const runtime = yield* runtimeWith(() => "ok")
      const first = yield* runtime.ensure("tts")
      const pid = yield* pidOf(first)
      process.kill(pid, "SIGKILL")
      yield* Effect.sleep("200 millis")
      expect(yield* runtime.status("tts")).toMatchObject({ running: false, healthy: false })
      const second = yield* runtime.ensure("tts")
      const pid2 = yield* pidOf(second)
      expect(pid2).not.toBe(pid)
      expect(alive(pid2)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(deps)))

  it.live("stop ends the process; the next ensure starts a new one", () =>
    Effect.gen(function* () {
      const runtime = yield* runtimeWith(() => "ok")
      const pid = yield* pidOf(yield* runtime.ensure("stt"))
      yield* runtime.stop("stt")
      expect(alive(pid)).toBe(false)
      expect((yield* runtime.status("stt")).running).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(deps)))

  it.live("a service that exits before it is healthy is ServiceNotRunning with its stderr", () =>
    Effect.gen(function* () {
      const runtime = yield* runtimeWith(() => "crash")
      const result = yield* Effect.either(runtime.ensure("ffmpeg"))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "ServiceNotRunning", service: "ffmpeg" })
      expect(Either.isLeft(result) && result.left.message).toMatch(/code 3.*cannot open model file/)
    }).pipe(Effect.scoped, Effect.provide(deps)))

  it.live("a health check that never passes is Timeout within the deadline, and the process is stopped", () =>
    Effect.gen(function* () {
      const runtime = yield* runtimeWith(() => "unhealthy", "1500 millis")
      const started = Date.now()
      const result = yield* Effect.either(runtime.ensure("ffmpeg"))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "Timeout", provider: "ffmpeg" })
      expect(Date.now() - started).toBeLessThan(10_000)
      expect((yield* runtime.status("ffmpeg")).running).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(deps)))

  it.live("a command that cannot be run is ServiceNotRunning", () =>
    Effect.gen(function* () {
      const runtime = yield* ProcessRuntime.makeProcess({ command: () => ["/nonexistent/automarket-service"] })
      const result = yield* Effect.either(runtime.ensure("tts"))
      expect(Either.isLeft(result) && result.left._tag).toBe("ServiceNotRunning")
    }).pipe(Effect.scoped, Effect.provide(deps)))
})
