/**
 * The faults the soak suite adds to the emulators: a body that stalls halfway, a request never
 * answered, faults chosen per request (`choose`), and the queued emulators' per-call faults
 * (`intercept`, `planJob`) with their count of jobs per input.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Faults from "./Faults.js"
import { jsonReply, makeFal, serve as serveQueued, slowBody } from "./falai.js"
import { makeReplicate } from "./replicate.js"
import { together } from "./together.js"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

const jsonOf = (response: Effect.Effect<Response>): Effect.Effect<unknown> => Effect.flatMap(response, (r) => Effect.promise(() => r.json()))

const timed = <A>(run: () => Promise<A>) =>
  Effect.promise(async () => {
    const start = performance.now()
    const value = await run()
    return { value, ms: performance.now() - start }
  })

describe("Faults", () => {
  it.scoped("slowBody sends the headers at once and the rest of the body later", () =>
    Effect.gen(function* () {
      const server = yield* Faults.serve((_request, res) => Faults.json(res, 200, { ok: true, padding: "x".repeat(100) }))
      // A stall far longer than a loaded machine's first fetch (undici loads lazily: 300 ms seen).
      server.faults.inject(Faults.slowBody(2000))
      const { value: response, ms: headersAfter } = yield* timed(() => fetch(server.url))
      expect(response.status).toBe(200)
      const { value: body, ms: bodyAfter } = yield* timed(() => response.json())
      expect(body).toMatchObject({ ok: true })
      // Deadlines, not performance claims: the body waited, the headers did not.
      expect(headersAfter).toBeLessThan(1500)
      expect(bodyAfter).toBeGreaterThanOrEqual(1000)
    })
  )

  it.scoped("hang never answers: the client gives up", () =>
    Effect.gen(function* () {
      const server = yield* Faults.serve((_request, res) => Faults.json(res, 200, { ok: true }))
      server.faults.inject(Faults.hang)
      const outcome = yield* Effect.promise(() =>
        fetch(server.url, { signal: AbortSignal.timeout(300) }).then(
          () => "answered",
          (error: unknown) => (error instanceof Error ? error.name : "failed")
        )
      )
      expect(outcome).toBe("TimeoutError")
      expect(server.count()).toBe(1)
    })
  )

  it.scoped("choose gives each request the fault it asks for, after the armed ones", () =>
    Effect.gen(function* () {
      const emulator = yield* together({}, { choose: (request) => (request.text.includes("please-fail") ? Faults.serverError(503) : undefined) })
      const ask = (text: string) =>
        Effect.promise(() =>
          post(`${emulator.baseUrl}/chat/completions`, { model: "m", messages: [{ role: "user", content: text }] }, { authorization: "Bearer k" })
        )
      expect((yield* ask("hello")).status).toBe(200)
      expect((yield* ask("please-fail")).status).toBe(503)
      emulator.faults.inject(Faults.unauthorized())
      expect((yield* ask("please-fail")).status).toBe(401)
    })
  )
})

describe("queued emulators' per-call faults", () => {
  it.scoped("fal: a planned job answers its submit with a 500 after it was created, then gets stuck; its file is gone", () =>
    Effect.gen(function* () {
      const fal = yield* serveQueued(
        makeFal({
          queueSteps: 0,
          runSteps: 0,
          planJob: (input) =>
            input.prompt === "lost answer"
              ? { answer: () => jsonReply(500, { detail: "oops" }) }
              : input.prompt === "stuck"
                ? { stuck: true }
                : input.prompt === "gone"
                  ? { fileReply: jsonReply(404, { detail: "expired" }), pollReplies: [jsonReply(503, { detail: "busy" })] }
                  : undefined,
          intercept: (request, kind) => (kind === "submit" && request.body.includes("refused") ? jsonReply(429, { detail: "slow down" }) : undefined)
        })
      )
      const auth = { authorization: "Key test-fal-key" }
      const submit = (prompt: string) => Effect.promise(() => post(`${fal.baseUrl}/fal-ai/flux/schnell`, { prompt }, auth))

      expect((yield* submit("lost answer")).status).toBe(500)
      expect((yield* submit("refused")).status).toBe(429)
      const stuck = (yield* jsonOf(submit("stuck"))) as { status_url: string; cancel_url: string }
      for (let i = 0; i < 3; i++) {
        const status = yield* Effect.promise(() => fetch(stuck.status_url, { headers: auth }).then((r) => r.json()))
        expect(status).toMatchObject({ status: "IN_QUEUE" })
      }
      const cancel = yield* Effect.promise(() => fetch(stuck.cancel_url, { method: "PUT", headers: auth }))
      expect(cancel.status).toBe(202)

      const gone = (yield* jsonOf(submit("gone"))) as { request_id: string; status_url: string; response_url: string }
      expect((yield* Effect.promise(() => fetch(gone.status_url, { headers: auth }))).status).toBe(503)
      expect(yield* Effect.promise(() => fetch(gone.status_url, { headers: auth }).then((r) => r.json()))).toMatchObject({ status: "COMPLETED" })
      const result = (yield* Effect.promise(() => fetch(gone.response_url, { headers: auth }).then((r) => r.json()))) as { images: Array<{ url: string }> }
      expect((yield* Effect.promise(() => fetch(result.images[0]!.url))).status).toBe(404)

      // The refused submit created nothing; every other one created one job.
      expect([...fal.jobsByInput().values()]).toEqual([1, 1, 1])
      yield* submit("stuck")
      expect(fal.jobsByInput().get(JSON.stringify({ prompt: "stuck" }))).toBe(2)
    })
  )

  it.scoped("replicate: a planned prediction fails, one answers slowly, and the count is per input", () =>
    Effect.gen(function* () {
      const replicate = yield* serveQueued(
        makeReplicate({
          startingSteps: 0,
          processingSteps: 0,
          planJob: (input) =>
            input.prompt === "fail" ? { failWith: "CUDA out of memory" } : input.prompt === "slow" ? { answer: (accepted) => slowBody(accepted, 300) } : undefined
        })
      )
      const auth = { authorization: "Bearer r8_test_token" }
      const create = (prompt: string) => Effect.promise(() => post(`${replicate.baseUrl}/models/emu/pixels/predictions`, { input: { prompt } }, auth))
      const failed = (yield* jsonOf(create("fail"))) as { urls: { get: string } }
      const polled = yield* Effect.promise(() => fetch(failed.urls.get, { headers: auth }).then((r) => r.json()))
      expect(polled).toMatchObject({ status: "failed", error: "CUDA out of memory" })
      const { value: slow, ms } = yield* timed(() =>
        post(`${replicate.baseUrl}/models/emu/pixels/predictions`, { input: { prompt: "slow" } }, auth).then((r) => r.json())
      )
      expect(slow).toMatchObject({ id: "pred2" })
      expect(ms).toBeGreaterThanOrEqual(250)
      expect([...replicate.predictionsByInput().values()]).toEqual([1, 1])
    })
  )
})

