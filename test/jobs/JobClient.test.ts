/**
 * A queued provider's job API and transforms, built from its protocol (a stand-in here): without
 * a key every call fails before anything is sent; `submit` reports Submitted and returns the
 * ticket; `resume` follows without submitting; a transform submits once and runs the job with
 * the submit's answer in hand.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Image, text, UrlSource } from "../../src/domain/Asset.js"
import { MissingConfig } from "../../src/domain/Errors.js"
import * as Progress from "../../src/domain/Progress.js"
import { type JobProtocol, jobTransform, makeJobClient } from "../../src/jobs/JobClient.js"
import { JobTicket } from "../../src/jobs/Ticket.js"

const ticket = new JobTicket({
  provider: "emu",
  model: "emu/model",
  capability: "text-to-image",
  requestId: "r1",
  statusUrl: "https://emu.test/r1/status",
  resultUrl: "https://emu.test/r1",
  cancelUrl: "https://emu.test/r1/cancel",
  submittedAt: new Date(0)
})

const image = new Image({ source: new UrlSource({ url: "https://emu.test/r1.png" }), mimeType: "image/png" })

/** A stand-in protocol whose submit answers `{ticket, note}`, recording every call. */
const standIn = (missing?: MissingConfig) => {
  const calls: Array<string> = []
  const protocol: JobProtocol<{ readonly ticket: JobTicket; readonly note: string }> = {
    provider: "emu",
    missing,
    submit: (capability, model) =>
      Effect.sync(() => {
        calls.push(`submit ${capability} ${model}`)
        return { ticket, note: "from the submit" }
      }),
    ticketOf: (submitted) => submitted.ticket,
    run: (capability, _ticket, control, submitted) =>
      Effect.zipRight(
        control.finish,
        Effect.sync(() => {
          calls.push(`run ${capability} ${submitted?.note ?? "resumed"}`)
          return image
        })
      ),
    cancel: () => Effect.sync(() => void calls.push("cancel"))
  }
  return { protocol, calls }
}

describe("JobClient", () => {
  it.effect("submit reports Submitted and returns the ticket; resume runs it without a submit", () =>
    Effect.gen(function* () {
      const { calls, protocol } = standIn()
      const jobs = makeJobClient(protocol)
      const events: Array<Progress.JobEvent> = []
      const submitted = yield* Progress.listen(jobs.submit("text-to-image", "emu/model", text("x")), (event) =>
        Effect.sync(() => void events.push(event))
      )
      expect(submitted).toBe(ticket)
      expect(events.map((event) => event._tag)).toEqual(["Submitted"])
      expect(yield* jobs.resume(ticket)).toBe(image)
      expect(calls).toEqual(["submit text-to-image emu/model", "run text-to-image resumed"])
      yield* jobs.cancel(ticket)
      expect(calls.at(-1)).toBe("cancel")
    }))

  it.effect("a transform submits once and runs the job with the submit's answer, cancelling nothing", () =>
    Effect.gen(function* () {
      const { calls, protocol } = standIn()
      const transform = jobTransform(protocol)("text-to-image")
      expect(yield* transform("emu/model", text("x"), undefined)).toBe(image)
      expect(calls).toEqual(["submit text-to-image emu/model", "run text-to-image from the submit"])
    }))

  it.effect("without a key, every call fails with the MissingConfig before anything is sent", () =>
    Effect.gen(function* () {
      const missing = new MissingConfig({ provider: "emu", setting: "EMU_KEY", detail: "no API key configured (set EMU_KEY)" })
      const { calls, protocol } = standIn(missing)
      const jobs = makeJobClient(protocol)
      expect(yield* Effect.flip(jobs.submit("text-to-image", "emu/model", text("x")))).toBe(missing)
      expect(yield* Effect.flip(jobs.resume(ticket))).toBe(missing)
      expect(yield* Effect.flip(jobs.cancel(ticket))).toBe(missing)
      expect(yield* Effect.flip(jobTransform(protocol)("text-to-image")("emu/model", text("x"), undefined))).toBe(missing)
      expect(calls).toEqual([])
    }))
})
