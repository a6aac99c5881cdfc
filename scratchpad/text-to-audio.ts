/**
 * text-to-audio, local: a synthesized ambient bed (not AI music: the prompt picks a mood).
 * Run: `npx tsx scratchpad/text-to-audio.ts [out.wav]`
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const out = process.argv[2] ?? "bed.wav"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  // preferLocal: music beds are cheap to make here; a paid remote would only be asked if local failed.
  const bed = yield* registry.generate("text-to-audio", Asset.text("calm"), { preferLocal: true, options: { durationSeconds: 4 } })
  if (bed.source._tag === "File") fs.copyFileSync(bed.source.path, out)
  console.log(`${out}: ${bed.mimeType}, ${bed.duration?.toFixed(2)} s by ${bed.origin?.provider}/${bed.origin?.model}`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
