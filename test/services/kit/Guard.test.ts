/**
 * The kit's request guard around a stand-in app: checks run in order before the app, the first
 * refusal is the answer (written by the policy) and the app never runs; the app reads bodies
 * under the policy's limit; the HTTP layer's failures the policy recognises are answered, the
 * others (and interruptions) pass through untouched.
 */
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { BadRequest, NotFound, PayloadTooLarge, type ServiceError, statusOf } from "../../../src/services/kit/Errors.js"
import * as Guard from "../../../src/services/kit/Guard.js"

const request = (headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(new Request("http://localhost/route", { method: "POST", headers, body: "{}" }))

const respond = (error: ServiceError) => HttpServerResponse.text(`${error._tag}: ${error.message}`, { status: statusOf(error) })

const run = <E>(
  guard: ReturnType<typeof Guard.make>,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest>,
  headers?: Record<string, string>
) => guard(app).pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request(headers)))

describe("Guard", () => {
  it.effect("runs the checks in order; the first refusal is the answer and the app never runs", () =>
    Effect.gen(function* () {
      const ran = yield* Ref.make(false)
      const app = Effect.as(Ref.set(ran, true), HttpServerResponse.text("served"))
      const guard = Guard.make({
        respond,
        checks: [
          (req) => (req.headers["x-first"] !== undefined ? new BadRequest({ message: "first" }) : undefined),
          (req) => (req.headers["x-second"] !== undefined ? new PayloadTooLarge({ message: "second" }) : undefined)
        ]
      })
      const both = yield* run(guard, app, { "x-first": "1", "x-second": "1" })
      expect(both.status).toBe(400)
      const second = yield* run(guard, app, { "x-second": "1" })
      expect(second.status).toBe(413)
      expect(yield* Ref.get(ran)).toBe(false)
      expect((yield* run(guard, app)).status).toBe(200)
      expect(yield* Ref.get(ran)).toBe(true)
    })
  )

  it.effect("the app reads bodies under the policy's limit (the platform's default without one)", () =>
    Effect.gen(function* () {
      const limit = Effect.map(HttpIncomingMessage.MaxBodySize, (size) => HttpServerResponse.text(String(Option.getOrUndefined(size))))
      const bounded = yield* run(Guard.make({ respond, maxBodyBytes: 1234 }), limit)
      expect(bounded.body).toMatchObject({ _tag: "Uint8Array" })
      expect(new TextDecoder().decode(bounded.body._tag === "Uint8Array" ? bounded.body.body : new Uint8Array())).toBe("1234")
      const unbounded = yield* run(Guard.make({ respond }), limit)
      expect(new TextDecoder().decode(unbounded.body._tag === "Uint8Array" ? unbounded.body.body : new Uint8Array())).not.toBe("1234")
    })
  )

  it.effect("answers the HTTP layer's failures the policy recognises; others and interruptions pass through", () =>
    Effect.gen(function* () {
      const guard = Guard.make({
        respond,
        fromHttpFailure: (failure) =>
          HttpServerError.isServerError(failure) && failure._tag === "RouteNotFound" ? new NotFound({ message: "Not Found" }) : undefined
      })
      const notFound = yield* run(guard, Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => new HttpServerError.RouteNotFound({ request: req })))
      expect(notFound.status).toBe(404)
      const other = yield* Effect.exit(run(guard, Effect.fail("a handler's own failure")))
      expect(other).toEqual(Exit.fail("a handler's own failure"))
      const interrupted = yield* Effect.exit(run(guard, Effect.interrupt))
      expect(Exit.isInterrupted(interrupted)).toBe(true)
    })
  )
})
