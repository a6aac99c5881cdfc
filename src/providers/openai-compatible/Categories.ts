/**
 * What categorizing an OpenAI-style API's `/models` has in common across the APIs: an ordered
 * table of rules where the first match wins (a rule may ask for an id pattern, plus conditions
 * of the API's own: Together's model `type`, OpenRouter's modalities), the `ProviderModel` an
 * entry becomes once its capabilities and prices are known, and the cost of a text generation
 * from its token usage and the discovered per-token prices.
 *
 * The rule tables themselves, and how each API states its prices, stay with each provider
 * (`together/Categories.ts`, `openrouter/Categories.ts`).
 *
 * @module
 */
import type { MediaCapability } from "../../domain/Capability.js"
import type { Price, ProviderModel } from "../../domain/Model.js"

/** One categorization rule: every given condition must hold; the first matching rule decides. */
export interface CategoryRule {
  /** Why the rule exists (shown in test names). */
  readonly name: string
  /** The model id must match. */
  readonly idPattern?: RegExp
  readonly capabilities: ReadonlyArray<MediaCapability>
}

/** The first rule whose id pattern (when it has one) matches `id` and whose own conditions `holds`. */
export const firstMatching = <Rule extends CategoryRule>(
  rules: ReadonlyArray<Rule>,
  id: string,
  holds: (rule: Rule) => boolean
): Rule | undefined => rules.find((rule) => (rule.idPattern === undefined || rule.idPattern.test(id)) && holds(rule))

/** What is known of a listed model once it is categorized and priced. */
export interface ModelFacts {
  readonly id: string
  readonly name: string
  readonly capabilities: ReadonlyArray<MediaCapability>
  readonly pricing: ReadonlyArray<Price>
  readonly free: boolean
  readonly contextLength?: number | null | undefined
  readonly maxOutputTokens?: number | null | undefined
  readonly description?: string | undefined
}

/** The `ProviderModel` of provider `provider`; a limit is kept only when the API states a positive one. */
export const providerModel = (provider: string, facts: ModelFacts): ProviderModel => {
  const contextLength = facts.contextLength ?? undefined
  const maxOutputTokens = facts.maxOutputTokens ?? undefined
  const limits = {
    ...(contextLength !== undefined && contextLength > 0 ? { contextLength } : {}),
    ...(maxOutputTokens !== undefined && maxOutputTokens > 0 ? { maxOutputTokens } : {})
  }
  return {
    id: facts.id,
    provider,
    name: facts.name,
    capabilities: facts.capabilities,
    pricing: facts.pricing,
    free: facts.free,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(facts.description !== undefined ? { description: facts.description } : {})
  }
}

/** The cost of a text generation in USD from its token counts, when the model is priced (0 when free). */
export const textCost = (
  model: ProviderModel | undefined,
  usage: { readonly prompt_tokens: number; readonly completion_tokens: number } | undefined
): number | undefined => {
  if (model === undefined || usage === undefined) return undefined
  if (model.free) return 0
  const input = model.pricing.find((price) => price.unit === "token" && price.applies === "input")
  const output = model.pricing.find((price) => price.unit === "token" && price.applies === "output")
  if (input === undefined || output === undefined) return undefined
  return usage.prompt_tokens * input.usd + usage.completion_tokens * output.usd
}
