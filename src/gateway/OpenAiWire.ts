/**
 * The OpenAI-compatible wire shapes the gateway speaks: the request and answer bodies of
 * `/v1/chat/completions` (whole and streamed), `/v1/images/generations`, `/v1/audio/speech`,
 * `/v1/audio/transcriptions` and `/v1/models`, as far as the openai SDK and the AI SDK's
 * OpenAI-compatible provider send and read them. Fields OpenAI has and automarket cannot honour
 * are accepted and ignored (clients send them by default); answers add `provider` where the
 * fallback chose one (as OpenRouter does).
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** A message's content: a string, or OpenAI's parts (only the text parts are read). */
export const MessageContent = Schema.Union(
  Schema.String,
  Schema.Array(Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) }, { key: Schema.String, value: Schema.Unknown }))
)

/** One chat message. Tool and function messages are not supported (automarket has no tools). */
export const ChatMessage = Schema.Struct(
  {
    role: Schema.Literal("system", "developer", "user", "assistant"),
    content: Schema.NullOr(MessageContent)
  },
  { key: Schema.String, value: Schema.Unknown }
)
/** One chat message. */
export type ChatMessage = typeof ChatMessage.Type

/** `POST /v1/chat/completions`. */
export const ChatCompletionRequest = Schema.Struct(
  {
    /** A model id, `provider/model`, or `auto` (the registry's route). */
    model: Schema.String,
    messages: Schema.NonEmptyArray(ChatMessage),
    stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
    max_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
    max_completion_tokens: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.positive()))),
    temperature: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.between(0, 2)))),
    top_p: Schema.optional(Schema.NullOr(Schema.Number)),
    stop: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.String)))),
    seed: Schema.optional(Schema.NullOr(Schema.Int)),
    n: Schema.optional(Schema.NullOr(Schema.Literal(1))),
    user: Schema.optional(Schema.String)
  },
  { key: Schema.String, value: Schema.Unknown }
)
/** `POST /v1/chat/completions`. */
export type ChatCompletionRequest = typeof ChatCompletionRequest.Type

/** Token counts; estimated (4 characters a token) where the provider reports none. */
export const CompletionUsage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.Number
})

/** The answer of a whole chat completion. */
export const ChatCompletion = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.Number,
  /** `provider/model` of the model that answered. */
  model: Schema.String,
  /** The provider that answered (after any fallback). */
  provider: Schema.String,
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Number,
      message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.String }),
      finish_reason: Schema.Literal("stop", "length")
    })
  ),
  usage: CompletionUsage
})

/** `POST /v1/images/generations`. */
export const ImageGenerationRequest = Schema.Struct(
  {
    prompt: Schema.String.pipe(Schema.minLength(1)),
    model: Schema.optional(Schema.String),
    n: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.between(1, 4)))),
    /** `WIDTHxHEIGHT`, e.g. `1024x1024`. */
    size: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.pattern(/^\d{2,5}x\d{2,5}$/)))),
    response_format: Schema.optional(Schema.NullOr(Schema.Literal("url", "b64_json"))),
    seed: Schema.optional(Schema.NullOr(Schema.Int)),
    negative_prompt: Schema.optional(Schema.String),
    user: Schema.optional(Schema.String)
  },
  { key: Schema.String, value: Schema.Unknown }
)
/** `POST /v1/images/generations`. */
export type ImageGenerationRequest = typeof ImageGenerationRequest.Type

/** The answer of an image generation: one entry an image, inline or as a URL. */
export const ImagesResponse = Schema.Struct({
  created: Schema.Number,
  model: Schema.String,
  provider: Schema.String,
  data: Schema.Array(Schema.Struct({ b64_json: Schema.optional(Schema.String), url: Schema.optional(Schema.String) }))
})

/** `POST /v1/audio/speech`: the answer is the audio itself. */
export const SpeechRequest = Schema.Struct(
  {
    model: Schema.String,
    input: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)),
    voice: Schema.optional(Schema.String),
    response_format: Schema.optional(Schema.Literal("wav", "mp3", "opus", "flac", "aac", "pcm")),
    speed: Schema.optional(Schema.Number.pipe(Schema.between(0.25, 4)))
  },
  { key: Schema.String, value: Schema.Unknown }
)
/** `POST /v1/audio/speech`. */
export type SpeechRequest = typeof SpeechRequest.Type

/** The fields of `POST /v1/audio/transcriptions` besides the file (multipart form fields). */
export const TranscriptionFields = Schema.Struct({
  model: Schema.String,
  language: Schema.optional(Schema.String),
  response_format: Schema.optional(Schema.Literal("json", "text", "verbose_json")),
  prompt: Schema.optional(Schema.String),
  temperature: Schema.optional(Schema.NumberFromString)
})

/** The answer of a transcription (`json`; `verbose_json` adds language, duration and segments). */
export const Transcription = Schema.Struct({
  text: Schema.String,
  language: Schema.optional(Schema.String),
  duration: Schema.optional(Schema.Number),
  segments: Schema.optional(Schema.Array(Schema.Struct({ id: Schema.Number, start: Schema.Number, end: Schema.Number, text: Schema.String })))
})

/** One model of `GET /v1/models`: OpenAI's fields, then the catalog's. */
export const ModelEntry = Schema.Struct({
  /** `provider/model`. */
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Schema.Number,
  owned_by: Schema.String,
  capabilities: Schema.Array(Schema.String),
  free: Schema.Boolean,
  pricing: Schema.Array(Schema.Struct({ usd: Schema.Number, unit: Schema.String, applies: Schema.String }))
})

/** `GET /v1/models`. */
export const ModelList = Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(ModelEntry) })
