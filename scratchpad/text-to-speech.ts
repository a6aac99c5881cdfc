/**
 * text-to-speech on the local engine (flite behind our Chatterbox-compatible service, started
 * on first use and stopped at the end). Run: `npx tsx scratchpad/text-to-speech.ts [out.wav]`
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const out = process.argv[2] ?? "speech.wav"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const speech = yield* registry.generate("text-to-speech", Asset.text("The coffee is ready."), { options: { voice: "slt", format: "wav" } })
  if (speech.source._tag === "File") fs.copyFileSync(speech.source.path, out)
  console.log(`${out}: ${speech.mimeType}, ${speech.duration?.toFixed(2)} s, by ${speech.origin?.provider}/${speech.origin?.model}`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
