import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as LocalService from "../../src/local/LocalService.js"
import { ServiceRuntime } from "../../src/local/ServiceRuntime.js"

/** A runtime that records what it was asked and never really starts anything. */
const recordingRuntime = (running: boolean) => {
  const started: Array<string> = []
  const runtime = ServiceRuntime.of({
    mode: "process",
    ensure: (service) => Effect.sync(() => (started.push(service), "http://127.0.0.1:1")),
    status: (service) => Effect.succeed({ service, running, healthy: running }),
    stop: () => Effect.void
  })
  return { runtime, started }
}

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("LocalService", () => {
  it.effect("a configured URL is used as is; its probe runs", () =>
    Effect.gen(function* () {
      const { runtime, started } = recordingRuntime(false)
      const location = yield* LocalService.locate("tts", "CHATTERBOX_DOCKER_URL").pipe(
        withEnv({ CHATTERBOX_DOCKER_URL: "http://127.0.0.1:8004/" }),
        Effect.provideService(ServiceRuntime, runtime)
      )
      expect(location.configured).toBe(true)
      expect(yield* location.url).toBe("http://127.0.0.1:8004")
      let checked = 0
      expect(yield* LocalService.probe(location, Effect.sync(() => (checked++, false)))).toBe(false)
      expect(checked).toBe(1)
      expect(yield* LocalService.probe(location, Effect.fail("connection refused"))).toBe(false)
      expect(started).toEqual([])
    }))

  it.effect("an embedded service that is not running counts as available without being started or probed", () =>
    Effect.gen(function* () {
      const { runtime, started } = recordingRuntime(false)
      const location = yield* LocalService.locate("stt", "WHISPER_SERVICE_URL").pipe(withEnv({}), Effect.provideService(ServiceRuntime, runtime))
      let checked = 0
      expect(yield* LocalService.probe(location, Effect.sync(() => (checked++, false)))).toBe(true)
      expect(checked).toBe(0)
      expect(started).toEqual([])
      // Using it starts it.
      expect(yield* location.url).toBe("http://127.0.0.1:1")
      expect(started).toEqual(["stt"])
    }))

  it.effect("an embedded service that runs is probed", () =>
    Effect.gen(function* () {
      const { runtime } = recordingRuntime(true)
      const location = yield* LocalService.locate("ffmpeg", "FFMPEG_SERVICE_URL").pipe(withEnv({}), Effect.provideService(ServiceRuntime, runtime))
      expect(yield* LocalService.probe(location, Effect.succeed(false))).toBe(false)
    }))
})
