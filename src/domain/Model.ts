/**
 * What discovery says about a model: which provider serves it, which capabilities it
 * has, what it costs (normalised to US dollars per named unit) and its limits.
 *
 * @module
 */
import * as Schema from "effect/Schema"
import { MediaCapability } from "./Capability.js"

/** The unit a price is counted in. */
export const PriceUnit = Schema.Literal(
  "token",
  "character",
  "image",
  "megapixel",
  "second",
  "minute",
  "request",
  "step"
)
/** The unit a price is counted in. */
export type PriceUnit = typeof PriceUnit.Type

/** One price: `usd` US dollars for one `unit` of `applies` (input, output or each request). */
export const Price = Schema.Struct({
  usd: Schema.NonNegative,
  unit: PriceUnit,
  applies: Schema.Literal("input", "output", "request")
})
/** One price. */
export type Price = typeof Price.Type

/** Limits a caller must respect; each is absent when the provider does not say. */
export const ModelLimits = Schema.Struct({
  contextLength: Schema.optional(Schema.Number),
  maxOutputTokens: Schema.optional(Schema.Number),
  maxDurationSeconds: Schema.optional(Schema.Number),
  maxWidth: Schema.optional(Schema.Number),
  maxHeight: Schema.optional(Schema.Number)
})
/** Limits a caller must respect. */
export type ModelLimits = typeof ModelLimits.Type

/** A model as discovered from a provider. */
export const ProviderModel = Schema.Struct({
  /** The provider's own id of the model, e.g. `fal-ai/flux-pro`. */
  id: Schema.String,
  /** The id of the provider that serves it. */
  provider: Schema.String,
  name: Schema.String,
  capabilities: Schema.Array(MediaCapability),
  /** Prices; empty when unknown (and `free` false) or when free (and `free` true). */
  pricing: Schema.Array(Price),
  /** True when using the model costs nothing: a local engine or a zero-priced remote model. */
  free: Schema.Boolean,
  limits: Schema.optional(ModelLimits),
  description: Schema.optional(Schema.String),
  /**
   * How the model's capabilities were decided: `"ai"` when a text model placed it (no rule did,
   * see provider/Categorizer.ts); absent (or `"rule"`) when the provider's rules or curated table did.
   */
  categorizedBy: Schema.optional(Schema.Literal("rule", "ai"))
})
/** A model as discovered from a provider. */
export type ProviderModel = typeof ProviderModel.Type

/**
 * A comparable cost figure for routing: the largest per-unit price of the model, 0 when
 * free, `undefined` when the provider does not price it.
 */
export const unitCost = (model: ProviderModel): number | undefined => {
  if (model.free) return 0
  if (model.pricing.length === 0) return undefined
  return Math.max(...model.pricing.map((price) => price.usd))
}
