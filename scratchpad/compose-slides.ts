/**
 * Text-to-image (local slides), text-to-audio (a synthesized bed), video composition and audio
 * enhancement with the FFmpeg provider, picked directly from the registry by id.
 * Run: `npx tsx scratchpad/compose-slides.ts [out.mp4]`
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const out = process.argv[2] ?? "slides.mp4"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const ffmpeg = Option.getOrThrow(yield* registry.get("ffmpeg"))

  const slide = yield* ffmpeg.textToImage("ffmpeg-slide")
  const first = yield* slide.transform(Asset.text("Hello"), { width: 640, height: 360, extra: { slide: { title: "Hello", body: "A first slide" } } })
  const second = yield* slide.transform(Asset.text("Bye"), { width: 640, height: 360, extra: { slide: { title: "Bye", body: "A last slide" } } })

  const bed = yield* (yield* ffmpeg.textToAudio("ffmpeg-ambient")).transform(Asset.text("calm"), { durationSeconds: 5 })
  const louder = yield* (yield* ffmpeg.audioEnhancer()).transform(bed, { loudnessLufs: -16, format: "wav" })

  const path = (asset: Asset.Image | Asset.Audio) => (asset.source._tag === "File" ? asset.source.path : "")
  const video = yield* (yield* ffmpeg.videoComposer()).transform({
    clips: [
      { src: path(first), duration: 2.5 },
      { src: path(second), duration: 2.5 }
    ],
    layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
    overlays: [],
    audio: { mode: "replace", tracks: [{ src: path(louder) }] },
    output: { width: 640, height: 360, fps: 25, videoCodec: "h264", audioCodec: "aac", format: "mp4" }
  })
  if (video.source._tag === "File") fs.copyFileSync(video.source.path, out)
  console.log(`${out}: ${video.width}x${video.height}, ${video.duration?.toFixed(2)} s`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
