/**
 * Results that come back as bytes from an OpenAI-style API: an answer whose body is the result
 * (synthesized speech), small enough to hold in memory, read under a cap. A URL an answer names (a generated
 * image) is not fetched here but downloaded to a file (`Chat.chatCalls`'s `download`, through
 * `http/Download.ts`).
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { MalformedResponse, type MediaError, NetworkError } from "../../domain/Errors.js"
import type { Headers } from "../../http/Http.js"

/** A result's bytes and the media type they were answered with. */
export interface Bytes {
  readonly bytes: Uint8Array
  readonly contentType: string
}

/** The largest answer body `readBytes` reads unless told otherwise: 256 MiB (minutes of WAV). */
export const defaultMaxBytes = 256 * 1024 * 1024

/**
 * Read a whole response body as bytes, at most `maxBytes` of it: a larger (or endless) body is
 * MalformedResponse and is not read further (stopping the stream aborts the request); a broken
 * body is a NetworkError.
 */
export const readBytes =
  (provider: string, maxBytes: number = defaultMaxBytes) =>
  (response: { readonly stream: Stream.Stream<Uint8Array, unknown>; readonly headers: Headers }): Effect.Effect<Bytes, MediaError> =>
    Effect.suspend(() => {
      const chunks: Array<Uint8Array> = []
      return Stream.runFoldWhile(response.stream, 0, (size) => size <= maxBytes, (size, chunk) => {
        chunks.push(chunk)
        return size + chunk.length
      }).pipe(
        Effect.mapError(() => new NetworkError({ provider, detail: "the answer's body broke off while being read" })),
        Effect.flatMap((size) =>
          size > maxBytes
            ? Effect.fail(new MalformedResponse({ provider, detail: `the answer is larger than ${maxBytes} bytes (not read further)` }))
            : Effect.succeed({ bytes: new Uint8Array(Buffer.concat(chunks)), contentType: response.headers["content-type"] ?? "application/octet-stream" })
        )
      )
    })
