/**
 * What the local text-to-speech and speech-to-text services share, not yet split into modules of
 * their own: the request guard (body-size limit, malformed bodies, validation errors as FastAPI's
 * 422). Errors are the classes of `Errors.ts`, written by `FastApi.ts`.
 *
 * @module
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { PayloadTooLarge } from "./Errors.js"
import * as FastApi from "./FastApi.js"

// ---------------------------------------------------------------------------
// The request guard
// ---------------------------------------------------------------------------

/**
 * The middleware both services install on their `HttpApi`: refuses a declared body larger than
 * `maxBodyBytes` with 413 before reading it, caps bodies without a length at the same size, and
 * turns what the HTTP layer fails with into FastAPI's answers: schema mismatches into 422 with
 * `detail: [{loc, msg, type}]`, malformed JSON into 422 `json_invalid`, an over-long body into
 * 413, an unknown route into 404 `{"detail":"Not Found"}`. Everything else passes through.
 *
 * Multipart bodies are only read on `multipartPaths` (by `receiveFile`, which counts them and
 * keeps them in the work directory); elsewhere they are refused with 422 before being read, so
 * the platform never stores an upload the service did not ask for.
 */
export const guard =
  (maxBodyBytes: number, multipartPaths: ReadonlyArray<string> = []) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const declared = request.headers["content-length"]
      if (declared !== undefined && Number(declared) > maxBodyBytes) {
        return FastApi.respond(new PayloadTooLarge({ message: FastApi.tooLargeMessage(maxBodyBytes) }))
      }
      const multipart = (request.headers["content-type"] ?? "").toLowerCase().includes("multipart/")
      if (multipart && !multipartPaths.includes(request.url.split("?")[0] ?? "")) {
        return FastApi.respond(FastApi.invalid(["body"], "expected a JSON body, not multipart/form-data", "json_invalid"))
      }
      // Multipart bodies are counted by `receiveFile`, which reads on past the limit so that the
      // client gets its 413; the platform's limit would abort the parse and reset the connection.
      return yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(multipart ? Option.none() : Option.some(maxBodyBytes)),
        Effect.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
          const refusal = FastApi.fromHttpFailure(maxBodyBytes)(Cause.squash(cause))
          return refusal === undefined ? Effect.failCause(cause) : Effect.succeed(FastApi.respond(refusal))
        })
      )
    })
