/**
 * Replicate's wire rules and output rules as pure functions: model references, statuses to job
 * states (percent from logs), the first file of an output, and transcripts of Whisper's shapes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Outputs, ReplicateClient } from "../../../src/providers/replicate/index.js"

describe("Replicate wire rules", () => {
  it("model references: official, versioned, bare version", () => {
    expect(ReplicateClient.parseModelRef("black-forest-labs/flux-schnell")).toEqual({ _tag: "Model", owner: "black-forest-labs", name: "flux-schnell" })
    expect(ReplicateClient.parseModelRef("a/b:0123456789abcdef")).toEqual({ _tag: "Version", version: "0123456789abcdef" })
    expect(ReplicateClient.parseModelRef("f".repeat(64))).toEqual({ _tag: "Version", version: "f".repeat(64) })
    expect(ReplicateClient.parseModelRef("nonsense")).toBeUndefined()
  })

  it("statuses map to job states with percent from logs", () => {
    const base = { id: "p", status: "processing", logs: "a\n 40%|####" }
    expect(ReplicateClient.toJobStatus(base)).toEqual({ _tag: "Running", logs: ["a", " 40%|####"], percent: 40 })
    expect(ReplicateClient.toJobStatus({ ...base, status: "starting" })).toEqual({ _tag: "Queued" })
    expect(ReplicateClient.toJobStatus({ ...base, status: "failed", error: "boom" })).toEqual({ _tag: "Failed", message: "boom" })
    expect(ReplicateClient.toJobStatus({ ...base, status: "canceled" })._tag).toBe("Cancelled")
  })

  it("outputs: the first file URL of a string, list or object; transcripts of whisper shapes", () => {
    expect(Outputs.firstFileUrl(["https://r/a.png", "https://r/b.png"])).toBe("https://r/a.png")
    expect(Outputs.firstFileUrl({ audio_out: "https://r/a.wav" })).toBe("https://r/a.wav")
    expect(Outputs.firstFileUrl("just text")).toBeUndefined()
    expect(Outputs.transcriptOf({ transcription: " hi ", segments: [{ start: 0, end: 1, text: " hi" }] })).toEqual({
      text: "hi",
      segments: [{ start: 0, end: 1, text: "hi" }]
    })
  })
})
