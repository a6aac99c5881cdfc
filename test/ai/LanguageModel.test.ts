/**
 * The `@effect/ai` bridge with the real Together and OpenRouter providers against their emulators
 * on 127.0.0.1: Effect AI's `generateText`, `streamText` and `generateObject` answered through
 * the registry, the prompt's system and history in the provider's request, fallback from an
 * out-of-credit provider told in the metadata, errors as `AiError`s that hold no key, and tools
 * refused rather than dropped.
 */
import * as AiError from "@effect/ai/AiError"
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { inspect } from "node:util"
import * as AutomarketAi from "../../src/ai/LanguageModel.js"
import { InvalidInput, MalformedResponse, QuotaExceeded } from "../../src/domain/Errors.js"
import type { ProviderConfig } from "../../src/provider/ProviderConfig.js"
import * as OpenRouter from "../../src/providers/openrouter/index.js"
import * as Together from "../../src/providers/together/index.js"
import * as Ledger from "../../src/registry/Ledger.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import * as Faults from "../emulators/Faults.js"
import { openrouter } from "../emulators/openrouter.js"
import { together } from "../emulators/together.js"

const togetherKey = "tg-secret-key-0123456789abcdef"
const openRouterKey = "sk-or-v1-secret-fedcba9876543210"
const togetherModel = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
const openRouterModel = "meta-llama/llama-3.3-70b-instruct"

const config = (baseUrl: string, key: string): ProviderConfig => ({
  apiKeys: [Redacted.make(key)],
  baseUrl,
  timeout: Duration.seconds(5),
  retries: 0
})

/** Both emulators, the real providers on them, and the bridge over a registry of the two (Together first). */
const setup = (options: AutomarketAi.Options = {}) =>
  Effect.gen(function* () {
    const tg = yield* together()
    const or = yield* openrouter()
    const registry = yield* ProviderRegistry.make([
      yield* Together.make(config(tg.baseUrl, togetherKey)),
      yield* OpenRouter.make(config(or.baseUrl, openRouterKey))
    ])
    const model = yield* AutomarketAi.make({
      providers: ["together", "openrouter"],
      models: { together: togetherModel, openrouter: openRouterModel },
      ...options
    }).pipe(Effect.provideService(ProviderRegistry.ProviderRegistry, registry))
    return { tg, or, model }
  })

const chats = (emulator: Faults.EmulatorServer) => emulator.requests.filter((request) => request.path.endsWith("/chat/completions"))
const finishOf = (parts: ReadonlyArray<Response.AnyPart>) => parts.find((part): part is Response.FinishPart => part.type === "finish")

