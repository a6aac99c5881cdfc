/**
 * Results: file names are safe whatever the request id, a result's cost is known only for
 * per-image or per-request prices, and the readers make each capability's asset (a transcript as
 * Text with the job's origin; an output without one is MalformedResponse naming the job).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { FileSource } from "../../src/domain/Asset.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import { costPerResult, type DownloadedResult, outputKindOf, resultFileName, resultReaders } from "../../src/jobs/Results.js"
import { JobTicket } from "../../src/jobs/Ticket.js"

const ticket = new JobTicket({
  provider: "falai",
  model: "fal-ai/whisper",
  capability: "speech-to-text",
  requestId: "764cabcf",
  statusUrl: "https://queue.fal.run/fal-ai/whisper/requests/764cabcf/status",
  resultUrl: "https://queue.fal.run/fal-ai/whisper/requests/764cabcf",
  cancelUrl: "https://queue.fal.run/fal-ai/whisper/requests/764cabcf/cancel",
  submittedAt: new Date("2026-11-29T05:32:08.123Z")
})

const priced = (unit: "image" | "request" | "second" | "megapixel"): ProviderModel => ({
  id: "m",
  provider: "p",
  name: "m",
  capabilities: ["text-to-image"],
  pricing: [{ usd: 0.04, unit, applies: "output" }],
  free: false
})

describe("Results", () => {
  it("result file names are safe", () => {
    expect(resultFileName(new JobTicket({ ...ticket, requestId: "../../etc/passwd" }), 0, "png")).toBe("falai-______etc_passwd-0.png")
  })

  it("a result's cost is known for a price per image or per request only", () => {
    expect(costPerResult(priced("image"))).toBe(0.04)
    expect(costPerResult(priced("request"))).toBe(0.04)
    expect(costPerResult(priced("second"))).toBeUndefined()
    expect(costPerResult(priced("megapixel"))).toBeUndefined()
    expect(costPerResult(undefined)).toBeUndefined()
  })

  it("each capability makes its kind of asset", () => {
    expect(outputKindOf("image-to-image")).toBe("image")
    expect(outputKindOf("image-to-video")).toBe("video")
    expect(outputKindOf("text-to-speech")).toBe("audio")
    expect(outputKindOf("speech-to-text")).toBe("text")
  })

  it.effect("readers: a file becomes the capability's asset, a transcript Text with the job's origin", () =>
    Effect.gen(function* () {
      const downloaded: DownloadedResult = {
        source: new FileSource({ path: "/tmp/x.mp4" }),
        mimeType: "video/mp4",
        origin: { provider: "falai", model: "m", jobId: "764cabcf" },
        media: { url: "https://f/x.mp4", width: 8, height: 6, duration: 2 }
      }
      const readers = resultReaders(
        () => Effect.succeed(downloaded),
        (output) => (output === "speech" ? { text: "hello", segments: [{ start: 0, end: 1, text: "hello" }], language: "en" } : undefined)
      )
      expect(yield* readers["text-to-video"](ticket, {})).toMatchObject({ _tag: "Video", mimeType: "video/mp4", width: 8, height: 6, duration: 2 })
      expect(yield* readers["text-to-audio"](ticket, {})).toMatchObject({ _tag: "Audio", duration: 2 })
      const text = yield* readers["speech-to-text"](ticket, "speech")
      expect(text).toMatchObject({ text: "hello", language: "en", origin: { provider: "falai", model: "fal-ai/whisper", jobId: "764cabcf" } })
      const missing = yield* Effect.flip(readers["speech-to-text"](ticket, "music"))
      expect(missing).toMatchObject({ _tag: "MalformedResponse", message: "falai: job 764cabcf (fal-ai/whisper): the output has no transcript" })
    }))
})
