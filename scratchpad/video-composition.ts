/**
 * video-composition: two clips side by side with a text overlay, from a typed `Composition`.
 * Run: `npx tsx scratchpad/video-composition.ts left.mp4 right.mp4 [out.mp4]`
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { AutoMarket, Composition, ProviderRegistry } from "../src/index.js"

const [left = "left.mp4", right = "right.mp4", out = "side-by-side.mp4"] = process.argv.slice(2)

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  // Decoding fills in the defaults (output codec, fps ...) and checks the spec.
  const spec = yield* Schema.decodeUnknown(Composition.Composition)({
    clips: [{ src: path.resolve(left) }, { src: path.resolve(right) }],
    layout: { _tag: "side-by-side" },
    overlays: [{ _tag: "text", text: "before | after", fontSize: 24, color: "white", box: "black", position: { anchor: "top", margin: 10 } }],
    output: { width: 640, height: 180, fps: 25 }
  })
  const video = yield* registry.generate("video-composition", spec)
  if (video.source._tag === "File") fs.copyFileSync(video.source.path, out)
  console.log(`${out}: ${video.width}x${video.height}, ${video.duration?.toFixed(2)} s`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
