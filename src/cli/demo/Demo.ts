/**
 * The main job: a script becomes a narrated, subtitled video, every step through the
 * `ProviderRegistry` so a failing remote provider falls back to a local one.
 *
 * For each scene: narration (text-to-speech) and a picture (text-to-image: a remote provider
 * first when one is configured, else a slide rendered locally from the scene's text). Then a
 * music bed (text-to-audio, local), the composition (slides timed to their narration, with
 * transitions, narration over the ducked music), a transcript of the result (speech-to-text), and
 * the subtitles burned in and written as .srt beside the video. The video is written to a
 * temporary name and renamed into place only when complete.
 *
 * @module
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Audio, FileSource, type Image, text, type Video } from "../../domain/Asset.js"
import type { MediaCapability } from "../../domain/Capability.js"
import * as Composition from "../../domain/Composition.js"
import { GenerationFailed, InvalidInput, type MediaError } from "../../domain/Errors.js"
import type { InputOf } from "../../domain/MediaProvider.js"
import type { WriteFailed } from "../Errors.js"
import { copyFile, writeFile } from "../Output.js"
import type { Progress } from "../Progress.js"
import { type GenerateOptions, type Generation, ProviderRegistry } from "../../registry/ProviderRegistry.js"
import type { Script } from "./Script.js"
import { cues, renderSrt } from "../../media/Subtitles.js"

/** How the demo runs. */
export interface DemoOptions {
  readonly script: Script
  /** The video to write (an .srt is written beside it). */
  readonly out: string
  readonly progress: Progress
  readonly width?: number
  readonly height?: number
  /** Silence after each scene's narration, seconds. */
  readonly pause?: number
  /** Cross-fade between slides, seconds. */
  readonly transition?: number
}

/** One line of the summary. */
export interface SummaryLine {
  readonly step: string
  readonly provider: string
  readonly model: string
  readonly costUsd: number
  /** Providers tried before, with why they failed. */
  readonly fellBackFrom: ReadonlyArray<string>
}

/** What the demo made and who made it. */
export interface DemoSummary {
  readonly video: string
  readonly srt: string
  readonly duration: number
  readonly lines: ReadonlyArray<SummaryLine>
  readonly totalCostUsd: number
}

const originOf = (asset: { readonly origin?: { readonly costUsd?: number | undefined } | undefined }) => asset.origin?.costUsd ?? 0

const summarize = <C extends MediaCapability>(step: string, generation: Generation<C>): SummaryLine => ({
  step,
  provider: generation.provider,
  model: generation.model,
  costUsd: originOf(generation.output),
  fellBackFrom: generation.attempts.flatMap((a) => (a.error === undefined ? [] : [`${a.provider} (${a.error.tag})`]))
})

/** Intermediate files of one run: every asset the steps produced, removed when the run ends. */
const makeScratch = Effect.acquireRelease(
  Effect.sync(() => ({ dir: fs.mkdtempSync(path.join(os.tmpdir(), "automarket-demo-")), files: new Set<string>() })),
  (scratch) =>
    Effect.sync(() => {
      for (const file of scratch.files) fs.rmSync(file, { force: true })
      fs.rmSync(scratch.dir, { recursive: true, force: true })
    })
)

/** The local file of an asset (bytes are written to the scratch folder); remembered for removal. */
const fileOf = (
  scratch: { readonly dir: string; readonly files: Set<string> },
  asset: Audio | Image | Video,
  name: string
): Effect.Effect<string, MediaError> => {
  const source = asset.source
  switch (source._tag) {
    case "File":
      return Effect.sync(() => {
        scratch.files.add(source.path)
        return source.path
      })
    case "Bytes":
      return Effect.sync(() => {
        const file = path.join(scratch.dir, name)
        fs.writeFileSync(file, source.bytes)
        return file
      })
    case "Url":
      // The composer fetches URLs itself.
      return Effect.succeed(source.url)
  }
}

