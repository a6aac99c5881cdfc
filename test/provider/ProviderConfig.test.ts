import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import { settings as falai } from "../../src/providers/falai/FalAiConfig.js"
import { settings as together } from "../../src/providers/together/TogetherConfig.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("ProviderConfig", () => {
  it.effect("reads keys, base URL, timeout and retries from the environment", () =>
    Effect.gen(function* () {
      const config = yield* ProviderConfig.fromEnv(together).pipe(
        withEnv({ TOGETHER_API_KEY: " k1 , k2,,", TOGETHER_BASE_URL: "http://127.0.0.1:4010", TOGETHER_TIMEOUT: "5 seconds", TOGETHER_RETRIES: "1" })
      )
      expect(config.apiKeys.map(Redacted.value)).toEqual(["k1", "k2"])
      expect(config.baseUrl).toBe("http://127.0.0.1:4010")
      expect(config.timeout).toEqual(Duration.seconds(5))
      expect(config.retries).toBe(1)
    }))

  it.effect("defaults: no key, the public base URL, 30 s, 3 retries; a timeout in plain milliseconds is read too", () =>
    Effect.gen(function* () {
      const config = yield* ProviderConfig.fromEnv(together).pipe(withEnv({}))
      expect(config).toMatchObject({ apiKeys: [], baseUrl: "https://api.together.xyz/v1", timeout: Duration.seconds(30), retries: 3 })
      const ms = yield* ProviderConfig.fromEnv(together).pipe(withEnv({ TOGETHER_TIMEOUT: "2500" }))
      expect(ms.timeout).toEqual(Duration.millis(2500))
    }))

  it.effect("fal.ai takes FALAI_API_KEY, else FAL_KEY", () =>
    Effect.gen(function* () {
      const fromFalKey = yield* ProviderConfig.fromEnv(falai).pipe(withEnv({ FAL_KEY: "fk" }))
      expect(fromFalKey.apiKeys.map(Redacted.value)).toEqual(["fk"])
      const both = yield* ProviderConfig.fromEnv(falai).pipe(withEnv({ FAL_KEY: "fk", FALAI_API_KEY: "ak" }))
      expect(both.apiKeys.map(Redacted.value)).toEqual(["ak"])
    }))

  it.effect("programmatic settings override the environment", () =>
    Effect.gen(function* () {
      const config = yield* ProviderConfig.fromEnv(together, { apiKey: ["a", Redacted.make("b,c")], baseUrl: "http://127.0.0.1:1", retries: 0 }).pipe(
        withEnv({ TOGETHER_API_KEY: "env", TOGETHER_RETRIES: "5" })
      )
      expect(config.apiKeys.map(Redacted.value)).toEqual(["a", "b", "c"])
      expect(config).toMatchObject({ baseUrl: "http://127.0.0.1:1", retries: 0 })
    }))

  it.effect("rate limits: none by default for a provider that declares none, <PREFIX>_RATE_LIMITS as JSON otherwise", () =>
    Effect.gen(function* () {
      expect((yield* ProviderConfig.fromEnv(together).pipe(withEnv({}))).rateLimits).toEqual({})
      const paced = yield* ProviderConfig.fromEnv(together).pipe(
        withEnv({ TOGETHER_RATE_LIMITS: '{"perKey":{"default":{"perSecond":5}},"perProvider":{"default":[{"limit":100,"window":"1 minute"}]}}' })
      )
      expect(paced.rateLimits).toEqual({
        perKey: { default: { perSecond: 5 } },
        perProvider: { default: [{ limit: 100, window: Duration.minutes(1) }] }
      })
      const result = yield* Effect.either(ProviderConfig.fromEnv(together).pipe(withEnv({ TOGETHER_RATE_LIMITS: "fast please" })))
      expect(Either.isLeft(result) && String(result.left)).toMatch(/TOGETHER_RATE_LIMITS/)
    }))

  it.effect("a malformed value is a ConfigError naming the variable", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(ProviderConfig.fromEnv(together).pipe(withEnv({ TOGETHER_RETRIES: "many" })))
      expect(Either.isLeft(result) && String(result.left)).toMatch(/TOGETHER_RETRIES/)
    }))

  it.effect("keys are Redacted: printing the config shows no key", () =>
    Effect.gen(function* () {
      const config = yield* ProviderConfig.fromEnv(together).pipe(withEnv({ TOGETHER_API_KEY: "sk-very-secret" }))
      expect(JSON.stringify(config)).not.toContain("sk-very-secret")
      expect(String(config.apiKeys[0])).not.toContain("sk-very-secret")
    }))
})
