/**
 * A JobTicket survives a JSON round trip (dates as ISO 8601), and anything that is not a ticket
 * (a field missing, an unknown capability, not JSON) is InvalidInput.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { decodeTicket, encodeTicket, JobTicket } from "../../src/jobs/Ticket.js"

/** A ticket as fal's queue issues them. */
const falTicket = new JobTicket({
  provider: "falai",
  model: "fal-ai/flux/schnell",
  capability: "text-to-image",
  requestId: "764cabcf-b745-4b3e-ae38-1200304cf45b",
  statusUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf/status",
  resultUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf",
  cancelUrl: "https://queue.fal.run/fal-ai/flux/requests/764cabcf/cancel",
  submittedAt: new Date("2026-11-29T05:32:08.123Z")
})

describe("JobTicket", () => {
  it.effect("a ticket round-trips through JSON, dates as ISO 8601", () =>
    Effect.gen(function* () {
      const json = encodeTicket(falTicket)
      expect(JSON.parse(json).submittedAt).toBe("2026-11-29T05:32:08.123Z")
      const back = yield* decodeTicket(json)
      expect(back).toEqual(falTicket)
      expect(back).toBeInstanceOf(JobTicket)
    }))

  it.effect("a ticket with a missing field or an unknown capability is InvalidInput", () =>
    Effect.gen(function* () {
      const { requestId: _, ...rest } = JSON.parse(encodeTicket(falTicket))
      const missing = yield* Effect.exit(decodeTicket(JSON.stringify(rest)))
      expect(Exit.isFailure(missing)).toBe(true)
      const wrong = yield* Effect.flip(decodeTicket(JSON.stringify({ ...JSON.parse(encodeTicket(falTicket)), capability: "mind-reading" })))
      expect(wrong._tag).toBe("InvalidInput")
      const notJson = yield* Effect.flip(decodeTicket("{not json"))
      expect(notJson._tag).toBe("InvalidInput")
    }))
})
