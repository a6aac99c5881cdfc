import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Audio, BytesSource, Image, text } from "../../src/domain/Asset.js"
import * as Together from "../../src/providers/together/index.js"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import { silentWav, tinyPng } from "../emulators/Samples.js"
import { prism, spec } from "../support/Prism.js"

const clientAt = (url: string) =>
  Effect.gen(function* () {
    const config = { apiKeys: [Redacted.make("contract-key-123")], baseUrl: url, timeout: Duration.seconds(20), retries: 0 }
    const { http } = yield* ProviderConfig.makeHttp(Together.TogetherConfig.settings, config)
    const client = yield* Together.TogetherClient.make(http)
    const provider = yield* Together.make(config)
    return { client, provider }
  })

describe("Together client against a Prism mock of its OpenAPI spec", () => {
  it.scopedLive(
    "list models, chat, images, speech and transcription: the requests break no rule and the answers decode",
    () =>
      Effect.gen(function* () {
        const mock = yield* prism(spec("together/openapi.yaml"))
        const { client, provider } = yield* clientAt(mock.url)

        const models = yield* client.models
        expect(models.length).toBeGreaterThan(0)
        expect(typeof models[0]!.id).toBe("string")
        expect((yield* provider.models).every((m) => m.provider === "together")).toBe(true)

        const chatModel = yield* provider.textToText("Qwen/Qwen3.5-9B")
        const answer = yield* chatModel.transform(text("What is the capital of France?"), { system: "Be brief", maxTokens: 64, temperature: 0.3 })
        expect(typeof answer.text).toBe("string")

        const imageModel = yield* provider.textToImage("black-forest-labs/FLUX.1-schnell")
        const imageAnswer = yield* client.images({ model: "black-forest-labs/FLUX.1-schnell", prompt: "cat floating in space", response_format: "base64", width: 512, height: 512, steps: 4, n: 1 })
        expect(Array.isArray(imageAnswer.data)).toBe(true)
        expect(imageModel.id).toBe("black-forest-labs/FLUX.1-schnell")

        // Image-to-image: the input image as `image_url` (Kontext) and as `reference_images` (FLUX.2).
        const input = new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
        const kontext = yield* provider.imageToImage("black-forest-labs/FLUX.1-kontext-pro")
        const edited = yield* kontext.transform(input, { prompt: "make the sky red", width: 512, height: 512 })
        expect(edited.origin?.model).toBe("black-forest-labs/FLUX.1-kontext-pro")
        const flux2 = yield* provider.imageToImage("black-forest-labs/FLUX.2-pro")
        const guided = yield* flux2.transform(input, { prompt: "as a watercolour" })
        expect(guided.origin?.model).toBe("black-forest-labs/FLUX.2-pro")

        const speech = yield* client.speech({ model: "cartesia/sonic", input: "Hello", voice: "laidback woman", response_format: "wav" })
        expect(speech.bytes.length).toBeGreaterThan(0)

        const transcript = yield* client.transcribe({
          source: new BytesSource({ bytes: new Uint8Array(silentWav()) }),
          filename: "audio.wav",
          contentType: "audio/wav",
          model: "openai/whisper-large-v3",
          language: "en",
          response_format: "verbose_json"
        })
        expect(typeof transcript.text).toBe("string")
        const stt = yield* provider.speechToText()
        expect(stt.id).toBe("openai/whisper-large-v3")
        yield* stt.transform(new Audio({ source: new BytesSource({ bytes: new Uint8Array(silentWav()) }), mimeType: "audio/wav" }))

        expect(mock.violations()).toEqual([])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)),
    120_000
  )
})
