import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { manifest } from "../../../src/providers/together/manifest.js"
import * as TogetherConfig from "../../../src/providers/together/TogetherConfig.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("TogetherConfig", () => {
  it("the manifest names the provider and the variables it reads, the key first", () => {
    expect(manifest).toMatchObject({ id: TogetherConfig.settings.id, name: TogetherConfig.settings.name, type: "remote" })
    expect(manifest.settings).toEqual(["TOGETHER_API_KEY", "TOGETHER_BASE_URL", "TOGETHER_TIMEOUT", "TOGETHER_RETRIES", "TOGETHER_RATE_LIMITS"])
  })

  it("sends the key as a Bearer token", () => {
    expect(TogetherConfig.settings.auth("k")).toEqual(["authorization", "Bearer k"])
  })

  it.effect("reads its variables, with the public base URL by default and overrides on top", () =>
    Effect.gen(function* () {
      const fromEnv = yield* TogetherConfig.config().pipe(withEnv({ TOGETHER_API_KEY: "a,b", TOGETHER_TIMEOUT: "5 seconds", TOGETHER_RETRIES: "1" }))
      expect(fromEnv.apiKeys.map(Redacted.value)).toEqual(["a", "b"])
      expect(fromEnv).toMatchObject({ baseUrl: "https://api.together.xyz/v1", timeout: Duration.seconds(5), retries: 1 })
      const overridden = yield* TogetherConfig.config({ apiKey: "c", baseUrl: "http://127.0.0.1:1" }).pipe(withEnv({ TOGETHER_API_KEY: "a" }))
      expect(overridden.apiKeys.map(Redacted.value)).toEqual(["c"])
      expect(overridden.baseUrl).toBe("http://127.0.0.1:1")
    }))
})