/** Run the demo. */
export const run = (options: DemoOptions): Effect.Effect<DemoSummary, MediaError | WriteFailed, ProviderRegistry> =>
  Effect.scoped(Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const scratch = yield* makeScratch
    const { progress, script } = options
    const width = options.width ?? 1280
    const height = options.height ?? 720
    const pause = options.pause ?? 0.6
    const transition = options.transition ?? 0.5
    const scenes = script.scenes
    const out = path.resolve(options.out)
    const srtPath = out.replace(/\.[^./]+$/, "") + ".srt"

    yield* progress.plan([
      ...scenes.flatMap((scene, i) => [
        { id: `narrate-${i}`, label: `narrate scene ${i + 1} "${scene.title}"` },
        { id: `picture-${i}`, label: `picture for scene ${i + 1}` }
      ]),
      { id: "music", label: "music bed" },
      { id: "compose", label: "compose the video" },
      { id: "transcribe", label: "transcribe the result" },
      { id: "subtitles", label: "burn in the subtitles" }
    ])

    // Remote image providers first (a configured key is the user asking for them), the local slide last.
    const imageOrder = (yield* registry.candidates("text-to-image")).map((c) => c.provider)
    const imageProviders = [...imageOrder.filter((p) => p.type === "remote"), ...imageOrder.filter((p) => p.type === "local")].map((p) => p.id)

    const step = <C extends MediaCapability>(
      id: string,
      capability: C,
      input: InputOf<C>,
      generateOptions: GenerateOptions<C>
    ) =>
      progress.step(id, registry.generateDetailed(capability, input, generateOptions), (g) => ({
        provider: g.provider,
        ...(g.attempts.length > 1 ? { note: `after ${g.attempts.filter((a) => a.error !== undefined).map((a) => `${a.provider}: ${a.error?.tag}`).join(", ")}` } : {})
      }))

    const made = yield* Effect.forEach(
      scenes,
      (scene, i) =>
        Effect.all(
          {
            narration: step(`narrate-${i}`, "text-to-speech", text(scene.narration), { options: { format: "wav" } }),
            picture: step(`picture-${i}`, "text-to-image", text(scene.prompt), {
              providers: imageProviders,
              options: { width, height, extra: { slide: { title: scene.title, body: scene.narration } } }
            })
          },
          { concurrency: 2 }
        ),
      { concurrency: 2 }
    )

    const durations = yield* Effect.forEach(made, ({ narration }, i) =>
      narration.output.duration !== undefined && narration.output.duration > 0
        ? Effect.succeed(narration.output.duration)
        : Effect.fail(new GenerationFailed({ provider: narration.provider, detail: `narration of scene ${i + 1} has no known duration` }))
    )
    // Scene i is on screen for its narration plus a pause; cross-fades overlap the next scene, so
    // each clip but the last is longer by the transition and the total is the narration timeline.
    const slots = durations.map((d) => d + pause)
    const total = slots.reduce((a, b) => a + b, 0)
    const starts = slots.map((_, i) => slots.slice(0, i).reduce((a, b) => a + b, 0))

    const music = yield* step("music", "text-to-audio", text("calm ambient pad"), {
      preferLocal: true,
      options: { durationSeconds: Math.ceil(total) + 1 }
    })

    const narrationFiles = yield* Effect.forEach(made, ({ narration }, i) => fileOf(scratch, narration.output, `narration-${i}.wav`))
    const pictureFiles = yield* Effect.forEach(made, ({ picture }, i) => fileOf(scratch, picture.output, `picture-${i}.png`))
    const musicFile = yield* fileOf(scratch, music.output, "music.wav")

    const clips = pictureFiles.map((src, i) => ({
      src,
      duration: Number((slots[i]! + (i < slots.length - 1 ? transition : 0)).toFixed(3))
    }))
    if (!Arr.isNonEmptyReadonlyArray(clips)) {
      return yield* new InvalidInput({ provider: "demo", detail: "the script has no scene", issues: ["scenes"] })
    }
    const spec: Composition.CompositionInput = {
      clips,
      layout: { _tag: "concat", transition: { kind: "fade", duration: transition } },
      audio: {
        mode: "duck",
        tracks: [
          ...narrationFiles.map((src, i) => ({ src, start: Number(starts[i]!.toFixed(3)), role: "voice" as const })),
          { src: musicFile, volume: 0.25, role: "bed" as const }
        ]
      },
      output: { width, height, fps: 25 }
    }
    const composition = yield* Composition.decode(spec, "demo", "demo composition")
    const composed = yield* step("compose", "video-composition", composition, {})
    const composedFile = yield* fileOf(scratch, composed.output, "composed.mp4")

    const transcript = yield* step(
      "transcribe",
      "speech-to-text",
      new Audio({ source: new FileSource({ path: composedFile }), mimeType: "video/mp4" }),
      { options: { language: "en" } }
    )
    const list = cues(transcript.output.segments ?? [])

    const subtitled = yield* step(
      "subtitles",
      "video-composition",
      yield* Composition.decode(
        {
        clips: [{ src: composedFile }],
        overlays: list.map((cue) => ({
          _tag: "text",
          text: cue.text,
          start: Number(cue.start.toFixed(3)),
          end: Number(cue.end.toFixed(3)),
          fontSize: Math.round(height / 20),
          color: "white",
          box: "black",
          position: { anchor: "bottom", margin: Math.round(height / 18) }
        })),
          audio: { mode: "keep" },
          output: { width, height, fps: 25 }
        },
        "demo",
        "subtitle overlay"
      ),
      {}
    )
    const finalFile = yield* fileOf(scratch, subtitled.output, "subtitled.mp4")

    // Only complete files take the final names.
    yield* copyFile(out, finalFile)
    yield* writeFile(srtPath, renderSrt(list))

    const lines: Array<SummaryLine> = [
      ...made.flatMap(({ narration, picture }, i) => [summarize(`narration ${i + 1}`, narration), summarize(`picture ${i + 1}`, picture)]),
      summarize("music", music),
      summarize("composition", composed),
      summarize("transcript", transcript),
      summarize("subtitles", subtitled)
    ]
    return { video: out, srt: srtPath, duration: total, lines, totalCostUsd: lines.reduce((sum, l) => sum + l.costUsd, 0) }
  }))
