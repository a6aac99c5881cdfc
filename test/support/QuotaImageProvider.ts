/**
 * A remote, paid text-to-image provider over an emulated OpenAI-style image API on loopback
 * whose account is out of credit: every generation answers 429 with a quota message (as
 * Together and OpenAI do), which the HTTP runtime maps to QuotaExceeded. Used to show that the
 * demo falls back to the local slide and says so.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { fromUrl, Image } from "../../src/domain/Asset.js"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"
import * as Http from "../../src/http/Http.js"
import * as KeyRing from "../../src/http/KeyRing.js"
import * as Provider from "../../src/provider/Provider.js"
import { json, loopback } from "./LoopbackServer.js"

/** Start the emulator and build the provider over it; `requests` counts generation calls. */
export const quotaImageProvider: Effect.Effect<
  { readonly provider: MediaProviderService; readonly requests: () => number },
  never,
  HttpClient.HttpClient | Scope.Scope
> = Effect.gen(function* () {
  const server = yield* loopback((req, res) => {
    if (req.url === "/v1/images/generations") {
      return json(res, 429, { error: { message: "You exceeded your current quota, please check your plan and billing details.", type: "insufficient_quota" } })
    }
    json(res, 404, { error: { message: "not found" } })
  })
  const keys = yield* KeyRing.make("pixelcloud", [Redacted.make("pc-test-key")], { setting: "PIXELCLOUD_API_KEY" })
  const http = yield* Http.make({ provider: "pixelcloud", baseUrl: `${server.url}/v1`, keys, retry: { retries: 0 } })
  const provider = yield* Provider.make({
    id: "pixelcloud",
    name: "PixelCloud (emulated)",
    type: "remote",
    configured: true,
    discover: Effect.succeed([
      {
        id: "pixel-xl",
        provider: "pixelcloud",
        name: "Pixel XL",
        capabilities: ["text-to-image"],
        pricing: [{ usd: 0.04, unit: "image", applies: "output" }],
        free: false
      }
    ]),
    transforms: {
      "text-to-image": (model, input, options) =>
        http
          .json({
            method: "POST",
            path: "/images/generations",
            json: { model, prompt: input.text, width: options?.width, height: options?.height },
            schema: Schema.Struct({ data: Schema.Array(Schema.Struct({ url: Schema.String })) }),
            retry: false
          })
          .pipe(
            Effect.map(
              (answer) =>
                new Image({ source: fromUrl(answer.data[0]?.url ?? ""), mimeType: "image/png", origin: { provider: "pixelcloud", model, costUsd: 0.04 } })
            )
          )
    }
  })
  return { provider, requests: () => server.seen.filter((s) => s.path === "/v1/images/generations").length }
})
