/**
 * The webhook routes: placeholder until the receiver lands.
 *
 * @module
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { GatewayApi } from "./Api.js"
import { NotFound } from "./ApiErrors.js"

/** The webhook handlers. */
export const layer = HttpApiBuilder.group(GatewayApi, "webhooks", (handlers) =>
  handlers.handle("fal", () => Effect.fail(NotFound.of("x"))).handle("replicate", () => Effect.fail(NotFound.of("x")))
)
