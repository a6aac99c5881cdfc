/**
 * `@effect/ai`'s `LanguageModel` served by automarket's `ProviderRegistry`: an Effect AI program
 * (`LanguageModel.generateText`, `streamText`, `generateObject`, `Chat`) runs on whichever text
 * provider the registry routes to, with its fallback across providers, its retries and its typed
 * errors, and learns from the answer's metadata who served it.
 *
 * How a prompt becomes automarket's text input: the system messages are joined into `system`,
 * the user and assistant turns before the last message become `history`, and the last message,
 * which must be the user's, is the `Text` input. Generation settings (`maxTokens`,
 * `temperature`, provider `extra` fields) and routing preferences are this module's `Config`,
 * given to `layer` and overridable per request with `withConfigOverride`, the way
 * `@effect/ai`'s provider packages take theirs: `@effect/ai` 0.37 itself passes none.
 *
 * What the text capability cannot do is refused, not dropped: a prompt that offers tools (unless
 * `toolChoice` is `"none"`), carries tool calls or results, or attaches files fails with
 * `AiError.MalformedInput` naming the limitation. `generateObject` works: `LanguageModel.make`
 * derives it from `generateText` by decoding the answer's text as JSON, so for a JSON answer the
 * schema is put into the system prompt (and a fenced answer unwrapped).
 *
 * @module
 */
import * as AiError from "@effect/ai/AiError"
import { IdGenerator } from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Context from "effect/Context"
import { dual } from "effect/Function"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Text } from "../domain/Asset.js"
import type { MediaError } from "../domain/Errors.js"
import type { ChatTurn, ExtraParams, TextOptions } from "../domain/MediaProvider.js"
import type { RouteOptions } from "../registry/Router.js"
import { type Attempt, type GenerateOptions, ProviderRegistry } from "../registry/ProviderRegistry.js"

/** The name of this model in errors (`module`) and in `@effect/ai`'s `Model.ProviderName`. */
const moduleName = "AutomarketLanguageModel"

/**
 * How requests are generated and routed: the registry's routing preferences (`exclude`,
 * `maxCost`, `preferFree`, `providers` ...), a pinned model per provider, and the text options
 * automarket's providers read.
 */
export interface Options extends RouteOptions {
  /** The model to use on a given provider (provider id -> model id), instead of the router's choice. */
  readonly models?: Readonly<Record<string, string>>
  /** The largest number of tokens to generate (the providers' `max_tokens`). */
  readonly maxTokens?: number
  readonly temperature?: number
  /** Fields merged into the provider's request body (e.g. `top_p`, `stop`, `response_format`). */
  readonly extra?: ExtraParams
}

/**
 * The options of the requests made in an effect: `layer`'s, with `withConfigOverride`'s on top.
 * Absent unless overridden; read (not required) by the model.
 */
export class Config extends Context.Tag("automarket/ai/LanguageModel/Config")<Config, Options>() {}

/**
 * Run an effect with some options changed for the requests it makes (e.g. a larger `maxTokens`
 * for one call, or `exclude` a provider); the rest stay as `layer` set them. For a stream,
 * `Stream.provideService(Config, ...)` does the same.
 */
export const withConfigOverride: {
  (overrides: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Options): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Options): Effect.Effect<A, E, R> =>
    Effect.flatMap(Effect.serviceOption(Config), (current) =>
      Effect.provideService(self, Config, { ...Option.getOrElse(current, () => ({})), ...overrides })
    )
)

/**
 * Who served an answer, in the finish part's `metadata.automarket`: the provider and model, every
 * provider tried before it with its error (`generateText` only: a stream falls back before its
 * first delta, unrecorded), and what the answer cost in USD when the provider priced it.
 */
export type ServedBy = {
  readonly provider: string
  /** Undefined when a stream used the provider's default model. */
  readonly model: string | undefined
  readonly attempts?: ReadonlyArray<Attempt>
  readonly costUsd?: number
}

declare module "@effect/ai/Response" {
  export interface FinishPartMetadata extends ProviderMetadata {
    readonly automarket?: ServedBy | undefined
  }
}

/** What a prompt is as automarket's text input. */
export interface TextRequest {
  readonly input: Text
  readonly system: string | undefined
  readonly history: ReadonlyArray<ChatTurn>
}

const malformedInput = (method: string, description: string) => new AiError.MalformedInput({ module: moduleName, method, description })

