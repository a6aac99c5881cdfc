/**
 * audio-enhancement: denoise, loudness normalisation to -16 LUFS, conversion to mp3, using the
 * FFmpeg provider taken from the registry by id. Run: `npx tsx scratchpad/audio-enhancement.ts in.wav [out.mp3]`
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const input = path.resolve(process.argv[2] ?? "speech.wav")
const out = process.argv[3] ?? "enhanced.mp3"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const ffmpeg = Option.getOrThrow(yield* registry.get("ffmpeg"))
  const enhancer = yield* ffmpeg.audioEnhancer()
  const audio = new Asset.Audio({ source: Asset.fromFile(input), mimeType: "audio/wav" })
  const better = yield* enhancer.transform(audio, { denoise: true, loudnessLufs: -16, format: "mp3" })
  if (better.source._tag === "File") fs.copyFileSync(better.source.path, out)
  console.log(`${out}: ${better.mimeType}, ${better.duration?.toFixed(2)} s`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
