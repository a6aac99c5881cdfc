/**
 * Which of OpenRouter's models can do what, and what they cost, as data: an ordered table of
 * rules over `architecture.input_modalities` / `output_modalities` and id patterns (first
 * match wins), and the pricing normalisation of `/models` (decimal strings, USD per token).
 *
 * OpenRouter serves everything through chat completions, so a model can do:
 * - text-to-text when it reads text and writes text;
 * - text-to-image when it reads text and writes images (`modalities: ["image", "text"]`, the
 *   images come back in `choices[0].message.images`);
 * - text-to-video when it reads text and writes video (not through chat: `POST /videos`, a job);
 *   image-to-video too when it also reads images (the image sent as the first frame).
 * Embedding, rerank, speech and transcription models (other endpoints), and safety
 * classifiers (Llama Guard ...) get none: this provider does not implement those. A model that
 * says nothing of its modalities is unplaced (`isUnplaced`): the AI categorizer may place it.
 *
 * Pricing: `prompt` and `completion` are USD per token (input/output), `request` USD per
 * request. A negative price (`"-1"`, the `openrouter/auto` router: it depends on the model
 * chosen) makes the model unpriced. Free: a `:free` variant, or every price zero.
 *
 * @module
 */
import type { MediaCapability } from "../../domain/Capability.js"
import type { Price, ProviderModel } from "../../domain/Model.js"
import * as Rules from "../openai-compatible/Categories.js"

/** The fields of an OpenRouter `/models` entry that categorization reads. */
export interface OpenRouterModelInfo {
  readonly id: string
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly context_length?: number | null | undefined
  readonly architecture?:
    | {
        readonly input_modalities?: ReadonlyArray<string> | undefined
        readonly output_modalities?: ReadonlyArray<string> | undefined
        readonly modality?: string | null | undefined
      }
    | undefined
  readonly pricing?: Readonly<Record<string, unknown>> | undefined
  readonly top_provider?: { readonly max_completion_tokens?: number | null | undefined } | null | undefined
}

/** One categorization rule: every given condition must hold; the first matching rule decides. */
export interface CategoryRule extends Rules.CategoryRule {
  /** Every one of these must be among the input modalities. */
  readonly inputs?: ReadonlyArray<string>
  /** Every one of these must be among the output modalities. */
  readonly outputs?: ReadonlyArray<string>
}

/** The rules, in order. */
export const categoryRules: ReadonlyArray<CategoryRule> = [
  { name: "safety classifiers do not generate text for users", idPattern: /(^|\/)(llama-?guard|shield-?gemma)|-guard\b/i, capabilities: [] },
  {
    name: "text and image out from text in: text and images",
    inputs: ["text"],
    outputs: ["text", "image"],
    capabilities: ["text-to-text", "text-to-image"]
  },
  { name: "image out from text in: images", inputs: ["text"], outputs: ["image"], capabilities: ["text-to-image"] },
  { name: "text out from text in: text", inputs: ["text"], outputs: ["text"], capabilities: ["text-to-text"] },
  {
    name: "video out from text and image in: videos from a prompt or from a first frame, through the video job endpoint",
    inputs: ["text", "image"],
    outputs: ["video"],
    capabilities: ["text-to-video", "image-to-video"]
  },
  { name: "video out from text in: videos, through the video job endpoint", inputs: ["text"], outputs: ["video"], capabilities: ["text-to-video"] },
  { name: "anything else (embeddings, rerank, speech, transcription, audio ...) is not offered", capabilities: [] }
]

/** The modalities of a model: from `input_/output_modalities`, else from `modality` (`"text+image->text"`). */
export const modalitiesOf = (model: OpenRouterModelInfo): { readonly inputs: ReadonlyArray<string>; readonly outputs: ReadonlyArray<string> } => {
  const arch = model.architecture
  const [rawIn, rawOut] = (arch?.modality ?? "").split("->")
  return {
    inputs: arch?.input_modalities ?? (rawIn === undefined || rawIn === "" ? [] : rawIn.split("+")),
    outputs: arch?.output_modalities ?? (rawOut === undefined || rawOut === "" ? [] : rawOut.split("+"))
  }
}

/** The first rule that matches a model. */
export const ruleFor = (model: OpenRouterModelInfo): CategoryRule | undefined => {
  const { inputs, outputs } = modalitiesOf(model)
  return Rules.firstMatching(
    categoryRules,
    model.id,
    (rule) => (rule.inputs ?? []).every((m) => inputs.includes(m)) && (rule.outputs ?? []).every((m) => outputs.includes(m))
  )
}

/** The capabilities of a model under the rules. */
export const capabilitiesOf = (model: OpenRouterModelInfo): ReadonlyArray<MediaCapability> => ruleFor(model)?.capabilities ?? []

/**
 * Whether no rule could judge a model: it says nothing of its modalities and no id rule matched,
 * so only the catch-all placed it (nowhere). Such models are shown to the AI categorizer
 * (provider/Categorizer.ts); a model whose modalities the rules decline is not.
 */
export const isUnplaced = (model: OpenRouterModelInfo): boolean => {
  const { inputs, outputs } = modalitiesOf(model)
  return inputs.length === 0 && outputs.length === 0 && ruleFor(model) === categoryRules[categoryRules.length - 1]
}

/** A decimal price string as a number; undefined when absent or unreadable. */
export const priceOf = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  if (typeof value !== "string" || value.trim() === "") return undefined
  const parsed = Number(value)
  return Number.isFinite(parsed) ? parsed : undefined
}

const priced = ["prompt", "completion", "request", "image"] as const

/** Whether a model costs nothing: a `:free` variant, or all of its (readable) prices zero. */
export const isFree = (model: OpenRouterModelInfo): boolean => {
  if (model.id.endsWith(":free")) return true
  const pricing = model.pricing
  if (pricing === undefined) return false
  const values = priced.map((key) => priceOf(pricing[key])).filter((v): v is number => v !== undefined)
  return values.length > 0 && values.every((v) => v === 0)
}

/** The model's prices (see the module comment); empty when free or unknown. */
export const pricesOf = (model: OpenRouterModelInfo): ReadonlyArray<Price> => {
  const pricing = model.pricing
  if (pricing === undefined || isFree(model)) return []
  const prompt = priceOf(pricing.prompt)
  const completion = priceOf(pricing.completion)
  const request = priceOf(pricing.request)
  if ([prompt, completion, request].some((v) => v !== undefined && v < 0)) return []
  const out: Array<Price> = []
  if (prompt !== undefined) out.push({ usd: prompt, unit: "token", applies: "input" })
  if (completion !== undefined) out.push({ usd: completion, unit: "token", applies: "output" })
  if (request !== undefined && request > 0) out.push({ usd: request, unit: "request", applies: "request" })
  return out
}

/** A `/models` entry as a `ProviderModel` of provider `provider`. */
export const toProviderModel = (provider: string, model: OpenRouterModelInfo): ProviderModel =>
  Rules.providerModel(provider, {
    id: model.id,
    name: model.name ?? model.id,
    capabilities: capabilitiesOf(model),
    pricing: pricesOf(model),
    free: isFree(model),
    contextLength: model.context_length,
    maxOutputTokens: model.top_provider?.max_completion_tokens,
    ...(model.description !== undefined ? { description: model.description.slice(0, 300) } : {})
  })
