/**
 * The upload cache (jobs/Uploads.ts): one upload per content (by hash and type) within its time to
 * live, concurrent calls sharing it, a failure forgotten so that the next call uploads again, and
 * the inline limit deciding between a data URI and an upload.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { BytesSource } from "../../src/domain/Asset.js"
import { ProviderUnavailable } from "../../src/domain/Errors.js"
import { inputUrlOf } from "../../src/jobs/Inputs.js"
import * as Uploads from "../../src/jobs/Uploads.js"

const upload = (bytes: Uint8Array, contentType = "image/png"): Uploads.Upload => ({
  source: new BytesSource({ bytes }),
  size: bytes.length,
  contentType,
  filename: "input.png"
})

describe("Uploads", () => {
  it.effect("uploads a content once, shares a running upload, forgets a failure, and uploads again after the time to live", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const gate = yield* Deferred.make<void>()
      let fail = false
      const cached = yield* Uploads.make("emu", (input) =>
        Effect.gen(function* () {
          calls.push(input.contentType)
          yield* Deferred.await(gate)
          if (fail) return yield* new ProviderUnavailable({ provider: "emu", detail: "storage down" })
          return `https://files.test/${calls.length}`
        })
      )
      const a = new Uint8Array([1, 2, 3])
      const both = yield* Effect.fork(Effect.all([cached(upload(a)), cached(upload(a))], { concurrency: "unbounded" }))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(both)).toEqual(["https://files.test/1", "https://files.test/1"])
      expect(calls).toHaveLength(1)
      // The same bytes with another type are another file.
      expect(yield* cached(upload(a, "image/webp"))).toBe("https://files.test/2")

      fail = true
      const other = new Uint8Array([9, 9])
      expect(Exit.isFailure(yield* Effect.exit(cached(upload(other))))).toBe(true)
      fail = false
      expect(yield* cached(upload(other))).toBe("https://files.test/4")

      yield* TestClock.adjust(Uploads.cacheTtlMillis + 1)
      expect(yield* cached(upload(a))).toBe("https://files.test/5")
    }))

  it.effect("inputs at most the inline limit go as a data URI; larger ones through the uploader in effect, none without one", () =>
    Effect.gen(function* () {
      const uploaded: Array<number> = []
      const uploader: Uploads.UploadFile = (input) => Effect.sync(() => (uploaded.push(input.size), "https://files.test/big"))
      const small = new BytesSource({ bytes: new Uint8Array(Uploads.inlineLimitBytes) })
      const large = new BytesSource({ bytes: new Uint8Array(Uploads.inlineLimitBytes + 1) })
      expect(yield* inputUrlOf("emu", small, "image/png").pipe(Uploads.withUploader(uploader))).toMatch(/^data:image\/png;base64,/)
      expect(yield* inputUrlOf("emu", large, "image/png").pipe(Uploads.withUploader(uploader))).toBe("https://files.test/big")
      expect(uploaded).toEqual([Uploads.inlineLimitBytes + 1])
      expect(yield* inputUrlOf("emu", large, "image/png")).toMatch(/^data:image\/png;base64,/)
    }))
})
