import { describe, expect, it } from "@effect/vitest"
import type { ProviderModel } from "../../../src/domain/Model.js"
import * as Rules from "../../../src/providers/openai-compatible/Categories.js"

interface SizedRule extends Rules.CategoryRule {
  readonly minSize?: number
}

const rules: ReadonlyArray<SizedRule> = [
  { name: "guards do nothing", idPattern: /guard/i, capabilities: [] },
  { name: "large models write text", minSize: 10, capabilities: ["text-to-text"] },
  { name: "the rest draw", capabilities: ["text-to-image"] }
]

const ruleOf = (id: string, size: number) => Rules.firstMatching(rules, id, (rule) => rule.minSize === undefined || size >= rule.minSize)

const priced: ProviderModel = {
  id: "m",
  provider: "p",
  name: "m",
  capabilities: ["text-to-text"],
  pricing: [
    { usd: 0.000001, unit: "token", applies: "input" },
    { usd: 0.000002, unit: "token", applies: "output" }
  ],
  free: false
}

describe("openai-compatible Categories", () => {
  it("the first rule whose id pattern and own condition both hold decides", () => {
    expect(ruleOf("acme/llama-guard", 70)?.name).toBe("guards do nothing")
    expect(ruleOf("acme/llama", 70)?.name).toBe("large models write text")
    expect(ruleOf("acme/llama", 1)?.name).toBe("the rest draw")
    expect(Rules.firstMatching(rules.slice(0, 2), "acme/tiny", () => false)).toBeUndefined()
  })

  it("builds a ProviderModel, keeping only the limits stated as positive and a description when given", () => {
    const base = { id: "a/b", name: "B", capabilities: ["text-to-text"] as const, pricing: [], free: true }
    expect(Rules.providerModel("p", { ...base, contextLength: 8192, maxOutputTokens: 0, description: "chat model" })).toEqual({
      id: "a/b",
      provider: "p",
      name: "B",
      capabilities: ["text-to-text"],
      pricing: [],
      free: true,
      limits: { contextLength: 8192 },
      description: "chat model"
    })
    const bare = Rules.providerModel("p", { ...base, contextLength: null, maxOutputTokens: null })
    expect(bare).not.toHaveProperty("limits")
    expect(bare).not.toHaveProperty("description")
    expect(Rules.providerModel("p", { ...base, maxOutputTokens: 4096 }).limits).toEqual({ maxOutputTokens: 4096 })
  })

  it("prices a generation from its tokens: 0 when free, unknown without a listing, usage or token prices", () => {
    const usage = { prompt_tokens: 100, completion_tokens: 50 }
    expect(Rules.textCost(priced, usage)).toBeCloseTo(0.0002, 10)
    expect(Rules.textCost({ ...priced, free: true, pricing: [] }, usage)).toBe(0)
    expect(Rules.textCost(undefined, usage)).toBeUndefined()
    expect(Rules.textCost(priced, undefined)).toBeUndefined()
    expect(Rules.textCost({ ...priced, pricing: [{ usd: 0.04, unit: "megapixel", applies: "output" }] }, usage)).toBeUndefined()
  })
})
