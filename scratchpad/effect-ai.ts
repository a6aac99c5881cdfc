/**
 * An Effect AI program on automarket: `@effect/ai`'s `LanguageModel.generateText`, then
 * `LanguageModel.streamText`, served by whichever text provider the registry routes to (Together,
 * OpenRouter), with its fallback; the answer's finish part says who served and what was tried.
 * The providers are configured from the environment: `TOGETHER_API_KEY` and/or
 * `OPENROUTER_API_KEY` (with `TOGETHER_BASE_URL` / `OPENROUTER_BASE_URL` for a proxy or emulator).
 *
 *   OPENROUTER_API_KEY=sk-or-... node --import tsx scratchpad/effect-ai.ts "What is an ExecutionPlan?"
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { LanguageModel as AutomarketModel } from "../src/ai/index.js"
import { AutoMarket, OpenRouter, Together } from "../src/index.js"

const question = process.argv[2] ?? "What is an ExecutionPlan?"

const servedBy = (parts: ReadonlyArray<Response.AnyPart>): string => {
  const served = parts.find((part): part is Response.FinishPart => part.type === "finish")?.metadata.automarket
  if (served === undefined) return "nobody"
  const tried = (served.attempts ?? []).flatMap((attempt) => (attempt.error !== undefined ? [`${attempt.provider} (${attempt.error.tag})`] : []))
  return `${served.provider}/${served.model ?? "its default model"}${tried.length > 0 ? `, after ${tried.join(", ")}` : ""}`
}

const program = Effect.gen(function* () {
  const answer = yield* LanguageModel.generateText({
    prompt: [
      { role: "system", content: "Answer in one sentence." },
      { role: "user", content: question }
    ]
  })
  console.log(`answer: ${answer.text}`)
  console.log(`served by: ${servedBy(answer.content)}`)

  const parts: Array<Response.AnyPart> = []
  process.stdout.write("streamed: ")
  yield* LanguageModel.streamText({ prompt: question }).pipe(
    Stream.runForEach((part) =>
      Effect.sync(() => {
        parts.push(part)
        if (part.type === "text-delta") process.stdout.write(part.delta)
      })
    )
  )
  console.log(`\nstreamed by: ${servedBy(parts)}`)
})

// The registry of the two text providers, and @effect/ai's LanguageModel over it.
const model = AutomarketModel.layer({ maxTokens: 256 }).pipe(Layer.provide(AutoMarket.layerWith([Together.layer, OpenRouter.layer])))

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(model)))).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
