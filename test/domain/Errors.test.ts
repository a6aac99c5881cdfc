/**
 * The media errors as data: each one's `message` is computed from its provider and detail, and
 * each one survives encoding (as a journal would store it, through JSON) and decoding whole:
 * the same class, the same fields, the same message.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import {
  BudgetExceeded,
  Cancelled,
  CapabilityNotSupported,
  ContentRejected,
  DownloadFailed,
  GenerationFailed,
  InvalidApiKey,
  InvalidInput,
  MalformedResponse,
  MediaError,
  MissingConfig,
  ModelNotFound,
  NetworkError,
  ProviderUnavailable,
  QuotaExceeded,
  RateLimited,
  ServiceNotRunning,
  SubmitOutcomeUnknown,
  Timeout
} from "../../src/domain/Errors.js"

// One of each class, every optional field given.
const samples: ReadonlyArray<MediaError> = [
  new InvalidApiKey({ provider: "together", detail: "HTTP 401: Invalid API key" }),
  new MissingConfig({ provider: "falai", setting: "FALAI_API_KEY", detail: "no API key configured (set FALAI_API_KEY)" }),
  new QuotaExceeded({ provider: "replicate", detail: "HTTP 402: Insufficient credits" }),
  new RateLimited({ provider: "openrouter", detail: "HTTP 429: slow down", retryAfter: Duration.seconds(7) }),
  new NetworkError({ provider: "together", detail: "transport error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9" }),
  new Timeout({ provider: "stt", detail: "service: not healthy within 20s", after: Duration.seconds(20) }),
  new ProviderUnavailable({ provider: "falai", detail: "HTTP 503: Service temporarily unavailable", status: 503 }),
  new ModelNotFound({ provider: "together", model: "acme/none", detail: "HTTP 404: Unable to access model acme/none" }),
  new CapabilityNotSupported({ provider: "registry", capability: "text-to-video", detail: "no provider can do text-to-video" }),
  new InvalidInput({ provider: "whisper", detail: "the audio is empty", issues: ["the audio is empty"] }),
  new ContentRejected({ provider: "openrouter", detail: "HTTP 400: Flagged by content policy" }),
  new GenerationFailed({ provider: "falai", jobId: "req-1", providerMessage: "CUDA out of memory", detail: "job req-1 (fal-ai/flux) failed: CUDA out of memory" }),
  new MalformedResponse({ provider: "together", detail: "answer is not JSON: <html>" }),
  new DownloadFailed({ provider: "replicate", url: "https://example.invalid/out.png", detail: "HTTP 404 (https://example.invalid/out.png)" }),
  new Cancelled({ provider: "replicate", jobId: "p-9", detail: "job p-9 (acme/model) was cancelled: by the owner" }),
  new ServiceNotRunning({ provider: "ffmpeg", service: "ffmpeg", detail: "service: could not start node: spawn ENOENT" }),
  new SubmitOutcomeUnknown({
    provider: "falai",
    generationId: "fox-1",
    model: "fal-ai/flux/schnell",
    detail: "generation fox-1 stopped after a submit whose answer was never kept"
  }),
  new BudgetExceeded({
    provider: "registry",
    budget: "provider:falai",
    period: "day",
    limitUsd: 5,
    spentUsd: 4.99,
    requestedUsd: 0.04,
    detail: "the day's budget of provider:falai ($5.00) would be passed: $4.99 spent, this call up to $0.04"
  })
]

describe("Errors", () => {
  it("the samples cover every MediaError class", () => {
    expect(samples.map((error) => error._tag)).toEqual(MediaError.members.map((member) => member.identifier))
  })

  it("a message is the provider, then the detail", () => {
    expect(new QuotaExceeded({ provider: "acme", detail: "out of credits" }).message).toBe("acme: out of credits")
    for (const error of samples) expect(error.message).toBe(`${error.provider}: ${error.detail}`)
  })

  it("encodes the detail, never a rendered message, and decodes to an equal error with the same message", () => {
    const encode = Schema.encodeSync(MediaError)
    const decode = Schema.decodeUnknownSync(MediaError)
    for (const error of samples) {
      const encoded = encode(error)
      expect(encoded).not.toHaveProperty("message")
      expect(encoded).toMatchObject({ _tag: error._tag, provider: error.provider, detail: error.detail })
      // Through JSON, as a journal stores it.
      const decoded = decode(JSON.parse(JSON.stringify(encoded)))
      expect(decoded).toBeInstanceOf(error.constructor)
      expect({ ...decoded }).toEqual({ ...error })
      expect(decoded).toEqual(error)
      expect(decoded.message).toBe(error.message)
      expect(encode(decoded)).toEqual(encoded)
      expect(Schema.decodeSync(MediaError)(encoded).message).toBe(error.message)
    }
  })
})
