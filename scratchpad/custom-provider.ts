/**
 * A provider of your own, next to the built-in ones: build it with `Provider.make`, put it in
 * a registry, and let `generate` route to it with fallback. Run: `npx tsx scratchpad/custom-provider.ts`
 */
import * as Effect from "effect/Effect"
import { Asset, Errors, Provider, ProviderRegistry } from "../src/index.js"

// A provider whose account is out of credits: every call fails with QuotaExceeded.
const broke = Provider.make({
  id: "broke-cloud",
  name: "Broke Cloud",
  type: "remote",
  configured: true,
  discover: Effect.succeed([
    { id: "big-model", provider: "broke-cloud", name: "Big", capabilities: ["text-to-text"], pricing: [], free: true }
  ]),
  transforms: {
    "text-to-text": () => Effect.fail(new Errors.QuotaExceeded({ provider: "broke-cloud", detail: "out of credits" }))
  }
})

// A local provider that shouts: it always works.
const shouter = Provider.make({
  id: "shouter",
  name: "Shouter",
  type: "local",
  configured: true,
  discover: Effect.succeed([
    { id: "caps", provider: "shouter", name: "Caps", capabilities: ["text-to-text"], pricing: [], free: true }
  ]),
  transforms: {
    "text-to-text": (model, input) =>
      Effect.succeed(new Asset.Text({ text: input.text.toUpperCase(), origin: { provider: "shouter", model, costUsd: 0 } }))
  }
})

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.make([yield* broke, yield* shouter])
  const result = yield* registry.generateDetailed("text-to-text", Asset.text("hello from automarket"))
  for (const attempt of result.attempts) {
    console.log(`tried ${attempt.provider}/${attempt.model}: ${attempt.error === undefined ? "ok" : attempt.error.tag}`)
  }
  console.log(`answer: ${result.output.text}`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
