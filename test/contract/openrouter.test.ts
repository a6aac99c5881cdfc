import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import YAML from "yaml"
import { BytesSource, Image, text } from "../../src/domain/Asset.js"
import * as OpenRouter from "../../src/providers/openrouter/index.js"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import { tinyPng } from "../emulators/Samples.js"
import { prism, spec } from "../support/Prism.js"

describe("OpenRouter client against a Prism mock of its OpenAPI spec", () => {
  it.scopedLive(
    "list models and chat (with a fallback list): the requests break no rule and the answers decode",
    () =>
      Effect.gen(function* () {
        const mock = yield* prism(spec("openrouter/in.openapi.yaml"))
        const config = { apiKeys: [Redacted.make("contract-key-123")], baseUrl: mock.url, timeout: Duration.seconds(20), retries: 0 }
        const { http } = yield* ProviderConfig.makeHttp(OpenRouter.OpenRouterConfig.settings, config)
        const client = OpenRouter.OpenRouterClient.make(http)
        const provider = yield* OpenRouter.make(config)
        expect(provider.configured).toBe(true)

        // The spec's own example answer of GET /models lacks `total_count` and `links`, which its
        // schema requires, so Prism (--errors) answers 500 for the response; the request itself
        // must pass, and the example must decode with the client's schema.
        const listed = yield* Effect.flip(client.models)
        expect(listed).toMatchObject({ _tag: "ProviderUnavailable", status: 500 })
        const validations = mock.log().filter((line) => line.includes("[VALIDATOR]"))
        expect(validations.length).toBeGreaterThan(0)
        expect(validations.every((line) => line.includes("The request passed the validation rules"))).toBe(true)
        const document = YAML.parse(readFileSync(spec("openrouter/in.openapi.yaml"), "utf8"))
        const example: unknown = document.paths["/models"].get.responses["200"].content["application/json"].example
        const models = Schema.decodeUnknownSync(OpenRouter.OpenRouterClient.OpenRouterModelList)(example).data
        expect(models.map((m) => OpenRouter.Categories.toProviderModel("openrouter", m))).toMatchObject([
          { id: "openai/gpt-4", capabilities: ["text-to-text"], free: false }
        ])

        const model = yield* provider.textToText("openai/gpt-4")
        const answer = yield* model.transform(text("What is the capital of France?"), {
          system: "You are a helpful assistant.",
          maxTokens: 150,
          temperature: 0.7,
          extra: { models: ["openai/gpt-4o", "anthropic/claude-sonnet-4"] }
        })
        expect(typeof answer.text).toBe("string")

        const imageAnswer = yield* client.chat({
          model: "google/gemini-2.5-flash-image",
          messages: [{ role: "user", content: "a lighthouse" }],
          modalities: ["image", "text"]
        })
        expect(imageAnswer.choices.length).toBeGreaterThan(0)
        // Through the provider: the request (modalities included) must pass Prism's validation. The
        // spec's example answer is text only, so the provider must say it got no image, not invent one.
        const drawn = yield* Effect.flip(Effect.flatMap(provider.textToImage("google/gemini-2.5-flash-image"), (m) => m.transform(text("a lighthouse"))))
        expect(drawn).toMatchObject({ _tag: "MalformedResponse" })
        expect(drawn.message).toMatch(/answered without an image/)
        // The spec's own shape of `message.images` decodes with the client's schema of an answer.
        const images: unknown = document.components.schemas.ChatAssistantImages.example
        const withImages = Schema.decodeUnknownSync(OpenRouter.OpenRouterClient.ChatResponse)({
          id: "gen-1",
          choices: [{ index: 0, message: { role: "assistant", content: null, images } }]
        })
        expect(withImages.choices[0]!.message.images?.[0]!.image_url.url).toMatch(/^data:image\/png;base64,/)

        // Text-to-video as a job: submit, poll (the spec's example status is completed), read the content.
        const video = yield* Effect.flatMap(provider.textToVideo("google/veo-3.1"), (m) =>
          m.transform(text("A serene mountain landscape at sunset"), { durationSeconds: 8, width: 1280, height: 720, extra: { resolution: "720p" } })
        ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_POLL_INTERVAL", "10 millis"]]))))
        expect(video.mimeType).toBe("video/mp4")
        expect(video.source._tag === "Bytes" && video.source.bytes.length > 0).toBe(true)
        expect(video.origin).toMatchObject({ model: "google/veo-3.1", costUsd: 0.5 })
        const still = new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
        const animated = yield* Effect.flatMap(provider.imageToVideo("google/veo-3.1"), (m) => m.transform(still, { prompt: "the clouds drift" })).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_POLL_INTERVAL", "10 millis"]])))
        )
        expect(animated.origin?.model).toBe("google/veo-3.1")
        for (const route of [/POST \/videos\b/i, /GET \/videos\/[^/\s]+\b/i, /GET \/videos\/[^/\s]+\/content/i]) {
          expect(mock.log().some((line) => route.test(line)), String(route)).toBe(true)
        }

        // No violation other than the spec's own /models example.
        expect(mock.violations().filter((line) => !/get \/models/.test(line))).toEqual([])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)),
    120_000
  )
})