// A turn's text. Reasoning is the model's own working and is not sent back; anything else the text
// capability cannot carry is refused rather than silently left out of the conversation.
const textOf = (
  method: string,
  message: Prompt.UserMessage | Prompt.AssistantMessage
): Either.Either<string, AiError.MalformedInput> => {
  const texts: Array<string> = []
  for (const part of message.content) {
    switch (part.type) {
      case "text":
        texts.push(part.text)
        break
      case "reasoning":
        break
      case "file":
        return Either.left(malformedInput(method, `automarket's text-to-text capability takes text only: a ${message.role} message attaches a file (${part.mediaType})`))
      case "tool-call":
      case "tool-result":
        return Either.left(malformedInput(method, `automarket's text-to-text capability has no tool calls: an ${message.role} message holds a ${part.type} (${part.name})`))
    }
  }
  return Either.right(texts.join("\n"))
}

/**
 * A prompt as automarket's text input: the system messages (joined by a blank line) as the
 * system prompt, the user and assistant turns before the last message as the history, the last
 * message, which must be the user's, as the input. Fails with `MalformedInput` on what the text
 * capability cannot carry (tool messages and parts, files) and on a prompt that does not end
 * with the user.
 */
export const textRequest = (prompt: Prompt.Prompt, method = "generateText"): Either.Either<TextRequest, AiError.MalformedInput> =>
  Either.gen(function* () {
    const system: Array<string> = []
    const turns: Array<ChatTurn> = []
    for (const message of prompt.content) {
      switch (message.role) {
        case "system":
          system.push(message.content)
          break
        case "tool":
          return yield* Either.left(malformedInput(method, "automarket's text-to-text capability has no tool calls: the prompt holds a tool message"))
        case "user":
        case "assistant":
          turns.push({ role: message.role, content: yield* textOf(method, message) })
      }
    }
    const last = turns.at(-1)
    if (last === undefined || last.role !== "user") {
      return yield* Either.left(malformedInput(method, "the prompt must end with a user message: it is the text automarket's providers answer"))
    }
    return {
      input: new Text({ text: last.content }),
      system: system.length > 0 ? system.join("\n\n") : undefined,
      // An assistant turn of reasoning only has nothing to say to the next model.
      history: turns.slice(0, -1).filter((turn) => turn.content !== "")
    }
  })

// For a JSON answer the schema goes into the system prompt: the text capability has no
// provider-neutral structured output, and `LanguageModel.make` decodes the answer's text.
const jsonInstruction = (method: string, objectName: string, schema: LanguageModel.ProviderOptions["responseFormat"]): Either.Either<string | undefined, AiError.MalformedInput> => {
  if (schema.type === "text") return Either.right(undefined)
  const target = schema.schema
  return Either.mapLeft(
    Either.try(() => JSON.stringify(JSONSchema.make(target))),
    () => malformedInput(method, `the schema of ${objectName} has no JSON Schema to give the model`)
  ).pipe(
    Either.map(
      (jsonSchema) =>
        `Answer with one JSON value (${objectName}) and nothing else: no prose, no code fence. It must conform to this JSON Schema: ${jsonSchema}`
    )
  )
}

/** A JSON answer wrapped in a Markdown code fence (as models often write it), unwrapped; other text as it is. */
export const unfence = (text: string): string => {
  const fenced = /^\s*```[a-zA-Z]*[ \t]*\r?\n([\s\S]*?)\r?\n?```\s*$/.exec(text)
  return fenced === null ? text : fenced[1]!
}

/**
 * A `MediaError` as an `AiError`: `InvalidInput` as `MalformedInput`, `MalformedResponse` as
 * `MalformedOutput`, every other (quota, rate, network, keys, routing ...) as `UnknownError`,
 * since `@effect/ai`'s HTTP errors describe a request this side never sees. The description
 * keeps automarket's tag, provider and detail; `cause` is the `MediaError` itself (for
 * `isFailover`, `_tag` ...). Neither holds a key: a `MediaError` never does.
 */
export const toAiError =
  (method: string) =>
  (error: MediaError): AiError.AiError => {
    const params = { module: moduleName, method, description: `${error._tag} from ${error.provider}: ${error.detail}`, cause: error }
    switch (error._tag) {
      case "InvalidInput":
        return new AiError.MalformedInput(params)
      case "MalformedResponse":
        return new AiError.MalformedOutput(params)
      default:
        return new AiError.UnknownError(params)
    }
  }

const unknownUsage = { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined }

