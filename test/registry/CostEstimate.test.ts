/**
 * The worst-case cost of a request against hand-computed figures: each price unit, the request's
 * own bounds, the model's limits and the documented defaults; free models cost 0, unpriced ones
 * (or prices whose quantity cannot be bounded) are unknown.
 */
import { describe, expect, it } from "@effect/vitest"
import { Audio, fromUrl, Image, text, Video } from "../../src/domain/Asset.js"
import type { MediaCapability } from "../../src/domain/Capability.js"
import type { ModelLimits, Price, ProviderModel } from "../../src/domain/Model.js"
import { worstCase } from "../../src/registry/CostEstimate.js"

const model = (
  capability: MediaCapability,
  pricing: ReadonlyArray<Price>,
  options: { readonly free?: boolean; readonly limits?: ModelLimits } = {}
): ProviderModel => ({
  id: "m",
  provider: "p",
  name: "m",
  capabilities: [capability],
  pricing,
  free: options.free ?? false,
  ...(options.limits !== undefined ? { limits: options.limits } : {})
})

const price = (usd: number, unit: Price["unit"], applies: Price["applies"]): Price => ({ usd, unit, applies })

const picture = (width?: number, height?: number) =>
  new Image({ source: fromUrl("https://example.invalid/a.png"), mimeType: "image/png", ...(width !== undefined ? { width } : {}), ...(height !== undefined ? { height } : {}) })

const recording = (duration?: number) =>
  new Audio({ source: fromUrl("https://example.invalid/a.wav"), mimeType: "audio/wav", ...(duration !== undefined ? { duration } : {}) })

