/**
 * Text-to-speech and speech-to-text on the local engines (no key, no Docker): the registry
 * starts the TTS and STT services on first use and stops them when the program ends.
 * Run: `npx tsx scratchpad/speak-and-transcribe.ts`
 */
import * as Effect from "effect/Effect"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const speech = yield* registry.generate("text-to-speech", Asset.text("Good morning. The coffee is ready."), {
    options: { voice: "slt", format: "wav" }
  })
  console.log(`speech: ${speech.mimeType}, ${speech.duration?.toFixed(2)} s, by ${speech.origin?.provider}`)
  const transcript = yield* registry.generate("speech-to-text", speech)
  console.log(`transcript: ${transcript.text.trim()}`)
  console.log(`segments: ${transcript.segments?.length ?? 0}`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
