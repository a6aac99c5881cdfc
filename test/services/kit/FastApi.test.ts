/**
 * The two wire encodings of the kit's error classes, checked on the schemas themselves: FastAPI's
 * `{"detail": ...}` (TTS, STT) and the FFmpeg service's envelope. Each class keeps its status in
 * both, bodies decode back to the class, and FastAPI's readings of the HTTP layer's failures
 * (decode errors, unknown routes, over-long or malformed bodies) give its answers.
 */
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { failures, respond as envelopeRespond, type ServiceFailure } from "../../../src/services/ffmpeg/Api.js"
import {
  BadRequest,
  EngineFailed,
  Internal,
  NotFound,
  PayloadTooLarge,
  type ServiceError,
  Unavailable,
  UnsupportedMedia,
  ValidationFailed
} from "../../../src/services/kit/Errors.js"
import * as FastApi from "../../../src/services/kit/FastApi.js"

const bodyOf = (response: HttpServerResponse.HttpServerResponse): unknown =>
  response.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(response.body.body)) : undefined

describe("FastAPI's encoding", () => {
  // One error through its schema and through `respond`: the same body, the class's status.
  const check = <E extends ServiceError, I>(error: E, schema: Schema.Schema<E, I>, status: number) => {
    expect(Schema.encodeSync(schema)(error)).toEqual({ detail: error.message })
    expect(HttpApiSchema.getStatusError(schema)).toBe(status)
    expect(bodyOf(FastApi.respond(error))).toEqual({ detail: error.message })
    expect(FastApi.respond(error).status).toBe(status)
  }

  it("writes every message error as {detail} with its class's status, and reads it back", () => {
    check(new BadRequest({ message: "bad" }), FastApi.errors.BadRequest, 400)
    check(new NotFound({ message: "gone" }), FastApi.errors.NotFound, 404)
    check(new PayloadTooLarge({ message: "big" }), FastApi.errors.PayloadTooLarge, 413)
    check(new UnsupportedMedia({ message: "odd" }), FastApi.errors.UnsupportedMedia, 415)
    check(new EngineFailed({ message: "crash" }), FastApi.errors.EngineFailed, 500)
    check(new Internal({ message: "broken" }), FastApi.errors.Internal, 500)
    check(new Unavailable({ message: "closing" }), FastApi.errors.Unavailable, 503)
    const decoded = Schema.decodeUnknownSync(FastApi.errors.NotFound)({ detail: "no such voice" })
    expect(decoded).toBeInstanceOf(NotFound)
    expect(decoded.message).toBe("no such voice")
  })

  it("writes a validation failure as 422 {detail: [{loc, msg, type}]}", () => {
    const failed = FastApi.invalid(["body", "audio_file"], "Field required", "missing")
    const body = { detail: [{ loc: ["body", "audio_file"], msg: "Field required", type: "missing" }] }
    expect(Schema.encodeSync(FastApi.errors.ValidationFailed)(failed)).toEqual(body)
    expect(bodyOf(FastApi.respond(failed))).toEqual(body)
    expect(FastApi.respond(failed).status).toBe(422)
    expect(failed.message).toBe("body.audio_file: Field required")
    expect(Schema.decodeUnknownSync(FastApi.errors.ValidationFailed)(body)).toBeInstanceOf(ValidationFailed)
  })

  it.effect("merges the alternatives of a union at one place into one issue", () =>
    Effect.gen(function* () {
      const schema = Schema.Struct({ output: Schema.optional(Schema.Literal("txt", "srt")), size: Schema.Number })
      const parseError = yield* Effect.flip(Schema.decodeUnknown(schema, { errors: "all" })({ output: "xml", size: "big" }))
      const decodeError = yield* HttpApiError.HttpApiDecodeError.fromParseError(parseError)
      expect(FastApi.issuesOf(decodeError)).toEqual([
        { loc: ["output"], msg: 'Expected "txt" | "srt", actual "xml"', type: "Type" },
        { loc: ["size"], msg: 'Expected number, actual "big"', type: "Type" }
      ])
    })
  )

  it("reads the HTTP layer's failures as FastAPI would answer them, and leaves the rest alone", () => {
    const request = HttpServerRequest.fromWeb(new Request("http://localhost/nowhere"))
    const read = FastApi.fromHttpFailure(1024)
    expect(read(new HttpServerError.RouteNotFound({ request }))).toEqual(new NotFound({ message: "Not Found" }))
    expect(read(new HttpServerError.RequestError({ request, reason: "Decode", cause: new Error("maxBytes exceeded") }))).toEqual(
      new PayloadTooLarge({ message: "request body is larger than this service accepts (1024 bytes)" })
    )
    expect(read(new HttpServerError.RequestError({ request, reason: "Decode", cause: new Error("Unexpected end of JSON input") }))).toEqual(
      FastApi.invalid(["body"], "JSON decode error: Unexpected end of JSON input", "json_invalid")
    )
    expect(read(new Error("something else"))).toBeUndefined()
  })
})

describe("the FFmpeg service's envelope", () => {
  it("writes each failure as {success: false, error, code} with its status; the code tells apart the two 500s", () => {
    const check = <E extends ServiceFailure, I>(error: E, schema: Schema.Schema<E, I>, status: number, code: string) => {
      const body = { success: false, error: error.message, code }
      expect(Schema.encodeSync(schema)(error)).toEqual(body)
      expect(HttpApiSchema.getStatusError(schema)).toBe(status)
      // The bytes, key order included.
      expect(JSON.stringify(bodyOf(envelopeRespond(error)))).toBe(JSON.stringify(body))
      expect(envelopeRespond(error).status).toBe(status)
    }
    check(new BadRequest({ message: "a" }), failures.BadRequest, 400, "bad-request")
    check(new NotFound({ message: "b" }), failures.NotFound, 404, "not-found")
    check(new PayloadTooLarge({ message: "c" }), failures.PayloadTooLarge, 413, "payload-too-large")
    check(new UnsupportedMedia({ message: "d" }), failures.UnsupportedMedia, 415, "unsupported-media")
    check(new EngineFailed({ message: "e" }), failures.EngineFailed, 500, "ffmpeg-failed")
    check(new Internal({ message: "f" }), failures.Internal, 500, "internal")
    check(new Unavailable({ message: "g" }), failures.Unavailable, 503, "unavailable")
    expect(Schema.decodeUnknownSync(failures.Internal)({ success: false, error: "x", code: "internal" })).toBeInstanceOf(Internal)
    expect(() => Schema.decodeUnknownSync(failures.EngineFailed)({ success: false, error: "x", code: "internal" })).toThrow()
  })
})
