/**
 * The request guard: the middleware every local service installs in front of its `HttpApi`, the
 * one place where a request is looked at before any route reads it. A service's policy says what
 * it refuses from the request line and headers alone (`checks`, in order; the first refusal is
 * the answer, the body is not read), how large a body the HTTP layer may read for it, which of
 * the HTTP layer's own failures are the client's doing and how they are answered
 * (`fromHttpFailure`: FastAPI's 422s for TTS and STT), and how a refusal is written (`respond`,
 * the service's wire encoding).
 *
 * @module
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ServiceError } from "./Errors.js"

/** A refusal decided from the request line and headers: the error to answer with, or undefined to let the request in. */
export type Check<E> = (request: HttpServerRequest.HttpServerRequest) => E | undefined

/** What a service's guard refuses, and how it answers. */
export interface GuardPolicy<E extends ServiceError> {
  /** A refusal as a response, in the service's wire encoding. */
  readonly respond: (error: E) => HttpServerResponse.HttpServerResponse
  /** Refusals decided before the body is read, in order. */
  readonly checks?: ReadonlyArray<Check<E>>
  /** The largest body the HTTP layer reads for a route (JSON, text, forms). Default: the platform's. */
  readonly maxBodyBytes?: number
  /** The HTTP layer's failures that are the client's doing, as refusals; undefined passes the failure on. */
  readonly fromHttpFailure?: (failure: unknown) => E | undefined
}

/** The guard of `policy`, as an `HttpApi` middleware: the app it guards keeps its own failures. */
export const make =
  <G extends ServiceError>(policy: GuardPolicy<G>) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      for (const check of policy.checks ?? []) {
        const refusal = check(request)
        if (refusal !== undefined) return policy.respond(refusal)
      }
      const bounded = policy.maxBodyBytes === undefined ? app : HttpIncomingMessage.withMaxBodySize(app, Option.some(policy.maxBodyBytes))
      const fromHttpFailure = policy.fromHttpFailure
      if (fromHttpFailure === undefined) return yield* bounded
      return yield* Effect.catchAllCause(bounded, (cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        const refusal = fromHttpFailure(Cause.squash(cause))
        return refusal === undefined ? Effect.failCause(cause) : Effect.succeed(policy.respond(refusal))
      })
    })
