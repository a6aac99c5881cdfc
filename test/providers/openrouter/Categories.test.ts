import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { capabilitiesOf, isFree, modalitiesOf, ruleFor, toProviderModel } from "../../../src/providers/openrouter/Categories.js"
import { OpenRouterModelList } from "../../../src/providers/openrouter/OpenRouterClient.js"
import { openRouterModelsFixture } from "../../emulators/openrouter.js"

const models = Schema.decodeUnknownSync(OpenRouterModelList)(openRouterModelsFixture).data
const byId = new Map(models.map((m) => [m.id, toProviderModel("openrouter", m)]))
const get = (id: string) => {
  const found = byId.get(id)
  if (found === undefined) throw new Error(`fixture has no ${id}`)
  return found
}

describe("OpenRouter categorization (rules as data, over a realistic /models payload)", () => {
  it("the fixture is realistic: 40+ models, :free variants, multimodal in and out", () => {
    expect(models.length).toBeGreaterThanOrEqual(40)
    expect(models.filter((m) => m.id.endsWith(":free")).length).toBeGreaterThanOrEqual(8)
    expect(models.some((m) => m.architecture?.output_modalities?.includes("image"))).toBe(true)
    expect(models.some((m) => m.architecture?.output_modalities?.includes("embeddings"))).toBe(true)
  })

  it("every model matches a rule", () => {
    for (const model of models) expect(ruleFor(model), model.id).toBeDefined()
  })

  it("no model is listed under a capability it cannot do", () => {
    for (const model of models) {
      const { inputs, outputs } = modalitiesOf(model)
      for (const capability of capabilitiesOf(model)) {
        expect(inputs, model.id).toContain("text")
        expect(outputs, `${model.id} ${capability}`).toContain(capability === "text-to-image" ? "image" : capability.endsWith("-to-video") ? "video" : "text")
      }
    }
  })

  it("embedding, rerank, speech and transcription models get none; video models that read images animate them too", () => {
    for (const id of ["openai/text-embedding-3-small", "qwen/qwen3-embedding-8b", "cohere/rerank-v3.5", "openai/gpt-4o-mini-tts", "openai/whisper-1"]) {
      expect(get(id).capabilities, id).toEqual([])
    }
    expect(get("google/veo-3.1").capabilities).toEqual(["text-to-video", "image-to-video"])
  })

  it("image-output chat models generate images and text; guards get nothing", () => {
    expect(get("google/gemini-2.5-flash-image").capabilities).toEqual(["text-to-text", "text-to-image"])
    expect(get("openai/gpt-5-image").capabilities).toEqual(["text-to-text", "text-to-image"])
    expect(get("openai/gpt-4o").capabilities).toEqual(["text-to-text"])
    expect(get("meta-llama/llama-guard-4-12b").capabilities).toEqual([])
    expect(get("meta-llama/llama-guard-3-8b").capabilities).toEqual([])
  })

  it("prices are decimal strings per token; free = :free or all zero; -1 (auto router) is unpriced", () => {
    expect(get("openai/gpt-4o").pricing).toEqual([
      { usd: 0.0000025, unit: "token", applies: "input" },
      { usd: 0.00001, unit: "token", applies: "output" }
    ])
    expect(get("perplexity/sonar").pricing).toContainEqual({ usd: 0.005, unit: "request", applies: "request" })
    expect(get("openrouter/auto")).toMatchObject({ pricing: [], free: false })
    expect(get("meta-llama/llama-3.3-70b-instruct:free")).toMatchObject({ free: true, pricing: [] })
    expect(get("meta-llama/llama-3.3-70b-instruct").free).toBe(false)
    expect(get("google/veo-3.1").free).toBe(false)
    expect(isFree({ id: "x/y", pricing: { prompt: "0", completion: "0" } })).toBe(true)
    expect(isFree({ id: "x/y" })).toBe(false)
    const free = models.filter((m) => toProviderModel("openrouter", m).free)
    expect(free.every((m) => m.id.endsWith(":free"))).toBe(true)
  })

  it("reads limits from context_length and top_provider", () => {
    expect(get("openai/gpt-4o").limits).toEqual({ contextLength: 128000, maxOutputTokens: 16384 })
  })
})
