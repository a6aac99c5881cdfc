/** Replicate's settings: the token and base URL from the environment, the manifest's variables, the Bearer scheme. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ReplicateConfig } from "../../../src/providers/replicate/index.js"
import { env } from "../falai/drive.js"

describe("ReplicateConfig", () => {
  it.effect("reads the token (a list rotates) and the base URL, with the public API as default", () =>
    Effect.gen(function* () {
      const config = yield* ReplicateConfig.fromEnv().pipe(Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: "r8_a,r8_b" })))
      expect(config.apiKeys.map(Redacted.value)).toEqual(["r8_a", "r8_b"])
      expect(config.baseUrl).toBe("https://api.replicate.com/v1")
      const overridden = yield* ReplicateConfig.fromEnv({ baseUrl: "http://127.0.0.1:9" }).pipe(Effect.withConfigProvider(env({})))
      expect(overridden).toMatchObject({ apiKeys: [], baseUrl: "http://127.0.0.1:9" })
    }))

  it("the variables it reads, the token first; the token is sent as a Bearer", () => {
    expect(ReplicateConfig.variables).toEqual(["REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "REPLICATE_TIMEOUT", "REPLICATE_RETRIES", "REPLICATE_RATE_LIMITS"])
    expect(ReplicateConfig.settings.auth("r8_x")).toEqual(["authorization", "Bearer r8_x"])
  })
})
