/**
 * The job rules as pure functions: a JobTicket survives a JSON round trip (and a bad one is
 * InvalidInput), percent and lines from log text, and the wire-to-status mappings of both queued
 * providers (fal's lenient logs, its URLs moved onto a proxy's base; Replicate's statuses and
 * model references).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { FalAiClient, FalAiModels } from "../../src/providers/falai/index.js"
import { ReplicateClient, ReplicateModels } from "../../src/providers/replicate/index.js"
import * as Jobs from "../../src/jobs/index.js"

const ticket = new Jobs.JobTicket({
  provider: "falai",
  model: "fal-ai/flux/schnell",
  capability: "text-to-image",
  requestId: "764cabcf-b745-4b3e-ae38-1200304cf45b",
  statusUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf/status",
  resultUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf",
  cancelUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf/cancel",
  submittedAt: new Date("2026-11-29T05:32:08.123Z")
})

describe("Jobs", () => {
  it.effect("a ticket round-trips through JSON, dates as ISO 8601", () =>
    Effect.gen(function* () {
      const json = Jobs.encodeTicket(ticket)
      expect(JSON.parse(json).submittedAt).toBe("2026-11-29T05:32:08.123Z")
      const back = yield* Jobs.decodeTicket(json)
      expect(back).toEqual(ticket)
      expect(back).toBeInstanceOf(Jobs.JobTicket)
    }))

  it.effect("a ticket with a missing field or an unknown capability is InvalidInput", () =>
    Effect.gen(function* () {
      const { requestId: _, ...rest } = JSON.parse(Jobs.encodeTicket(ticket))
      const missing = yield* Effect.exit(Jobs.decodeTicket(JSON.stringify(rest)))
      expect(Exit.isFailure(missing)).toBe(true)
      const wrong = yield* Effect.flip(Jobs.decodeTicket(JSON.stringify({ ...JSON.parse(Jobs.encodeTicket(ticket)), capability: "mind-reading" })))
      expect(wrong._tag).toBe("InvalidInput")
      const notJson = yield* Effect.flip(Jobs.decodeTicket("{not json"))
      expect(notJson._tag).toBe("InvalidInput")
    }))

  it("percent from tqdm bars and percent lines, the last one that has one", () => {
    expect(Jobs.percentFromLogs(["loading", " 45%|####      | 45/100 [00:03<00:04]"])).toBe(45)
    expect(Jobs.percentFromLogs(["10%|#", "progress: 62.5 %", "saving"])).toBe(62.5)
    expect(Jobs.percentFromLogs(["no numbers here"])).toBeUndefined()
    expect(Jobs.percentFromLogs(["420%| nonsense"])).toBeUndefined()
  })

  it("log text as lines: carriage-return redraws keep their last state", () => {
    expect(Jobs.logLines("start\n 10%|#\r 20%|##\r 30%|###\ndone\n")).toEqual(["start", " 30%|###", "done"])
    expect(Jobs.logLines(null)).toEqual([])
  })

  it("result file names are safe", () => {
    expect(Jobs.resultFileName(new Jobs.JobTicket({ ...ticket, requestId: "../../etc/passwd" }), 0, "png")).toBe("falai-______etc_passwd-0.png")
  })
})

describe("fal wire rules", () => {
  it("logs are read as an array of messages, and anything else (the spec's object) as none", () => {
    expect(FalAiClient.logsOf([{ message: "a" }, { message: "b", level: "INFO" }, "c"])).toEqual(["a", "b", "c"])
    expect(FalAiClient.logsOf({})).toEqual([])
    expect(FalAiClient.logsOf(null)).toEqual([])
  })

  it("status answers map to job states; an error wins over COMPLETED", () => {
    expect(FalAiClient.toJobStatus({ status: "IN_QUEUE", queue_position: 3 })).toEqual({ _tag: "Queued", position: 3 })
    expect(FalAiClient.toJobStatus({ status: "IN_PROGRESS", logs: [{ message: "x" }] })).toEqual({ _tag: "Running", logs: ["x"] })
    expect(FalAiClient.toJobStatus({ status: "COMPLETED", error: "Out of memory", error_type: "runner" })).toEqual({ _tag: "Failed", message: "Out of memory" })
    expect(FalAiClient.toJobStatus({ status: "FAILED" })).toEqual({ _tag: "Failed", message: "the job failed" })
  })

  it("returned URLs are kept on the base origin, moved onto a proxy base otherwise, rebuilt when absent", () => {
    const answer = { request_id: "r1", status_url: "https://queue.fal.run/fal-ai/bytedance/requests/r1/status" }
    expect(FalAiClient.ticketOf("https://queue.fal.run", "fal-ai/bytedance/seedream/v4/text-to-image", "text-to-image", answer, new Date(0)).statusUrl).toBe(
      "https://queue.fal.run/fal-ai/bytedance/requests/r1/status"
    )
    const proxied = FalAiClient.ticketOf("http://127.0.0.1:9/fal", "fal-ai/bytedance/seedream/v4/text-to-image", "text-to-image", answer, new Date(0))
    expect(proxied.statusUrl).toBe("http://127.0.0.1:9/fal/fal-ai/bytedance/requests/r1/status")
    expect(proxied.resultUrl).toBe("http://127.0.0.1:9/fal/fal-ai/bytedance/seedream/v4/text-to-image/requests/r1")
  })

  it("categorization is by the listing's category, then the id's last segment", () => {
    expect(FalAiModels.categorize({ endpoint_id: "x/y", metadata: { category: "image-to-video" } })).toBe("image-to-video")
    expect(FalAiModels.categorize({ endpoint_id: "fal-ai/foo/text-to-video" })).toBe("text-to-video")
    expect(FalAiModels.categorize({ endpoint_id: "fal-ai/trainer", metadata: { category: "training" } })).toBeUndefined()
  })

  it("result files are found in each output shape", () => {
    expect(FalAiModels.resultMedia({ images: [{ url: "https://f/a.png", width: 8, content_type: "image/png" }] }, "image")).toMatchObject({ url: "https://f/a.png", width: 8 })
    expect(FalAiModels.resultMedia({ video: { url: "https://f/v.mp4" } }, "video")?.url).toBe("https://f/v.mp4")
    expect(FalAiModels.resultMedia({ audio_file: { url: "https://f/a.wav" } }, "audio")?.url).toBe("https://f/a.wav")
    expect(FalAiModels.resultMedia({ audio_url: "https://f/b.wav" }, "audio")?.url).toBe("https://f/b.wav")
    expect(FalAiModels.resultMedia({ seed: 1 }, "image")).toBeUndefined()
  })
})

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
    expect(ReplicateModels.firstFileUrl(["https://r/a.png", "https://r/b.png"])).toBe("https://r/a.png")
    expect(ReplicateModels.firstFileUrl({ audio_out: "https://r/a.wav" })).toBe("https://r/a.wav")
    expect(ReplicateModels.firstFileUrl("just text")).toBeUndefined()
    expect(ReplicateModels.transcriptOf({ transcription: " hi ", segments: [{ start: 0, end: 1, text: " hi" }] })).toEqual({
      text: "hi",
      segments: [{ start: 0, end: 1, text: "hi" }]
    })
  })
})
