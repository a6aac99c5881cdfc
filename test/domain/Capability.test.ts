/**
 * The capability lists: every capability in the order users see them, and the queued jobs'
 * subset taken from it (so a job's capability is always one the registry knows).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { isMediaCapability, JobCapabilities, JobCapability, MediaCapabilities } from "../../src/domain/Capability.js"

describe("Capability", () => {
  it("lists every capability in the order users see them", () => {
    expect(MediaCapabilities).toEqual([
      "text-to-text",
      "text-to-image",
      "image-to-image",
      "image-upscaling",
      "text-to-video",
      "image-to-video",
      "video-to-video",
      "text-to-audio",
      "text-to-speech",
      "speech-to-text",
      "video-composition",
      "audio-enhancement"
    ])
  })

  it("the job capabilities are capabilities, without chat, composition and enhancement", () => {
    const jobs: ReadonlyArray<string> = JobCapabilities
    expect(JobCapabilities.every(isMediaCapability)).toBe(true)
    expect(MediaCapabilities.filter((capability) => !jobs.includes(capability))).toEqual([
      "text-to-text",
      "video-composition",
      "audio-enhancement"
    ])
  })

  it("a job capability decodes only from the subset", () => {
    expect(Schema.decodeUnknownEither(JobCapability)("text-to-video")).toEqual(Either.right("text-to-video"))
    expect(Either.isLeft(Schema.decodeUnknownEither(JobCapability)("text-to-text"))).toBe(true)
  })
})
