/**
 * The OpenAI-compatible routes over the registry: chat (whole and streamed), images, speech,
 * transcription and the model list. A request's `model` is `auto` (or empty: the registry's
 * route, with its fallback), `provider/model` (that model on that provider, no fallback), or a
 * model id some providers list (those providers, in the router's order). Each answer says who
 * served it: `provider` in the body and the `x-automarket-provider` / `x-automarket-model`
 * headers (and `x-automarket-attempts`: how many providers were tried).
 *
 * @module
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Asset, Audio, FileSource, text } from "../domain/Asset.js"
import type { MediaCapability } from "../domain/Capability.js"
import { GenerationFailed, type MediaError } from "../domain/Errors.js"
import type { ChatTurn, SpeechOptions } from "../domain/MediaProvider.js"
import * as Download from "../http/Download.js"
import * as MediaTypes from "../media/MediaTypes.js"
import type { GenerateOptions, Generation, ProviderRegistryService } from "../registry/ProviderRegistry.js"
import { fromMediaError, InvalidRequest, NotFound, type ApiError } from "./ApiErrors.js"
import type * as Wire from "./OpenAiWire.js"

/** Where a request's `model` sends it: routing options for the registry. */
export interface ModelRoute {
  readonly providers?: ReadonlyArray<string>
  readonly models?: Readonly<Record<string, string>>
}

/** The aliases that mean "let the registry choose". */
const autoAliases = new Set(["", "auto", "default"])

/**
 * Resolve a request's `model` for a capability: `auto` (or the capability's name) is the
 * registry's route; `provider/model` pins both; a bare id goes to the providers that list it.
 */
export const resolveModel = (
  registry: ProviderRegistryService,
  capability: MediaCapability,
  model: string | undefined
): Effect.Effect<ModelRoute, NotFound> =>
  Effect.gen(function* () {
    const asked = (model ?? "").trim()
    if (autoAliases.has(asked) || asked === capability) return {}
    const slash = asked.indexOf("/")
    if (slash > 0) {
      const providerId = asked.slice(0, slash)
      const provider = yield* registry.get(providerId)
      if (Option.isSome(provider)) {
        if (!provider.value.capabilities.includes(capability)) {
          return yield* Effect.fail(NotFound.of(`provider "${providerId}" cannot do ${capability}`, "model_not_found"))
        }
        return { providers: [providerId], models: { [providerId]: asked.slice(slash + 1) } }
      }
    }
    const listed = yield* registry.modelsFor(capability)
    const owners = [...new Set(listed.filter((m) => m.id === asked).map((m) => m.provider))]
    if (owners.length === 0) {
      return yield* Effect.fail(
        NotFound.of(`no provider lists the model "${asked}" for ${capability}; use "auto", "provider/model", or an id from GET /v1/models`, "model_not_found")
      )
    }
    return { providers: owners, models: Object.fromEntries(owners.map((owner) => [owner, asked])) }
  })

/** The header with what an answer cost (US dollars), when every part of it is priced. */
export const costHeader = "x-automarket-cost-usd"

/** The headers saying who served an answer and, when known, what it cost (the sum over `all`, default the one). */
export const servedBy = (
  generation: Pick<Generation<MediaCapability>, "provider" | "model" | "attempts" | "output">,
  all: ReadonlyArray<Pick<Generation<MediaCapability>, "output">> = [generation]
): Record<string, string> => {
  const costs = all.map((made) => (made.output as { readonly origin?: { readonly costUsd?: number } }).origin?.costUsd)
  return {
    "x-automarket-provider": generation.provider,
    "x-automarket-model": generation.model,
    "x-automarket-attempts": String(generation.attempts.length),
    ...(costs.every((cost) => cost !== undefined) ? { [costHeader]: String(costs.reduce((sum: number, cost) => sum + cost!, 0)) } : {})
  }
}

/** What an answer of these routes cost, from its header; undefined when it does not say. */
export const costOfResponse = (response: HttpServerResponse.HttpServerResponse): number | undefined => {
  const said = response.headers[costHeader]
  const usd = said === undefined ? Number.NaN : Number(said)
  return Number.isFinite(usd) ? usd : undefined
}

