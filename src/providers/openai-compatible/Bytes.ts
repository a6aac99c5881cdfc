/**
 * Results that come back as bytes from an OpenAI-style API: an answer whose body is the
 * result (synthesized speech), or a URL the answer names (a generated image), fetched whole.
 * Both are small enough to hold in memory; larger media go through `http/Download.ts`.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import { type MediaError, NetworkError } from "../../domain/Errors.js"
import type { Headers, ProviderHttp } from "../../http/Http.js"

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

/** Fetch a result URL's bytes within 2 minutes (the key is only sent to the API's own origin). */
export const fetchBytes = (
  http: ProviderHttp,
  url: string,
  headers?: Readonly<Record<string, string>>
): Effect.Effect<Bytes, MediaError> =>
  Effect.flatMap(http.send({ path: url, ...(headers !== undefined ? { headers } : {}), timeout: "2 minutes" }), readBytes(http.provider))
