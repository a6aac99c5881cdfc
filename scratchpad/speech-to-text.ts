/**
 * speech-to-text on the local engine (pocketsphinx behind our whisper-asr-compatible service):
 * a transcript with timed segments. Run: `npx tsx scratchpad/speech-to-text.ts speech.wav`
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const file = path.resolve(process.argv[2] ?? "speech.wav")

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const transcript = yield* registry.generate("speech-to-text", new Asset.Audio({ source: Asset.fromFile(file), mimeType: "audio/wav" }))
  console.log(`transcript: ${transcript.text.trim()}`)
  for (const segment of transcript.segments ?? []) {
    console.log(`${segment.start.toFixed(2)}-${segment.end.toFixed(2)} ${segment.text}`)
  }
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