/** A message's text: the string, or its text parts joined. */
const contentText = (content: Wire.ChatMessage["content"]): string =>
  content === null ? "" : typeof content === "string" ? content : content.flatMap((part) => (part.type === "text" && part.text !== undefined ? [part.text] : [])).join("")

/** A chat as the registry takes it: the last user message, the system prompt, the earlier turns. */
export interface ChatInput {
  readonly prompt: string
  readonly system: string | undefined
  readonly history: ReadonlyArray<ChatTurn>
}

/** A chat's messages as the registry's text input (see `ChatInput`). */
export const chatInput = (messages: ReadonlyArray<Wire.ChatMessage>): Effect.Effect<ChatInput, InvalidRequest> => {
  const system = messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => contentText(m.content))
  const turns = messages.filter((m) => m.role === "user" || m.role === "assistant")
  const last = turns[turns.length - 1]
  if (last === undefined || last.role !== "user") {
    return Effect.fail(InvalidRequest.of("the last message must be the user's", "invalid_messages", "messages"))
  }
  return Effect.succeed({
    prompt: contentText(last.content),
    system: system.length > 0 ? system.join("\n\n") : undefined,
    history: turns.slice(0, -1).map((m): ChatTurn => ({ role: m.role as ChatTurn["role"], content: contentText(m.content) }))
  })
}

/** About four characters a token: the figure clients get when the provider reports none. */
const tokensOf = (value: string): number => Math.ceil(value.length / 4)

/** The chat request's options for the registry. */
export const chatOptions = (
  request: Wire.ChatCompletionRequest,
  input: ChatInput,
  route: ModelRoute
): GenerateOptions<"text-to-text"> => {
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined
  const extra = {
    ...(request.top_p != null ? { top_p: request.top_p } : {}),
    ...(request.stop != null ? { stop: request.stop } : {}),
    ...(request.seed != null ? { seed: request.seed } : {})
  }
  return {
    ...route,
    options: {
      ...(input.system !== undefined ? { system: input.system } : {}),
      ...(input.history.length > 0 ? { history: input.history } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(request.temperature != null ? { temperature: request.temperature } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {})
    }
  }
}

/** A whole chat completion. */
export const chatCompletion = (
  registry: ProviderRegistryService,
  request: Wire.ChatCompletionRequest,
  input: ChatInput,
  route: ModelRoute
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> =>
  Effect.gen(function* () {
    const generation = yield* registry.generateDetailed("text-to-text", text(input.prompt), chatOptions(request, input, route)).pipe(Effect.mapError(fromMediaError))
    const answer = generation.output.text
    const promptTokens = tokensOf(request.messages.map((m) => contentText(m.content)).join("\n"))
    const body: typeof Wire.ChatCompletion.Type = {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: `${generation.provider}/${generation.model}`,
      provider: generation.provider,
      choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }],
      usage: { prompt_tokens: promptTokens, completion_tokens: tokensOf(answer), total_tokens: promptTokens + tokensOf(answer) }
    }
    return yield* HttpServerResponse.json(body, { headers: servedBy(generation) }).pipe(Effect.orDie)
  })

/**
 * A streamed chat completion: server-sent `chat.completion.chunk`s, then `data: [DONE]`. The
 * answer starts only once the first delta is there, so a request every provider refused is an
 * HTTP error (with the fallback's last failure), not an empty stream; a failure after the first
 * delta ends the stream with an `error` event, as OpenAI's does.
 */
