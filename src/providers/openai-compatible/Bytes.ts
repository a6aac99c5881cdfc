/**
 * Results that come back as bytes from an OpenAI-style API: an answer whose body is the result
 * (synthesized speech), small enough to hold in memory. A URL an answer names (a generated
 * image) is not fetched here but downloaded to a file (`Chat.chatCalls`'s `download`, through
 * `http/Download.ts`).
 *
 * @module
 */
import * as Effect from "effect/Effect"
import { type MediaError, NetworkError } from "../../domain/Errors.js"
import type { Headers } from "../../http/Http.js"

/** A result's bytes and the media type they were answered with. */
export interface Bytes {
  readonly bytes: Uint8Array
  readonly contentType: string
}

/** Read a whole response body as bytes; a broken body is a NetworkError. */
export const readBytes =
  (provider: string) =>
  (response: { readonly arrayBuffer: Effect.Effect<ArrayBuffer, unknown>; readonly headers: Headers }): Effect.Effect<Bytes, MediaError> =>
    Effect.map(
      Effect.mapError(
        response.arrayBuffer,
        () => new NetworkError({ provider, detail: "the answer's body broke off while being read" })
      ),
      (buffer) => ({ bytes: new Uint8Array(buffer), contentType: response.headers["content-type"] ?? "application/octet-stream" })
    )
