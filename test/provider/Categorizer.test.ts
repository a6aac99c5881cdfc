/**
 * The categorizer's decisions as pure functions: how an answer is read and validated (strict
 * JSON, known and runnable capabilities only, a confidence threshold), how answers are applied
 * to a discovery (never over a rule), and what asks again (a changed listing, the limit).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { ProviderModel } from "../../src/domain/Model.js"
import * as Categorizer from "../../src/provider/Categorizer.js"
import * as FalCategories from "../../src/providers/falai/models/Categories.js"
import * as OpenRouterCategories from "../../src/providers/openrouter/Categories.js"
import * as TogetherCategories from "../../src/providers/together/Categories.js"

const model = (id: string, capabilities: ProviderModel["capabilities"] = [], description?: string): ProviderModel => ({
  id,
  provider: "falai",
  name: id,
  capabilities,
  pricing: [],
  free: false,
  ...(description !== undefined ? { description } : {})
})
const unplaced = (id: string, description?: string): Categorizer.UnplacedModel => ({ model: model(id, [], description) })
const placement = (of: Categorizer.UnplacedModel, capabilities: Categorizer.Placement["capabilities"]): Categorizer.Placement => ({
  id: of.model.id,
  fingerprint: Categorizer.fingerprintOf(of),
  capabilities,
  confidence: 0.9
})
const allowed = ["text-to-image", "image-to-video"] as const

describe("readAnswer", () => {
  it("keeps the capabilities the provider runs", () => {
    expect(Categorizer.readAnswer('{"capabilities": ["text-to-image"], "confidence": 0.9}', allowed, 0.7)).toEqual(
      Either.right({ capabilities: ["text-to-image"], confidence: 0.9 })
    )
  })

  it("drops unknown capabilities and capabilities the provider cannot run", () => {
    const read = Categorizer.readAnswer('{"capabilities": ["text-to-3d", "text-to-text", "image-to-video"], "confidence": 0.95}', allowed, 0.7)
    expect(read).toEqual(Either.right({ capabilities: ["image-to-video"], confidence: 0.95 }))
  })

  it("places nothing under the confidence threshold (the answer is still an answer)", () => {
    expect(Categorizer.readAnswer('{"capabilities": ["text-to-image"], "confidence": 0.69}', allowed, 0.7)).toEqual(
      Either.right({ capabilities: [], confidence: 0.69 })
    )
  })

  it("refuses what is not the JSON asked for", () => {
    for (const text of ["It makes images.", '{"capabilities": "text-to-image", "confidence": 0.9}', '{"capabilities": []}', '{"capabilities": [], "confidence": 2}', ""]) {
      expect(Either.isLeft(Categorizer.readAnswer(text, allowed, 0.7)), text).toBe(true)
    }
  })

  it("takes a JSON code fence off, nothing else", () => {
    expect(Either.isRight(Categorizer.readAnswer('```json\n{"capabilities": ["text-to-image"], "confidence": 0.8}\n```', allowed, 0.7))).toBe(true)
    expect(Either.isLeft(Categorizer.readAnswer('Sure! {"capabilities": ["text-to-image"], "confidence": 0.8}', allowed, 0.7))).toBe(true)
  })
})

describe("applyPlacements", () => {
  it("never changes a model a rule placed, whatever the answer", () => {
    const ruled = model("fal-ai/emu/listed-video", ["text-to-video"])
    const candidate: Categorizer.UnplacedModel = { model: model("fal-ai/emu/listed-video") }
    const models = [ruled]
    const applied = Categorizer.applyPlacements(models, [candidate], [placement(candidate, ["text-to-image"])])
    expect(applied).toBe(models)
    expect(applied[0]).toEqual(ruled)
  })

  it("gives an unplaced model its answer, marked ai: replacing its capability-less entry or added", () => {
    const listed = unplaced("openrouter/mystery")
    const dropped = unplaced("fal-ai/emu/mystery")
    const applied = Categorizer.applyPlacements(
      [model("a", ["text-to-text"]), listed.model],
      [listed, dropped],
      [placement(listed, ["text-to-text"]), placement(dropped, ["text-to-image"])]
    )
    expect(applied.map((m) => [m.id, m.capabilities, m.categorizedBy])).toEqual([
      ["a", ["text-to-text"], undefined],
      ["openrouter/mystery", ["text-to-text"], "ai"],
      ["fal-ai/emu/mystery", ["text-to-image"], "ai"]
    ])
  })

  it("an answer for another listing of the model, or one that placed nothing, changes nothing", () => {
    const before = unplaced("fal-ai/emu/mystery", "Paints pictures.")
    const after = unplaced("fal-ai/emu/mystery", "Now it sings.")
    const models = [model("a", ["text-to-image"])]
    expect(Categorizer.applyPlacements(models, [after], [placement(before, ["text-to-image"])])).toBe(models)
    expect(Categorizer.applyPlacements(models, [before], [placement(before, [])])).toBe(models)
  })
})

describe("what is asked", () => {
  it("a changed description is asked about again; an unchanged one is not", () => {
    const before = unplaced("fal-ai/emu/mystery", "Paints pictures.")
    const after = unplaced("fal-ai/emu/mystery", "Now it sings.")
    expect(Categorizer.fingerprintOf(before)).not.toBe(Categorizer.fingerprintOf(after))
    expect(Categorizer.unanswered([before], [placement(before, [])], 50)).toEqual([])
    expect(Categorizer.unanswered([after], [placement(before, [])], 50)).toEqual([after])
  })

  it("at most `limit` models a discovery", () => {
    const many = ["a", "b", "c"].map((id) => unplaced(id))
    expect(Categorizer.unanswered(many, [], 2).map((m) => m.model.id)).toEqual(["a", "b"])
  })

  it("the question names the model, its description and input fields, and the capabilities to choose from", () => {
    const prompt = Categorizer.promptOf(unplaced("fal-ai/emu/mystery", "Paints pictures."), allowed, ["prompt", "image_size"])
    expect(prompt).toContain("Model id: fal-ai/emu/mystery")
    expect(prompt).toContain("Description: Paints pictures.")
    expect(prompt).toContain("Input fields: prompt, image_size")
    expect(prompt).toContain("Capabilities to choose from: text-to-image, image-to-video")
  })
})

describe("which listed models are unplaced", () => {
  it("OpenRouter: a model that names no modalities; not one the rules judged (declined or placed)", () => {
    expect(OpenRouterCategories.isUnplaced({ id: "emu/mystery" })).toBe(true)
    expect(OpenRouterCategories.isUnplaced({ id: "emu/embed", architecture: { input_modalities: ["text"], output_modalities: ["embeddings"] } })).toBe(false)
    expect(OpenRouterCategories.isUnplaced({ id: "emu/chat", architecture: { modality: "text->text" } })).toBe(false)
    expect(OpenRouterCategories.isUnplaced({ id: "meta-llama/llama-guard-4-12b" })).toBe(false)
  })

  it("fal: a model in no category the rules know; not one a rule placed, declined or refused", () => {
    const listed = (endpoint_id: string, category: string | null) => ({ endpoint_id, metadata: { category, display_name: endpoint_id } })
    const unplaced = FalCategories.unplacedModels([
      listed("fal-ai/emu/mystery", null),
      listed("fal-ai/emu/misc", "misc"),
      listed("fal-ai/emu/painter", "text-to-image"),
      listed("fal-ai/emu/trainer", "training"),
      listed("fal-ai/minimax/voice-clone", "text-to-speech"),
      listed("fal-ai/emu/by-id/text-to-video", null)
    ])
    expect(unplaced.map((u) => [u.model.id, u.model.capabilities])).toEqual([
      ["fal-ai/emu/mystery", []],
      ["fal-ai/emu/misc", []]
    ])
  })

  it("Together: a model of a type the rules do not know; not a video, embedding or chat model", () => {
    expect(TogetherCategories.isUnplaced({ id: "emu/mystery", type: "multimodal" })).toBe(true)
    for (const type of ["video", "embedding", "chat", "image"]) expect(TogetherCategories.isUnplaced({ id: "emu/x", type }), type).toBe(false)
    expect(TogetherCategories.isUnplaced({ id: "emu/llama-guard-3", type: "multimodal" })).toBe(false)
  })
})

describe("place", () => {
  const request: Categorizer.PlaceRequest = { provider: "falai", allowed }
  const five = ["a", "b", "c", "d", "e"].map((id) => unplaced(id))
  const yes = '{"capabilities": ["text-to-image"], "confidence": 0.9}'

  it.effect("asks nothing until a route is bound, nor when no text provider can take work", () =>
    Effect.gen(function* () {
      const categorizer = yield* Categorizer.make(Categorizer.defaultSettings)
      let asks = 0
      expect(yield* categorizer.place(request, five)).toEqual(Option.none())
      yield* categorizer.bind({ ready: Effect.succeed(false), ask: () => Effect.sync(() => (asks++, yes)) })
      expect(yield* categorizer.place(request, five)).toEqual(Option.none())
      expect(asks).toBe(0)
    }))

  it.effect("asks `concurrency` at a time, and keeps the valid answers", () =>
    Effect.gen(function* () {
      const categorizer = yield* Categorizer.make({ ...Categorizer.defaultSettings, concurrency: 2 })
      let running = 0
      let most = 0
      yield* categorizer.bind({
        ready: Effect.succeed(true),
        ask: (prompt) =>
          Effect.gen(function* () {
            running++
            most = Math.max(most, running)
            for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
            running--
            return prompt.includes("Model id: c\n") ? "no" : yes
          })
      })
      const placed = yield* categorizer.place(request, five)
      expect(most).toBe(2)
      expect(Option.map(placed, (list) => list.map((p) => [p.id, p.capabilities]))).toEqual(
        Option.some([["a", ["text-to-image"]], ["b", ["text-to-image"]], ["d", ["text-to-image"]], ["e", ["text-to-image"]]])
      )
    }))
})