// The request a prompt makes, with the options in force (`layer`'s, then `withConfigOverride`'s).
const requestOf = (
  defaults: Options,
  providerOptions: LanguageModel.ProviderOptions,
  method: string
): Effect.Effect<{ readonly input: Text; readonly options: GenerateOptions<"text-to-text"> }, AiError.AiError> =>
  Effect.gen(function* () {
    if (providerOptions.tools.length > 0 && providerOptions.toolChoice !== "none") {
      return yield* malformedInput(
        method,
        `automarket's text-to-text capability has no tool calls: the request offers ${providerOptions.tools.map((tool) => tool.name).join(", ")}`
      )
    }
    const override = yield* Effect.serviceOption(Config)
    const { maxTokens, temperature, extra, ...route } = { ...defaults, ...Option.getOrElse(override, () => ({})) }
    const request = yield* textRequest(providerOptions.prompt, method)
    const objectName = providerOptions.responseFormat.type === "json" ? providerOptions.responseFormat.objectName : ""
    const instruction = yield* jsonInstruction(method, objectName, providerOptions.responseFormat)
    const system = [request.system, instruction].filter((part): part is string => part !== undefined).join("\n\n")
    const options: TextOptions = {
      ...(system !== "" ? { system } : {}),
      ...(request.history.length > 0 ? { history: request.history } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(extra !== undefined ? { extra } : {})
    }
    return { input: request.input, options: { ...route, options } }
  })

/**
 * The `LanguageModel` service over the registry, with `options` for every request (routing,
 * pinned models, text options; see `Options`).
 */
export const make = (options: Options = {}): Effect.Effect<LanguageModel.Service, never, ProviderRegistry> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry

    const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function* () {
        const request = yield* requestOf(options, providerOptions, "generateText")
        const generation = yield* registry
          .generateDetailed("text-to-text", request.input, request.options)
          .pipe(Effect.mapError(toAiError("generateText")))
        const answer = generation.output
        const costUsd = answer.origin?.costUsd
        const served: ServedBy = {
          provider: generation.provider,
          model: generation.model,
          attempts: generation.attempts,
          ...(costUsd !== undefined ? { costUsd } : {})
        }
        const parts: Array<Response.PartEncoded> = [
          {
            type: "response-metadata",
            modelId: generation.model,
            ...(answer.origin?.jobId !== undefined ? { id: answer.origin.jobId } : {})
          },
          { type: "text", text: providerOptions.responseFormat.type === "json" ? unfence(answer.text) : answer.text },
          // automarket's text result carries neither the finish reason nor the token counts.
          { type: "finish", reason: "unknown", usage: unknownUsage, metadata: { automarket: served } }
        ]
        return parts
      })

    const streamText = (providerOptions: LanguageModel.ProviderOptions): Stream.Stream<Response.StreamPartEncoded, AiError.AiError, IdGenerator> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const request = yield* requestOf(options, providerOptions, "streamText")
          const id = yield* Effect.flatMap(IdGenerator, (ids) => ids.generateId())
          let served: ServedBy | undefined
          const deltas = registry.streamTextDetailed(request.input, request.options).pipe(
            Stream.filter((part) => part.delta !== ""),
            Stream.mapConcat((part): ReadonlyArray<Response.StreamPartEncoded> => {
              const delta: Response.StreamPartEncoded = { type: "text-delta", id, delta: part.delta }
              if (served !== undefined) return [delta]
              served = { provider: part.provider, model: part.model }
              return [{ type: "response-metadata", ...(part.model !== undefined ? { modelId: part.model } : {}) }, { type: "text-start", id }, delta]
            }),
            Stream.mapError(toAiError("streamText"))
          )
          // The end parts are made when the deltas are done, from who wrote them (no one for an empty answer).
          const end = Stream.suspend(() =>
            Stream.fromIterable<Response.StreamPartEncoded>([
              ...(served !== undefined ? [{ type: "text-end" as const, id }] : []),
              { type: "finish", reason: "unknown", usage: unknownUsage, ...(served !== undefined ? { metadata: { automarket: served } } : {}) }
            ])
          )
          return Stream.concat(deltas, end)
        })
      )

    return yield* LanguageModel.make({ generateText, streamText })
  })

/** `make` as a layer: `LanguageModel.LanguageModel` over the `ProviderRegistry`. */
export const layer = (options: Options = {}): Layer.Layer<LanguageModel.LanguageModel, never, ProviderRegistry> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * `layer` as an `@effect/ai` `Model` named `"automarket"`: a layer that also offers the provider's
 * name, and usable where `@effect/ai` takes models (e.g. the steps of an `ExecutionPlan`).
 */
export const model = (options: Options = {}): AiModel.Model<"automarket", LanguageModel.LanguageModel, ProviderRegistry> =>
  AiModel.make("automarket", layer(options))
