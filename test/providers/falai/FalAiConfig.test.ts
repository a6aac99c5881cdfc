/**
 * fal's settings: the model listing is fal's own for the public queue and the queue itself for
 * a stand-in (so a stand-in's key never reaches fal), `FALAI_PLATFORM_URL` or the option wins;
 * the manifest's variables list, key first.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { FalAiConfig } from "../../../src/providers/falai/index.js"
import { env } from "./drive.js"

describe("FalAiConfig", () => {
  it.effect("the listing is fal's own for the public queue, the queue itself for a stand-in", () =>
    Effect.gen(function* () {
      const publicQueue = yield* FalAiConfig.fromEnv().pipe(Effect.withConfigProvider(env({ FAL_KEY: "k" })))
      expect(publicQueue).toMatchObject({ baseUrl: "https://queue.fal.run", platformUrl: "https://api.fal.ai/v1" })
      expect(publicQueue.apiKeys.map(Redacted.value)).toEqual(["k"])
      const standIn = yield* FalAiConfig.fromEnv().pipe(Effect.withConfigProvider(env({ FALAI_BASE_URL: "http://127.0.0.1:9/fal" })))
      expect(standIn.platformUrl).toBe("http://127.0.0.1:9/fal")
      const overridden = yield* FalAiConfig.fromEnv({ baseUrl: "http://127.0.0.1:8" }).pipe(Effect.withConfigProvider(env({})))
      expect(overridden.platformUrl).toBe("http://127.0.0.1:8")
    }))

  it.effect("FALAI_PLATFORM_URL, and over it the option, name the listing", () =>
    Effect.gen(function* () {
      const vars = env({ FALAI_PLATFORM_URL: "http://127.0.0.1:7/v1" })
      expect((yield* FalAiConfig.fromEnv().pipe(Effect.withConfigProvider(vars))).platformUrl).toBe("http://127.0.0.1:7/v1")
      expect((yield* FalAiConfig.fromEnv({}, "http://127.0.0.1:6").pipe(Effect.withConfigProvider(vars))).platformUrl).toBe("http://127.0.0.1:6")
    }))

  it("the variables it reads, the key first", () => {
    expect(FalAiConfig.variables).toEqual(["FALAI_API_KEY", "FAL_KEY", "FALAI_BASE_URL", "FALAI_PLATFORM_URL", "FALAI_TIMEOUT", "FALAI_RETRIES", "FALAI_RATE_LIMITS"])
  })
})
