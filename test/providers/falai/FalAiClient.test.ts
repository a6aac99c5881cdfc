/**
 * fal's wire rules and model rules as pure functions: lenient logs, status answers to job
 * states, returned URLs moved onto a proxy's base, categorization of the listing, and where
 * results are in each output shape.
 */
import { describe, expect, it } from "@effect/vitest"
import { Categories, FalAiClient, Outputs } from "../../../src/providers/falai/index.js"

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
    expect(Categories.categorize({ endpoint_id: "x/y", metadata: { category: "image-to-video" } })).toBe("image-to-video")
    expect(Categories.categorize({ endpoint_id: "fal-ai/foo/text-to-video" })).toBe("text-to-video")
    expect(Categories.categorize({ endpoint_id: "fal-ai/trainer", metadata: { category: "training" } })).toBeUndefined()
  })

  it("result files are found in each output shape", () => {
    expect(Outputs.resultMedia({ images: [{ url: "https://f/a.png", width: 8, content_type: "image/png" }] }, "image")).toMatchObject({ url: "https://f/a.png", width: 8 })
    expect(Outputs.resultMedia({ video: { url: "https://f/v.mp4" } }, "video")?.url).toBe("https://f/v.mp4")
    expect(Outputs.resultMedia({ audio_file: { url: "https://f/a.wav" } }, "audio")?.url).toBe("https://f/a.wav")
    expect(Outputs.resultMedia({ audio_url: "https://f/b.wav" }, "audio")?.url).toBe("https://f/b.wav")
    expect(Outputs.resultMedia({ seed: 1 }, "image")).toBeUndefined()
  })
})