describe("generateText", () => {
  it.scopedLive("answers through the registry; the finish part says who served, what was tried, what it cost", () =>
    Effect.gen(function* () {
      const { or, model } = yield* setup({ providers: ["openrouter"] })
      const response = yield* model.generateText({ prompt: "hello" })
      expect(response.text).toBe("Echo: hello")
      expect(response.finishReason).toBe("unknown")
      expect(response.usage.inputTokens).toBeUndefined()
      expect(finishOf(response.content)?.metadata.automarket).toEqual({
        provider: "openrouter",
        model: openRouterModel,
        attempts: [{ provider: "openrouter", model: openRouterModel }],
        costUsd: 0.00042
      })
      const meta = response.content.find((part) => part.type === "response-metadata")
      expect(meta?.type === "response-metadata" && meta.modelId._tag === "Some" ? meta.modelId.value : undefined).toBe(openRouterModel)
      expect(chats(or)).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("the system messages and the earlier turns reach the provider's request; the last user message is the input", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup({ maxTokens: 64, temperature: 0.2 })
      const prompt = Prompt.make([
        { role: "system", content: "You are terse." },
        { role: "user", content: "What is 2 + 2?" },
        { role: "assistant", content: [{ type: "reasoning", text: "simple sum" }, { type: "text", text: "4" }] },
        { role: "system", content: "Answer in French." },
        { role: "user", content: [{ type: "text", text: "And 3 + 3?" }] }
      ])
      const response = yield* model.generateText({ prompt })
      expect(response.text).toBe("Echo: And 3 + 3?")
      expect(chats(tg)[0]!.json).toMatchObject({
        model: togetherModel,
        max_tokens: 64,
        temperature: 0.2,
        messages: [
          { role: "system", content: "You are terse.\n\nAnswer in French." },
          { role: "user", content: "What is 2 + 2?" },
          { role: "assistant", content: "4" },
          { role: "user", content: "And 3 + 3?" }
        ]
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("withConfigOverride changes one request's options and routing; the layer's stay for the rest", () =>
    Effect.gen(function* () {
      const { tg, or, model } = yield* setup({ maxTokens: 64 })
      const overridden = yield* model.generateText({ prompt: "hi" }).pipe(
        AutomarketAi.withConfigOverride({ maxTokens: 8, exclude: ["together"], extra: { top_p: 0.5 } })
      )
      expect(finishOf(overridden.content)?.metadata.automarket?.provider).toBe("openrouter")
      expect(chats(or)[0]!.json).toMatchObject({ max_tokens: 8, top_p: 0.5 })
      yield* model.generateText({ prompt: "hi" })
      expect(chats(tg)[0]!.json).toMatchObject({ max_tokens: 64 })
      expect(chats(tg)[0]!.json).not.toHaveProperty("top_p")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("fallback: Together out of credit (402), OpenRouter answers, and the metadata says so", () =>
    Effect.gen(function* () {
      const { tg, or, model } = yield* setup()
      tg.faults.inject(Faults.quota(402, "Credit limit exceeded"), { times: Infinity, route: "/v1/chat/completions" })
      const response = yield* model.generateText({ prompt: "hello" })
      expect(response.text).toBe("Echo: hello")
      const served = finishOf(response.content)?.metadata.automarket
      expect(served?.provider).toBe("openrouter")
      expect(served?.attempts?.map((attempt) => [attempt.provider, attempt.error?.tag])).toEqual([
        ["together", "QuotaExceeded"],
        ["openrouter", undefined]
      ])
      expect(chats(tg)).toHaveLength(1)
      expect(chats(or)).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("an error every provider fails with is an AiError naming automarket's tag and provider, with no key in any rendering", () =>
    Effect.gen(function* () {
      const { tg, or, model } = yield* setup()
      // Both echo the request's Authorization header in their error, so a leak would show.
      const echo = (request: Faults.RecordedRequest) => ({ error: { message: `Insufficient credits for ${request.headers.authorization}` } })
      tg.faults.inject(Faults.status(402, echo), { times: Infinity, route: "/v1/chat/completions" })
      or.faults.inject(Faults.status(402, echo), { times: Infinity, route: "/api/v1/chat/completions" })
      const exit = yield* Effect.exit(model.generateText({ prompt: "hello" }))
      expect(chats(tg)).toHaveLength(1)
      expect(chats(or)).toHaveLength(1)
      expect(chats(or)[0]!.headers.authorization).toBe(`Bearer ${openRouterKey}`)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      const error = Cause.failureOption(exit.cause)
      expect(error._tag).toBe("Some")
      if (error._tag === "None") return
      expect(AiError.isAiError(error.value)).toBe(true)
      expect(error.value._tag).toBe("UnknownError")
      expect(error.value.message).toContain("AutomarketLanguageModel.generateText: QuotaExceeded from openrouter:")
      const rendered = [
        error.value.message,
        String(error.value),
        JSON.stringify(error.value),
        JSON.stringify(Schema.encodeSync(AiError.AiError)(error.value)),
        inspect(error.value, { depth: 10 }),
        Cause.pretty(exit.cause)
      ].join("\n")
      expect(rendered).toContain("[redacted]")
      expect(rendered).not.toContain(togetherKey)
      expect(rendered).not.toContain(openRouterKey)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("tools are refused with MalformedInput naming the limitation, before any provider is asked", () =>
    Effect.gen(function* () {
      const { tg, or, model } = yield* setup()
      const GetWeather = Tool.make("GetWeather", { parameters: { city: Schema.String }, success: Schema.String })
      const tools = Toolkit.make(GetWeather)
      const handlers = tools.toLayer({ GetWeather: () => Effect.succeed("sunny") })
      const refused = yield* Effect.flip(model.generateText({ prompt: "weather in Paris?", toolkit: tools }).pipe(Effect.provide(handlers)))
      expect(refused._tag).toBe("MalformedInput")
      expect(refused._tag === "MalformedInput" ? refused.description : "").toBe(
        "automarket's text-to-text capability has no tool calls: the request offers GetWeather"
      )
      // With toolChoice "none" no tool may be called, so there is nothing to refuse.
      const plain = yield* model.generateText({ prompt: "weather in Paris?", toolkit: tools, toolChoice: "none" }).pipe(Effect.provide(handlers))
      expect(plain.text).toBe("Echo: weather in Paris?")
      // A conversation that already holds a tool result cannot be carried either.
      const history = Prompt.make([
        { role: "user", content: "weather?" },
        { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "GetWeather", params: { city: "Paris" }, providerExecuted: false }] },
        { role: "tool", content: [{ type: "tool-result", id: "c1", name: "GetWeather", result: "sunny", isFailure: false, providerExecuted: false }] },
        { role: "user", content: "so?" }
      ])
      const carried = yield* Effect.flip(model.generateText({ prompt: history }))
      expect(carried._tag).toBe("MalformedInput")
      expect(chats(tg).length + chats(or).length).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a prompt that does not end with the user is MalformedInput; nothing is sent", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup()
      const error = yield* Effect.flip(model.generateText({ prompt: [{ role: "user", content: "hi" }, { role: "assistant", content: "Hello" }] }))
      expect(error._tag).toBe("MalformedInput")
      expect(tg.requests).toHaveLength(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("Chat", () => {
  it.scopedLive("a chat's second turn carries the first question and answer as history", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup()
      const chat = yield* Chat.fromPrompt([{ role: "system", content: "Be brief." }])
      const ask = (prompt: string) => chat.generateText({ prompt }).pipe(Effect.provideService(LanguageModel.LanguageModel, model))
      yield* ask("first")
      const second = yield* ask("second")
      expect(second.text).toBe("Echo: second")
      expect(chats(tg)[1]!.json).toMatchObject({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "first" },
          { role: "assistant", content: "Echo: first" },
          { role: "user", content: "second" }
        ]
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("streamText", () => {
  it.scopedLive("the registry's deltas as text-start, text-delta ..., text-end, then finish with who served", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup()
      tg.state.reply = "Paris is the capital"
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(model.streamText({ prompt: "capital of France?" })))
      expect(parts.map((part) => part.type)).toEqual([
        "response-metadata",
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "finish"
      ])
      expect(parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join("")).toBe("Paris is the capital")
      const ids = new Set(parts.flatMap((part) => (part.type === "text-start" || part.type === "text-delta" || part.type === "text-end" ? [part.id] : [])))
      expect(ids.size).toBe(1)
      expect(finishOf(parts)?.metadata.automarket).toEqual({ provider: "together", model: togetherModel })
      expect(chats(tg)[0]!.json).toMatchObject({ stream: true, messages: [{ role: "user", content: "capital of France?" }] })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("falls back before the first delta: Together out of credit, OpenRouter streams", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup()
      tg.faults.inject(Faults.quota(402, "Credit limit exceeded"), { times: Infinity, route: "/v1/chat/completions" })
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(model.streamText({ prompt: "hello there" })))
      expect(parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join("")).toBe("Echo: hello there")
      expect(finishOf(parts)?.metadata.automarket).toEqual({ provider: "openrouter", model: openRouterModel })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a stream every provider refuses fails with an AiError", () =>
    Effect.gen(function* () {
      const { tg, or, model } = yield* setup()
      tg.faults.inject(Faults.quota(402), { times: Infinity, route: "/v1/chat/completions" })
      or.faults.inject(Faults.quota(402), { times: Infinity, route: "/api/v1/chat/completions" })
      const error = yield* Effect.flip(Stream.runDrain(model.streamText({ prompt: "hello" })))
      expect(error._tag).toBe("UnknownError")
      expect(error.message).toMatch(/^AutomarketLanguageModel\.streamText: QuotaExceeded from openrouter: /)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("generateObject", () => {
  const City = Schema.Struct({ name: Schema.String, population: Schema.Number })

  it.scopedLive("the schema goes into the system prompt; the JSON answer (fenced or not) is decoded", () =>
    Effect.gen(function* () {
      const { tg, model } = yield* setup()
      tg.state.reply = '{"name":"Paris","population":2100000}'
      const plain = yield* model.generateObject({ prompt: "the capital of France", schema: City, objectName: "City" })
      expect(plain.value).toEqual({ name: "Paris", population: 2100000 })
      const system = (chats(tg)[0]!.json as { messages: ReadonlyArray<{ role: string; content: string }> }).messages[0]!
      expect(system.role).toBe("system")
      expect(system.content).toContain("Answer with one JSON value (City)")
      expect(system.content).toContain('"population":{"type":"number"}')
      tg.state.reply = '```json\n{"name":"Lyon","population":520000}\n```'
      expect((yield* model.generateObject({ prompt: "a French city", schema: City })).value).toEqual({ name: "Lyon", population: 520000 })
      tg.state.reply = "Paris, about two million people"
      const wrong = yield* Effect.flip(model.generateObject({ prompt: "x", schema: City }))
      expect(wrong._tag).toBe("MalformedOutput")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("the pieces", () => {
  it("textRequest: system, history and input; a tool message or a file is refused", () => {
    const request = AutomarketAi.textRequest(
      Prompt.make([
        { role: "user", content: "a" },
        { role: "assistant", content: [{ type: "reasoning", text: "thinking only" }] },
        { role: "assistant", content: "b" },
        { role: "user", content: "c" }
      ])
    )
    expect(Either.getOrThrow(request).history).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "b" }
    ])
    expect(Either.getOrThrow(request).system).toBeUndefined()
    expect(Either.getOrThrow(request).input.text).toBe("c")
    const file = AutomarketAi.textRequest(
      Prompt.make([{ role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }] }])
    )
    expect(Either.isLeft(file) && file.left.description).toMatch(/takes text only.*image\/png/)
    expect(Either.isLeft(AutomarketAi.textRequest(Prompt.empty))).toBe(true)
  })

  it("toAiError: the AiError class by automarket's tag, the MediaError as the cause", () => {
    const input = AutomarketAi.toAiError("generateText")(new InvalidInput({ provider: "together", detail: "HTTP 400: bad", issues: [] }))
    expect(input._tag).toBe("MalformedInput")
    expect(input.description).toBe("InvalidInput from together: HTTP 400: bad")
    const output = AutomarketAi.toAiError("generateText")(new MalformedResponse({ provider: "openrouter", detail: "no choices" }))
    expect(output._tag).toBe("MalformedOutput")
    const quota = AutomarketAi.toAiError("streamText")(new QuotaExceeded({ provider: "together", detail: "HTTP 402: out" }))
    expect(quota._tag).toBe("UnknownError")
    expect(quota.message).toBe("AutomarketLanguageModel.streamText: QuotaExceeded from together: HTTP 402: out")
    expect(quota.cause).toBeInstanceOf(QuotaExceeded)
  })

  it("unfence: a fenced answer unwrapped, other text untouched", () => {
    expect(AutomarketAi.unfence('```json\n{"a":1}\n```')).toBe('{"a":1}')
    expect(AutomarketAi.unfence('  ```\n[1]\n```  ')).toBe("[1]")
    expect(AutomarketAi.unfence('{"a":"```"}')).toBe('{"a":"```"}')
  })

  it.scopedLive("layer and model offer LanguageModel over a ProviderRegistry; model names the provider automarket", () =>
    Effect.gen(function* () {
      const or = yield* openrouter()
      const registry = ProviderRegistry.layer(OpenRouter.layerWith({ apiKey: Redacted.make(openRouterKey), baseUrl: or.baseUrl }))
      const text = yield* LanguageModel.generateText({ prompt: "via the layer" }).pipe(
        Effect.provide(AutomarketAi.layer({ models: { openrouter: openRouterModel } }).pipe(Layer.provide(registry)))
      )
      expect(text.text).toBe("Echo: via the layer")
      expect(AutomarketAi.model().provider).toBe("automarket")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("the ledger", () => {
  it.scopedLive("a call through Effect AI is written to the cost ledger in the context, in the spender's name", () =>
    Effect.gen(function* () {
      const { model } = yield* setup({ providers: ["openrouter"] })
      const ledger = yield* Ledger.CostLedger
      yield* model.generateText({ prompt: "what did this cost" }).pipe(Effect.provideService(Ledger.CurrentSpender, "key:effect-ai"))
      const entries = yield* ledger.entries()
      expect(entries.map((entry) => [entry.provider, entry.who, entry.costSource, entry.costUsd])).toEqual([["openrouter", "key:effect-ai", "provider", 0.00042]])
    }).pipe(Effect.provide(Ledger.layerMemory), Effect.provide(NodeHttpClient.layerUndici)))
})