describe("worstCase", () => {
  it("text-to-text: input tokens at 3 characters each (system included), output tokens from maxTokens, the model, else 4096", () => {
    // $1 per million input tokens, $2 per million output tokens.
    const chat = model("text-to-text", [price(0.000001, "token", "input"), price(0.000002, "token", "output")])
    // 100 + 20 characters = 40 tokens = $0.00004; 1000 output tokens = $0.002.
    expect(worstCase(chat, "text-to-text", text("x".repeat(100)), { system: "y".repeat(20), maxTokens: 1000 })).toBeCloseTo(0.00204, 12)
    // 101 characters = 34 tokens (rounded up) = $0.000034; 4096 output tokens = $0.008192.
    expect(worstCase(chat, "text-to-text", text("x".repeat(101)))).toBeCloseTo(0.008226, 12)
    const limited = model("text-to-text", chat.pricing, { limits: { maxOutputTokens: 8000 } })
    // 1 token in, 8000 out.
    expect(worstCase(limited, "text-to-text", text("abc"))).toBeCloseTo(0.000001 + 0.016, 12)
  })

  it("images: per image times the count asked in extra, per megapixel of the size asked (default 1024 x 1024), per step", () => {
    const perImage = model("text-to-image", [price(0.03, "image", "output")])
    expect(worstCase(perImage, "text-to-image", text("a cat"))).toBeCloseTo(0.03, 12)
    expect(worstCase(perImage, "text-to-image", text("a cat"), { extra: { num_images: 4 } })).toBeCloseTo(0.12, 12)
    expect(worstCase(perImage, "text-to-image", text("a cat"), { extra: { n: 3 } })).toBeCloseTo(0.09, 12)

    const perMegapixel = model("text-to-image", [price(0.05, "megapixel", "output")])
    // 1024 x 1024 = 1.048576 MP.
    expect(worstCase(perMegapixel, "text-to-image", text("a cat"))).toBeCloseTo(0.0524288, 12)
    // 2 x 2048 x 1024 = 4.194304 MP.
    expect(worstCase(perMegapixel, "text-to-image", text("a cat"), { width: 2048, height: 1024, extra: { num_outputs: 2 } })).toBeCloseTo(
      0.2097152,
      12
    )

    const perStep = model("text-to-image", [price(0.0002, "step", "output")])
    expect(worstCase(perStep, "text-to-image", text("a cat"), { steps: 28, extra: { n: 2 } })).toBeCloseTo(0.0112, 12)
    expect(worstCase(perStep, "text-to-image", text("a cat"))).toBeCloseTo(0.01, 12)
  })

  it("image-to-image: input megapixels of the given image, output megapixels of the size asked", () => {
    const edit = model("image-to-image", [price(0.01, "megapixel", "input"), price(0.02, "megapixel", "output")])
    // In: 512 x 512 = 0.262144 MP; out: 1024 x 1024 = 1.048576 MP.
    expect(worstCase(edit, "image-to-image", picture(512, 512))).toBeCloseTo(0.00262144 + 0.02097152, 12)
  })

  it("video: per second of durationSeconds, the model's maximum, else 10 s; per megapixel of every frame", () => {
    const perSecond = model("text-to-video", [price(0.1, "second", "output")])
    expect(worstCase(perSecond, "text-to-video", text("waves"), { durationSeconds: 5 })).toBeCloseTo(0.5, 12)
    expect(worstCase(perSecond, "text-to-video", text("waves"))).toBeCloseTo(1, 12)
    const capped = model("image-to-video", perSecond.pricing, { limits: { maxDurationSeconds: 8 } })
    expect(worstCase(capped, "image-to-video", picture())).toBeCloseTo(0.8, 12)
    const perMinute = model("text-to-video", [price(0.6, "minute", "output")])
    expect(worstCase(perMinute, "text-to-video", text("waves"), { durationSeconds: 30 })).toBeCloseTo(0.3, 12)

    // 1280 x 720 x (5 s x 24 fps) = 110.592 MP.
    const perMegapixel = model("text-to-video", [price(0.001, "megapixel", "output")])
    expect(worstCase(perMegapixel, "text-to-video", text("waves"), { durationSeconds: 5 })).toBeCloseTo(0.110592, 12)
  })

  it("audio and speech: seconds asked (default 30 s), characters spoken, speech at 10 characters a second", () => {
    const sound = model("text-to-audio", [price(0.002, "second", "output")])
    expect(worstCase(sound, "text-to-audio", text("rain"))).toBeCloseTo(0.06, 12)
    expect(worstCase(sound, "text-to-audio", text("rain"), { durationSeconds: 12 })).toBeCloseTo(0.024, 12)

    const perCharacter = model("text-to-speech", [price(0.000015, "character", "input")])
    expect(worstCase(perCharacter, "text-to-speech", text("hello world"))).toBeCloseTo(0.000165, 12)
    const perSecond = model("text-to-speech", [price(0.01, "second", "output")])
    // 100 characters: 10 s; at double speed 5 s.
    expect(worstCase(perSecond, "text-to-speech", text("x".repeat(100)))).toBeCloseTo(0.1, 12)
    expect(worstCase(perSecond, "text-to-speech", text("x".repeat(100)), { speed: 2 })).toBeCloseTo(0.05, 12)
  })

  it("speech-to-text: the recording's duration, else the model's maximum, else unknown", () => {
    const perMinute = model("speech-to-text", [price(0.006, "minute", "input")])
    expect(worstCase(perMinute, "speech-to-text", recording(90))).toBeCloseTo(0.009, 12)
    expect(worstCase(perMinute, "speech-to-text", recording())).toBeUndefined()
    const capped = model("speech-to-text", perMinute.pricing, { limits: { maxDurationSeconds: 600 } })
    expect(worstCase(capped, "speech-to-text", recording())).toBeCloseTo(0.06, 12)
  })

  it("image-upscaling: one image made; megapixels of the input (default 1024 x 1024) times the scale squared (default 4)", () => {
    const perImage = model("image-upscaling", [price(0.002, "image", "output")])
    expect(worstCase(perImage, "image-upscaling", picture(), { scale: 2 })).toBeCloseTo(0.002, 12)
    const perMegapixel = model("image-upscaling", [price(0.01, "megapixel", "output")])
    // 512 x 2 by 256 x 2 = 0.524288 MP.
    expect(worstCase(perMegapixel, "image-upscaling", picture(512, 256), { scale: 2 })).toBeCloseTo(0.00524288, 12)
    // 1024 x 4 by 1024 x 4 = 16.777216 MP.
    expect(worstCase(perMegapixel, "image-upscaling", picture())).toBeCloseTo(0.16777216, 12)
  })

  it("video-to-video: seconds of the input video, else the model's maximum, else unknown; megapixels of its frames", () => {
    const perSecond = model("video-to-video", [price(0.1, "second", "output")])
    const clip = (options: { readonly duration?: number; readonly width?: number; readonly height?: number; readonly fps?: number } = {}) =>
      new Video({ source: fromUrl("https://example.invalid/a.mp4"), mimeType: "video/mp4", ...options })
    expect(worstCase(perSecond, "video-to-video", clip({ duration: 3 }))).toBeCloseTo(0.3, 12)
    expect(worstCase(perSecond, "video-to-video", clip())).toBeUndefined()
    const capped = model("video-to-video", perSecond.pricing, { limits: { maxDurationSeconds: 6 } })
    expect(worstCase(capped, "video-to-video", clip())).toBeCloseTo(0.6, 12)
    // 2 s x 10 fps of 100 x 100 = 20 frames of 0.01 MP = 0.2 MP.
    const perMegapixel = model("video-to-video", [price(1, "megapixel", "output")])
    expect(worstCase(perMegapixel, "video-to-video", clip({ duration: 2, width: 100, height: 100, fps: 10 }))).toBeCloseTo(0.2, 12)
  })

  it("prices add up: a request fee and a per-image price", () => {
    const both = model("text-to-image", [price(0.5, "request", "request"), price(0.03, "image", "output")])
    expect(worstCase(both, "text-to-image", text("a cat"), { extra: { num_images: 2 } })).toBeCloseTo(0.56, 12)
  })

  it("free is 0; no model, no prices, or a quantity that cannot be bounded is unknown", () => {
    expect(worstCase(model("text-to-image", [], { free: true }), "text-to-image", text("a cat"))).toBe(0)
    expect(worstCase(undefined, "text-to-image", text("a cat"))).toBeUndefined()
    expect(worstCase(model("text-to-image", []), "text-to-image", text("a cat"))).toBeUndefined()
    // Output tokens of an image model: nothing in the request bounds them.
    expect(worstCase(model("text-to-image", [price(0.00001, "token", "output")]), "text-to-image", text("a cat"))).toBeUndefined()
    // Seconds of an image: meaningless.
    expect(worstCase(model("text-to-image", [price(0.01, "second", "output")]), "text-to-image", text("a cat"))).toBeUndefined()
  })
})
