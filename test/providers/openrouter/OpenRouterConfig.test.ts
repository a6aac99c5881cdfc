import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { manifest } from "../../../src/providers/openrouter/manifest.js"
import * as OpenRouterConfig from "../../../src/providers/openrouter/OpenRouterConfig.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("OpenRouterConfig", () => {
  it("the manifest names the provider and the variables it reads, the key first", () => {
    expect(manifest).toMatchObject({ id: OpenRouterConfig.settings.id, name: OpenRouterConfig.settings.name, type: "remote" })
    expect(manifest.settings).toEqual(["OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "OPENROUTER_TIMEOUT", "OPENROUTER_RETRIES", "OPENROUTER_RATE_LIMITS"])
  })

  it("sends the key as a Bearer token", () => {
    expect(OpenRouterConfig.settings.auth("k")).toEqual(["authorization", "Bearer k"])
  })

  it.effect("reads its variables, with the public base URL by default and overrides on top", () =>
    Effect.gen(function* () {
      const fromEnv = yield* OpenRouterConfig.config().pipe(withEnv({ OPENROUTER_API_KEY: "a,b", OPENROUTER_TIMEOUT: "5 seconds", OPENROUTER_RETRIES: "1" }))
      expect(fromEnv.apiKeys.map(Redacted.value)).toEqual(["a", "b"])
      expect(fromEnv).toMatchObject({ baseUrl: "https://openrouter.ai/api/v1", timeout: Duration.seconds(5), retries: 1 })
      const overridden = yield* OpenRouterConfig.config({ apiKey: "c", baseUrl: "http://127.0.0.1:1" }).pipe(withEnv({ OPENROUTER_API_KEY: "a" }))
      expect(overridden.apiKeys.map(Redacted.value)).toEqual(["c"])
      expect(overridden.baseUrl).toBe("http://127.0.0.1:1")
    }))

  it.effect("paces free models by OpenRouter's published limits unless OPENROUTER_RATE_LIMITS says otherwise", () =>
    Effect.gen(function* () {
      const defaults = yield* OpenRouterConfig.config().pipe(withEnv({ OPENROUTER_API_KEY: "a" }))
      expect(defaults.rateLimits).toEqual({ perKey: { free: { perMinute: 20, perDay: 50 } } })
      const credited = yield* OpenRouterConfig.config().pipe(
        withEnv({ OPENROUTER_API_KEY: "a", OPENROUTER_RATE_LIMITS: '{"perKey":{"free":{"perMinute":20,"perDay":1000}}}' })
      )
      expect(credited.rateLimits).toEqual({ perKey: { free: { perMinute: 20, perDay: 1000 } } })
      const off = yield* OpenRouterConfig.config().pipe(withEnv({ OPENROUTER_RATE_LIMITS: "{}" }))
      expect(off.rateLimits).toEqual({})
      const programmatic = yield* OpenRouterConfig.config({ rateLimits: { perKey: { free: { perMinute: 5 } } } }).pipe(
        withEnv({ OPENROUTER_RATE_LIMITS: "{}" })
      )
      expect(programmatic.rateLimits).toEqual({ perKey: { free: { perMinute: 5 } } })
      const wrong = yield* Effect.either(OpenRouterConfig.config().pipe(withEnv({ OPENROUTER_RATE_LIMITS: '{"perKey":{"free":{"perMinute":-1}}}' })))
      expect(Either.isLeft(wrong) && String(wrong.left)).toMatch(/OPENROUTER_RATE_LIMITS/)
    }))

  it("free models are their own lane, paid ones another; requests of no model the default one", () => {
    expect(OpenRouterConfig.laneOf("openai/gpt-oss-20b:free")).toBe("free")
    expect(OpenRouterConfig.laneOf("openai/gpt-4o")).toBe("paid")
    expect(OpenRouterConfig.laneOf(undefined)).toBeUndefined()
  })
})
