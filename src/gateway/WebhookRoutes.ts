/**
 * The webhook routes: `POST /webhooks/fal` and `POST /webhooks/replicate` hand the raw body and
 * headers to the `WebhookReceiver` (signature, timestamp, the generation it names). Refused
 * webhooks change nothing and are answered 400 (malformed), 401 (bad signature or a replayed,
 * old timestamp) or 404 (no generation waits for that job); a verified one is 200.
 *
 * @module
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { GatewayApi } from "./Api.js"
import { InvalidRequest, NotFound, Unauthenticated } from "./ApiErrors.js"
import { type WebhookProvider, WebhookReceiver, type WebhookRefused } from "./Webhooks.js"

const refusal = (error: WebhookRefused) =>
  error.reason === "malformed"
    ? InvalidRequest.of(error.message, "webhook_malformed")
    : error.reason === "unknown-generation"
      ? NotFound.of(error.message, "webhook_unknown_generation")
      : Unauthenticated.of(error.message)

const receive = (provider: WebhookProvider, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const receiver = yield* WebhookReceiver
    const body = yield* request.arrayBuffer.pipe(Effect.mapError(() => InvalidRequest.of("the webhook body could not be read", "webhook_malformed")))
    yield* receiver.receive(provider, request.headers, new Uint8Array(body)).pipe(Effect.mapError(refusal))
    return { ok: true }
  })

/** The webhook handlers (no API key: the provider's signature is the proof). */
export const layer = HttpApiBuilder.group(GatewayApi, "webhooks", (handlers) =>
  handlers.handle("fal", ({ request }) => receive("fal", request)).handle("replicate", ({ request }) => receive("replicate", request))
)
