/**
 * Replicate's wire rules and output rules as pure functions: model references, statuses to job
 * states (percent from logs), the first file of an output, transcripts of Whisper's shapes,
 * `Cancel-After` values, and how a page of the prediction listing is searched (canonical JSON,
 * the model or version, `since` and the clock-skew allowance, the next page's path).
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

  it("outputs: WhisperX's transcript is its segments' text, joined", () => {
    const whisperx = { segments: [{ start: 0, end: 1.5, text: " Hello there.", words: [] }, { start: 1.5, end: 2, text: " Bye." }], detected_language: "en" }
    expect(Outputs.transcriptOf(whisperx)).toEqual({
      text: "Hello there. Bye.",
      segments: [{ start: 0, end: 1.5, text: "Hello there." }, { start: 1.5, end: 2, text: "Bye." }],
      language: "en"
    })
    // An object with neither text nor segments is none.
    expect(Outputs.transcriptOf({ detected_language: "en" })).toBeUndefined()
  })

  it("Cancel-After: whole seconds rounded up, at least 5 s", () => {
    expect(ReplicateClient.cancelAfter(90)).toBe("90s")
    expect(ReplicateClient.cancelAfter(89.2)).toBe("90s")
    expect(ReplicateClient.cancelAfter(1)).toBe("5s")
    expect(ReplicateClient.cancelAfter(300)).toBe("300s")
  })

  it("canonical JSON: keys sorted at every depth, undefined members left out, arrays in order", () => {
    expect(ReplicateClient.canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":0,"z":1}]},"b":1}')
    expect(ReplicateClient.canonicalJson({ prompt: "x", width: 512 })).toBe(ReplicateClient.canonicalJson({ width: 512, prompt: "x" }))
    expect(ReplicateClient.canonicalJson(undefined)).toBe("null")
  })

  describe("scanning a page of predictions (most recent first)", () => {
    const since = Date.parse("2026-03-01T12:00:00Z")
    const input = ReplicateClient.canonicalJson({ prompt: "a red kite" })
    const ref = { _tag: "Model", owner: "black-forest-labs", name: "flux-schnell" } as const
    const prediction = (id: string, at: string, extra: Partial<ReplicateClient.Prediction> = {}): ReplicateClient.Prediction => ({
      id,
      status: "processing",
      model: "black-forest-labs/flux-schnell",
      version: "hidden",
      input: { prompt: "a red kite" },
      created_at: at,
      ...extra
    })

    it("finds the prediction of the model with the same input created at or after since", () => {
      const page = [
        prediction("other-input", "2026-03-01T12:00:09Z", { input: { prompt: "a blue kite" } }),
        prediction("other-model", "2026-03-01T12:00:08Z", { model: "someone/else" }),
        prediction("ours", "2026-03-01T12:00:00.000001Z"),
        prediction("older", "2026-03-01T11:59:00Z")
      ]
      expect(ReplicateClient.scanPredictions(page, { ref, input, since })).toMatchObject({ found: { id: "ours" }, exhausted: false })
    })

    it("a prediction before since is no match; one more than 60 s before it ends the scan", () => {
      const within = [prediction("skewed", "2026-03-01T11:59:30Z")]
      expect(ReplicateClient.scanPredictions(within, { ref, input, since })).toEqual({ found: undefined, exhausted: false })
      const beyond = [prediction("old", "2026-03-01T11:58:59Z")]
      expect(ReplicateClient.scanPredictions(beyond, { ref, input, since })).toEqual({ found: undefined, exhausted: true })
      // No readable created_at: never a match, never the end.
      const unreadable = [prediction("undated", "yesterday"), prediction("null", "x", { created_at: null })]
      expect(ReplicateClient.scanPredictions(unreadable, { ref, input, since })).toEqual({ found: undefined, exhausted: false })
    })

    it("a version reference matches the prediction's version; the input compares as canonical JSON", () => {
      const version = { _tag: "Version", version: "5c7d" } as const
      const page = [
        prediction("hidden", "2026-03-01T12:00:03Z"),
        prediction("versioned", "2026-03-01T12:00:02Z", { model: "owner/model", version: "5c7d", input: { width: 512, prompt: "x" } })
      ]
      const search = { ref: version, input: ReplicateClient.canonicalJson({ prompt: "x", width: 512 }), since }
      expect(ReplicateClient.scanPredictions(page, search).found?.id).toBe("versioned")
    })
  })

  it("the next page: as given on the base origin, else its cursor on the base URL's /predictions", () => {
    expect(ReplicateClient.nextPagePath("https://api.replicate.com/v1", "https://api.replicate.com/v1/predictions?cursor=abc")).toBe(
      "https://api.replicate.com/v1/predictions?cursor=abc"
    )
    expect(ReplicateClient.nextPagePath("http://127.0.0.1:9/", "https://api.replicate.com/v1/predictions?cursor=abc")).toBe(
      "http://127.0.0.1:9/predictions?cursor=abc"
    )
    expect(ReplicateClient.nextPagePath("https://api.replicate.com/v1", null)).toBeUndefined()
    expect(ReplicateClient.nextPagePath("https://api.replicate.com/v1", "not a url")).toBeUndefined()
  })
})
