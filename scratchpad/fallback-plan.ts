/**
 * Fallback as a value: `Resilience.fallbackPlan` is an Effect `ExecutionPlan` over provider
 * layers whose `while` reads the error's tag, so it composes with any effect that needs a
 * `MediaProvider`. Run: `npx tsx scratchpad/fallback-plan.ts`
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Asset, Errors, MediaProvider, Provider, Resilience } from "../src/index.js"

const textProvider = (id: string, answer: (prompt: string) => Effect.Effect<string, Errors.MediaError>) =>
  Layer.effect(
    MediaProvider,
    Provider.make({
      id,
      name: id,
      type: "remote",
      configured: true,
      discover: Effect.succeed([]),
      defaultModels: { "text-to-text": `${id}-default` },
      transforms: {
        "text-to-text": (_, input) => Effect.map(answer(input.text), (text) => new Asset.Text({ text }))
      }
    })
  )

const limited = textProvider("limited", () =>
  Effect.fail(new Errors.RateLimited({ provider: "limited", detail: "HTTP 429: slow down" }))
)
const steady = textProvider("steady", (prompt) => Effect.succeed(`steady says: ${prompt}`))

const ask = (prompt: string) =>
  Effect.gen(function* () {
    const provider = yield* MediaProvider
    const model = yield* provider.textToText()
    return yield* model.transform(Asset.text(prompt))
  })

const program = Effect.gen(function* () {
  const answer = yield* ask("what is an ExecutionPlan?").pipe(
    Effect.withExecutionPlan(Resilience.fallbackPlan(limited, steady))
  )
  console.log(answer.text)

  // InvalidInput stops the plan: the second provider is not asked.
  const picky = textProvider("picky", () =>
    Effect.fail(new Errors.InvalidInput({ provider: "picky", detail: "prompt too long", issues: ["prompt"] }))
  )
  const stopped = yield* Effect.either(ask("x".repeat(10)).pipe(Effect.withExecutionPlan(Resilience.fallbackPlan(picky, steady))))
  console.log(stopped._tag === "Left" ? `stopped on ${stopped.left._tag}` : "unexpected success")
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