export const chatCompletionStream = (
  registry: ProviderRegistryService,
  request: Wire.ChatCompletionRequest,
  input: ChatInput,
  route: ModelRoute
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> =>
  Effect.gen(function* () {
    const deltas = Stream.filter(registry.streamTextDetailed(text(input.prompt), chatOptions(request, input, route)), (part) => part.delta.length > 0)
    // The stream outlives this handler (the body is written after it returns): its scope is
    // closed when the body ends, fails or the client goes away.
    const scope = yield* Scope.make()
    const peeled = yield* Effect.exit(Scope.extend(Stream.peel(deltas, Sink.head()), scope))
    if (Exit.isFailure(peeled)) {
      yield* Scope.close(scope, Exit.void)
      return yield* Effect.failCause(Cause.map(peeled.cause, fromMediaError))
    }
    const [head, rest] = peeled.value
    if (Option.isNone(head)) {
      yield* Scope.close(scope, Exit.void)
      return yield* Effect.fail(fromMediaError(new GenerationFailed({ provider: "registry", detail: "the provider answered nothing" })))
    }
    const first = head.value
    const id = `chatcmpl-${randomUUID()}`
    const created = Math.floor(Date.now() / 1000)
    const model = `${first.provider}/${first.model ?? "default"}`
    const chunk = (delta: Record<string, string>, finish: "stop" | null) =>
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        provider: first.provider,
        choices: [{ index: 0, delta, finish_reason: finish }]
      })}\n\n`
    const body = Stream.concat(
      Stream.make(chunk({ role: "assistant", content: first.delta }, null)),
      Stream.map(rest, (part) => chunk({ content: part.delta }, null))
    ).pipe(
      Stream.concat(Stream.make(chunk({}, "stop"), "data: [DONE]\n\n")),
      Stream.catchAll((error) => {
        const failed = fromMediaError(error)
        const detail = failed._tag === "TooManyRequests" ? { message: failed.message, type: "rate_limit_error", code: failed.code } : failed.error
        return Stream.make(`data: ${JSON.stringify({ error: detail })}\n\n`)
      }),
      Stream.encodeText,
      Stream.ensuring(Scope.close(scope, Exit.void))
    )
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-automarket-provider": first.provider, "x-automarket-model": first.model ?? "default" }
    })
  })

/** An asset's bytes: in memory, from its file, or downloaded (under the download rules) from its URL. */
export const assetBytes = (asset: Exclude<Asset, { readonly _tag: "Text" }>): Effect.Effect<Uint8Array, MediaError, HttpClient.HttpClient> => {
  const source = asset.source
  switch (source._tag) {
    case "Bytes":
      return Effect.succeed(source.bytes)
    case "File":
      return Effect.tryPromise({
        try: () => fs.promises.readFile(source.path),
        catch: (cause) => new GenerationFailed({ provider: asset.origin?.provider ?? "gateway", detail: `the result file could not be read: ${String(cause)}` })
      })
    case "Url": {
      const inline = Download.decodeDataUrl(source.url)
      if (inline !== undefined) return Effect.succeed(inline.bytes)
      const to = path.join(os.tmpdir(), `automarket-gateway-${randomUUID()}.${MediaTypes.fileExtensionOf(asset.mimeType)}`)
      return Effect.acquireUseRelease(
        Download.download({ url: source.url, to, provider: asset.origin?.provider ?? "download" }),
        (done) => Effect.promise(() => fs.promises.readFile(done.path)),
        () => Effect.sync(() => fs.rmSync(to, { force: true }))
      )
    }
  }
}

/** Images: `n` generations (one at a time: each may fall back on its own), inline or as URLs. */
export const images = (
  registry: ProviderRegistryService,
  request: Wire.ImageGenerationRequest,
  route: ModelRoute
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const [width, height] = request.size != null ? request.size.split("x").map(Number) : [undefined, undefined]
    const options = {
      ...route,
      options: {
        ...(width !== undefined ? { width } : {}),
        ...(height !== undefined ? { height } : {}),
        ...(request.seed != null ? { seed: request.seed } : {}),
        ...(request.negative_prompt !== undefined ? { negativePrompt: request.negative_prompt } : {})
      }
    }
    const made = yield* Effect.forEach(Array.from({ length: request.n ?? 1 }), () =>
      registry.generateDetailed("text-to-image", text(request.prompt), options).pipe(Effect.mapError(fromMediaError))
    )
    type Entry = { readonly b64_json?: string; readonly url?: string }
    const data = yield* Effect.forEach(made, (generation): Effect.Effect<Entry, ApiError, HttpClient.HttpClient> => {
      const image = generation.output
      if (request.response_format !== "b64_json" && image.source._tag === "Url" && !image.source.url.startsWith("data:")) {
        return Effect.succeed({ url: image.source.url })
      }
      return assetBytes(image).pipe(
        Effect.map((bytes): Entry => {
          const b64 = Buffer.from(bytes).toString("base64")
          return request.response_format === "b64_json" ? { b64_json: b64 } : { url: `data:${image.mimeType};base64,${b64}` }
        }),
        Effect.mapError(fromMediaError)
      )
    })
    const last = made[made.length - 1]!
    const body: typeof Wire.ImagesResponse.Type = {
      created: Math.floor(Date.now() / 1000),
      model: `${last.provider}/${last.model}`,
      provider: last.provider,
      data
    }
    return yield* HttpServerResponse.json(body, { headers: servedBy(last, made) }).pipe(Effect.orDie)
  })

const speechFormats: Record<string, NonNullable<SpeechOptions["format"]> | undefined> = { wav: "wav", mp3: "mp3", opus: "opus" }

/** Speech: the audio itself, in the format asked for where the provider can make it. */
export const speech = (
  registry: ProviderRegistryService,
  request: Wire.SpeechRequest,
  route: ModelRoute
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const format = request.response_format !== undefined ? speechFormats[request.response_format] : undefined
    if (request.response_format !== undefined && format === undefined) {
      return yield* Effect.fail(InvalidRequest.of(`response_format ${request.response_format} is not offered; use wav, mp3 or opus`, "unsupported_format", "response_format"))
    }
    const generation = yield* registry
      .generateDetailed("text-to-speech", text(request.input), {
        ...route,
        options: {
          ...(request.voice !== undefined && request.voice !== "" ? { voice: request.voice } : {}),
          ...(format !== undefined ? { format } : {}),
          ...(request.speed !== undefined ? { speed: request.speed } : {})
        }
      })
      .pipe(Effect.mapError(fromMediaError))
    const bytes = yield* assetBytes(generation.output).pipe(Effect.mapError(fromMediaError))
    return HttpServerResponse.uint8Array(bytes, { contentType: generation.output.mimeType, headers: servedBy(generation) })
  })

/** A transcription of an uploaded file (see `Uploads`), as OpenAI's `json`, `text` or `verbose_json`. */
export const transcription = (
  registry: ProviderRegistryService,
  file: { readonly path: string; readonly mimeType: string },
  fields: typeof Wire.TranscriptionFields.Type,
  route: ModelRoute
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> =>
  Effect.gen(function* () {
    const audio = new Audio({ source: new FileSource({ path: file.path }), mimeType: file.mimeType })
    const generation = yield* registry
      .generateDetailed("speech-to-text", audio, { ...route, options: fields.language !== undefined ? { language: fields.language } : {} })
      .pipe(Effect.mapError(fromMediaError))
    const transcript = generation.output
    const headers = servedBy(generation)
    if (fields.response_format === "text") return HttpServerResponse.text(transcript.text, { headers })
    const segments = transcript.segments ?? []
    const body =
      fields.response_format === "verbose_json"
        ? {
            text: transcript.text,
            ...(transcript.language !== undefined ? { language: transcript.language } : {}),
            ...(segments.length > 0 ? { duration: segments[segments.length - 1]!.end } : {}),
            segments: segments.map((segment, index) => ({ id: index, start: segment.start, end: segment.end, text: segment.text }))
          }
        : { text: transcript.text }
    return yield* HttpServerResponse.json(body, { headers }).pipe(Effect.orDie)
  })

/** The catalog as `GET /v1/models`: every listed model of every provider, `provider/model`. */
export const models = (registry: ProviderRegistryService): Effect.Effect<typeof Wire.ModelList.Type> =>
  Effect.gen(function* () {
    const providers = yield* registry.all
    const lists = yield* Effect.forEach(providers, (provider) => Effect.orElseSucceed(provider.models, () => []), { concurrency: "unbounded" })
    const created = Math.floor(Date.now() / 1000)
    return {
      object: "list" as const,
      data: lists.flat().map((model) => ({
        id: `${model.provider}/${model.id}`,
        object: "model" as const,
        created,
        owned_by: model.provider,
        capabilities: model.capabilities,
        free: model.free,
        pricing: model.pricing
      }))
    }
  })

/** Decode a JSON body against a wire schema; a mismatch is a 400 naming the fields. */
export const decodeBody = <A, I>(schema: Schema.Schema<A, I>, body: unknown): Effect.Effect<A, InvalidRequest> =>
  Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })(body).pipe(
    Effect.mapError((error) => InvalidRequest.of(ParseResult.TreeFormatter.formatErrorSync(error), "invalid_request"))
  )
