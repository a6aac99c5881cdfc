/**
 * Which of Together's models can do what, and what they cost, as data: an ordered table of
 * rules (model `type` and id patterns -> capabilities, first match wins) and the pricing
 * normalisation from Together's `/models` payload to per-unit `Price`s.
 *
 * Only capabilities this provider implements are ever assigned (text-to-text, text-to-image,
 * image-to-image, text-to-speech, speech-to-text). Image-to-image is listed only for the image
 * models whose rule names the request field that carries their input image (`inputImage`):
 * FLUX.1 Kontext takes `image_url`, FLUX.2 `reference_images`; the others (FLUX.1 schnell/dev/
 * pro, SDXL, Imagen) ignore an input image, so they only generate from a prompt. Embedding, rerank and moderation models, and safety
 * classifiers that Together types as `chat` (Llama Guard, VirtueGuard ...), get none. A model of
 * a type the rules do not know is unplaced (`isUnplaced`): the AI categorizer may place it.
 *
 * Pricing, as Together reports it in `pricing`:
 * - chat, language and code models: `input`/`output` are USD per million tokens: divided by
 *   10^6 into per-token prices.
 * - image models: `base` is the USD price of one megapixel of output (Together bills FLUX-style
 *   models per megapixel; a 1024x1024 image is 1.05 MP).
 * - audio (text-to-speech) models: `input` is USD per million characters of input text.
 * - transcribe and other types: the payload does not say the unit: unpriced.
 * A model whose `input`, `output` and `base` are all zero is free (e.g. the `-Free` variants).
 * A model without `pricing` is unpriced and not free.
 *
 * @module
 */
import type { MediaCapability } from "../../domain/Capability.js"
import type { Price, ProviderModel } from "../../domain/Model.js"
import * as Rules from "../openai-compatible/Categories.js"

/** The fields of a Together `/models` entry that categorization reads. */
export interface TogetherModelInfo {
  readonly id: string
  readonly type: string
  readonly display_name?: string | undefined
  readonly organization?: string | undefined
  readonly context_length?: number | null | undefined
  readonly pricing?:
    | {
        readonly hourly?: number | undefined
        readonly input?: number | undefined
        readonly output?: number | undefined
        readonly base?: number | undefined
        readonly finetune?: number | undefined
      }
    | undefined
}

/** One categorization rule: every given condition must hold; the first matching rule decides. */
export interface CategoryRule extends Rules.CategoryRule {
  /** Together model types the rule applies to; any type when absent. */
  readonly types?: ReadonlyArray<string>
  /** The field of `POST /images/generations` that carries the model's input image, when it takes one. */
  readonly inputImage?: InputImageField
}

/** How an image model is given an image to work from: one URL, or a list of reference URLs. */
export type InputImageField = "image_url" | "reference_images"

/** The rules, in order. */
export const categoryRules: ReadonlyArray<CategoryRule> = [
  {
    name: "safety classifiers typed as chat models do not generate text for users",
    idPattern: /(^|\/)(llama-?guard|virtue-?guard|shield-?gemma)|guard-\d|-guard\b/i,
    capabilities: []
  },
  { name: "embedding, rerank and moderation models generate nothing", types: ["embedding", "rerank", "moderation"], capabilities: [] },
  { name: "chat, language and code models generate text", types: ["chat", "language", "code"], capabilities: ["text-to-text"] },
  {
    name: "FLUX.1 Kontext models edit the image given as image_url, or generate from a prompt alone",
    types: ["image"],
    idPattern: /flux\.1-kontext/i,
    capabilities: ["text-to-image", "image-to-image"],
    inputImage: "image_url"
  },
  {
    name: "FLUX.2 models work from the images given as reference_images, or from a prompt alone",
    types: ["image"],
    idPattern: /flux\.2-/i,
    capabilities: ["text-to-image", "image-to-image"],
    inputImage: "reference_images"
  },
  { name: "other image models generate images from a prompt", types: ["image"], capabilities: ["text-to-image"] },
  { name: "audio models speak text", types: ["audio"], capabilities: ["text-to-speech"] },
  { name: "transcribe models transcribe speech", types: ["transcribe"], capabilities: ["speech-to-text"] },
  { name: "anything else (video, unknown types) is not offered", capabilities: [] }
]

/** The first rule that matches a model. */
export const ruleFor = (model: Pick<TogetherModelInfo, "id" | "type">): CategoryRule | undefined =>
  Rules.firstMatching(categoryRules, model.id, (rule) => rule.types === undefined || rule.types.includes(model.type))

/** The capabilities of a model under the rules. */
export const capabilitiesOf = (model: Pick<TogetherModelInfo, "id" | "type">): ReadonlyArray<MediaCapability> =>
  ruleFor(model)?.capabilities ?? []

/** Together model types the rules know, video included (declined: this provider runs no video). */
export const knownTypes: ReadonlyArray<string> = [...new Set([...categoryRules.flatMap((rule) => rule.types ?? []), "video"])]

/**
 * Whether no rule could judge a model: its type is none the rules know and no id rule matched.
 * Such models are shown to the AI categorizer (provider/Categorizer.ts).
 */
export const isUnplaced = (model: Pick<TogetherModelInfo, "id" | "type">): boolean =>
  !knownTypes.includes(model.type) && ruleFor(model) === categoryRules[categoryRules.length - 1]

/** The request field that carries an image model's input image; undefined when the model takes none. */
export const inputImageFieldOf = (modelId: string): InputImageField | undefined => ruleFor({ id: modelId, type: "image" })?.inputImage

const perMillion = 1_000_000

/** Whether a model costs nothing: priced, and input, output and base all zero. */
export const isFree = (model: TogetherModelInfo): boolean => {
  const p = model.pricing
  return p !== undefined && (p.input ?? 0) === 0 && (p.output ?? 0) === 0 && (p.base ?? 0) === 0
}

/** The model's prices per unit (see the module comment); empty when free or unknown. */
export const pricesOf = (model: TogetherModelInfo): ReadonlyArray<Price> => {
  const p = model.pricing
  if (p === undefined || isFree(model)) return []
  switch (model.type) {
    case "chat":
    case "language":
    case "code":
    case "embedding":
    case "rerank":
    case "moderation":
      return [
        { usd: (p.input ?? 0) / perMillion, unit: "token", applies: "input" },
        { usd: (p.output ?? 0) / perMillion, unit: "token", applies: "output" }
      ]
    case "image":
      return (p.base ?? 0) > 0 ? [{ usd: p.base ?? 0, unit: "megapixel", applies: "output" }] : []
    case "audio":
      return (p.input ?? 0) > 0 ? [{ usd: (p.input ?? 0) / perMillion, unit: "character", applies: "input" }] : []
    default:
      return []
  }
}

/** A `/models` entry as a `ProviderModel` of provider `provider`. */
export const toProviderModel = (provider: string, model: TogetherModelInfo): ProviderModel =>
  Rules.providerModel(provider, {
    id: model.id,
    name: model.display_name ?? model.id,
    capabilities: capabilitiesOf(model),
    pricing: pricesOf(model),
    free: isFree(model),
    contextLength: model.context_length,
    description: `${model.type} model${model.organization !== undefined ? ` by ${model.organization}` : ""}`
  })
