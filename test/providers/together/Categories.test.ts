import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { capabilitiesOf, inputImageFieldOf, pricesOf, ruleFor, toProviderModel } from "../../../src/providers/together/Categories.js"
import { TogetherModelList } from "../../../src/providers/together/TogetherClient.js"
import { togetherModelsFixture } from "../../emulators/together.js"

const models = Schema.decodeUnknownSync(TogetherModelList)(togetherModelsFixture)
const byId = new Map(models.map((m) => [m.id, toProviderModel("together", m)]))
const get = (id: string) => {
  const found = byId.get(id)
  if (found === undefined) throw new Error(`fixture has no ${id}`)
  return found
}

describe("Together categorization (rules as data, over a realistic /models payload)", () => {
  it("the fixture is realistic: 40+ models of every type", () => {
    expect(models.length).toBeGreaterThanOrEqual(40)
    const types = new Set(models.map((m) => m.type))
    for (const type of ["chat", "language", "code", "image", "audio", "transcribe", "embedding", "rerank", "moderation", "video"]) {
      expect(types.has(type), type).toBe(true)
    }
  })

  it("every model matches a rule", () => {
    for (const model of models) expect(ruleFor(model), model.id).toBeDefined()
  })

  it("no model is listed under a capability it cannot do", () => {
    const allowed: Record<string, ReadonlyArray<string>> = {
      chat: ["text-to-text"],
      language: ["text-to-text"],
      code: ["text-to-text"],
      image: ["text-to-image", "image-to-image"],
      audio: ["text-to-speech"],
      transcribe: ["speech-to-text"],
      embedding: [],
      rerank: [],
      moderation: [],
      video: []
    }
    for (const model of models) {
      for (const capability of capabilitiesOf(model)) expect(allowed[model.type] ?? [], `${model.id} (${model.type})`).toContain(capability)
    }
  })

  it("embedding, rerank, moderation and video models get no capability", () => {
    const none = models.filter((m) => ["embedding", "rerank", "moderation", "video"].includes(m.type))
    expect(none.length).toBeGreaterThanOrEqual(10)
    for (const model of none) expect(capabilitiesOf(model), model.id).toEqual([])
  })

  it("image-to-image only for the image models that take an input image, each with its request field", () => {
    const editors = models.filter((m) => capabilitiesOf(m).includes("image-to-image")).map((m) => m.id)
    expect(editors).toEqual(["black-forest-labs/FLUX.1-kontext-pro", "black-forest-labs/FLUX.2-pro"])
    expect(inputImageFieldOf("black-forest-labs/FLUX.1-kontext-pro")).toBe("image_url")
    expect(inputImageFieldOf("black-forest-labs/FLUX.1-kontext-max")).toBe("image_url")
    expect(inputImageFieldOf("black-forest-labs/FLUX.2-pro")).toBe("reference_images")
    for (const id of ["black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1.1-pro", "google/imagen-4.0-preview", "stabilityai/stable-diffusion-xl-base-1.0"]) {
      expect(inputImageFieldOf(id), id).toBeUndefined()
      expect(get(id).capabilities, id).toEqual(["text-to-image"])
    }
  })

  it("safety classifiers typed as chat get none; ordinary chat models do text", () => {
    expect(get("meta-llama/Llama-Guard-4-12B").capabilities).toEqual([])
    expect(get("meta-llama/Meta-Llama-Guard-3-8B").capabilities).toEqual([])
    expect(get("VirtueAI/VirtueGuard-Text-Lite").capabilities).toEqual([])
    expect(get("meta-llama/Llama-3.3-70B-Instruct-Turbo").capabilities).toEqual(["text-to-text"])
    expect(get("Qwen/Qwen2.5-VL-72B-Instruct").capabilities).toEqual(["text-to-text"])
    expect(get("Qwen/Qwen2.5-Coder-32B-Instruct").capabilities).toEqual(["text-to-text"])
    expect(get("black-forest-labs/FLUX.1-schnell").capabilities).toEqual(["text-to-image"])
    expect(get("cartesia/sonic").capabilities).toEqual(["text-to-speech"])
    expect(get("openai/whisper-large-v3").capabilities).toEqual(["speech-to-text"])
  })

  it("chat prices are per million tokens in the payload, per token in the model", () => {
    const llama = get("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
    expect(llama.free).toBe(false)
    expect(llama.pricing).toEqual([
      { usd: 0.27 / 1e6, unit: "token", applies: "input" },
      { usd: 0.85 / 1e6, unit: "token", applies: "output" }
    ])
    expect(llama.limits?.contextLength).toBe(1048576)
  })

  it("image models are priced per megapixel, speech per character, transcription unpriced", () => {
    expect(get("black-forest-labs/FLUX.1-schnell").pricing).toEqual([{ usd: 0.0027, unit: "megapixel", applies: "output" }])
    expect(get("cartesia/sonic").pricing).toEqual([{ usd: 65 / 1e6, unit: "character", applies: "input" }])
    expect(get("openai/whisper-large-v3")).toMatchObject({ pricing: [], free: false })
  })

  it("zero-priced models are free, and only they; a model without pricing is neither priced nor free", () => {
    const free = [...byId.values()].filter((m) => m.free).map((m) => m.id).sort()
    expect(free).toEqual(
      [
        "black-forest-labs/FLUX.1-schnell-Free",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-70B-free",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free"
      ].sort()
    )
    for (const model of byId.values()) if (model.free) expect(model.pricing).toEqual([])
    expect(get("togethercomputer/custom-no-pricing")).toMatchObject({ free: false, pricing: [] })
    expect(pricesOf({ id: "x", type: "chat" })).toEqual([])
  })

  it("reads the older {data: [...]} wrapping too", () => {
    expect(Schema.decodeUnknownSync(TogetherModelList)({ data: togetherModelsFixture.slice(0, 2) })).toHaveLength(2)
  })
})
