/**
 * The main job: a script becomes a narrated, subtitled video, every step through the
 * `ProviderRegistry` so a failing remote provider falls back to a local one.
 *
 * For each scene: narration (text-to-speech) and a picture (text-to-image: a remote provider
 * first when one is configured, else a slide rendered locally from the scene's text). Then a
 * music bed (text-to-audio, local), the composition (slides timed to their narration, with
 * transitions, narration over the ducked music), a transcript of the result (speech-to-text), and
 * the subtitles burned in and written as .srt beside the video. The subtitles say the script's
 * own words: the transcript only times them (`media/Align.ts`), each scene's words within that
 * scene's narration, so a recogniser's wrong guesses never reach the screen. The video is
 * written to a temporary name and renamed into place only when complete.
 *
 * The pipeline is written once, over a `StepRunner`: each step keeps its output as a file of the
 * runner's folder and gives a small `StepRecord` of it (the file, who made it, what it cost),
 * never the bytes. `run` runs the steps directly in a temporary folder removed at the end;
 * `DemoWorkflow` runs each as a journaled activity in the run's folder of the state folder, so
 * that a demo killed mid-way continues from its last finished step.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Audio, type Image, FileSource, text, TextSegment, type Video } from "../../domain/Asset.js"
import type { MediaCapability } from "../../domain/Capability.js"
import * as Composition from "../../domain/Composition.js"
import { GenerationFailed, InvalidInput, MediaError } from "../../domain/Errors.js"
import type { InputOf } from "../../domain/MediaProvider.js"
import { alignedCues, alignSpans, type Span, wordsOfSegments } from "../../media/Align.js"
import { renderSrt } from "../../media/Subtitles.js"
import { type GenerateOptions, type Generation, ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { extensionOf, saveDownloading } from "../AssetFiles.js"
import { WriteFailed } from "../Errors.js"
import { attempt, copyFile, writeFile } from "../Output.js"
import type { Progress } from "../Progress.js"
import type { Script } from "./Script.js"

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

/** The options that change the output, defaults applied: another value is another video. */
export interface DemoSettings {
  /** The video to write, an absolute path. */
  readonly out: string
  readonly width: number
  readonly height: number
  readonly pause: number
  readonly transition: number
}

/** The settings of `options`, with the defaults (1280x720, a 0.6 s pause, 0.5 s cross-fades). */
export const settingsOf = (options: Pick<DemoOptions, "out" | "width" | "height" | "pause" | "transition">): DemoSettings => ({
  out: path.resolve(options.out),
  width: options.width ?? 1280,
  height: options.height ?? 720,
  pause: options.pause ?? 0.6,
  transition: options.transition ?? 0.5
})

/** One line of the summary. */
export const SummaryLine = Schema.Struct({
  step: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  costUsd: Schema.Number,
  /** Providers tried before, with why they failed. */
  fellBackFrom: Schema.Array(Schema.String)
})
/** One line of the summary. */
export type SummaryLine = typeof SummaryLine.Type

/** When a scene's narration is heard in the video, in seconds. */
export const NarrationWindow = Schema.Struct({
  start: Schema.Number,
  end: Schema.Number
})
/** When a scene's narration is heard in the video. */
export type NarrationWindow = typeof NarrationWindow.Type

/** What the demo made and who made it. */
export const DemoSummary = Schema.Struct({
  video: Schema.String,
  srt: Schema.String,
  duration: Schema.Number,
  lines: Schema.Array(SummaryLine),
  totalCostUsd: Schema.Number,
  /** Each scene's narration window, in the order of the scenes (absent in summaries journaled before it was kept). */
  narration: Schema.optional(Schema.Array(NarrationWindow))
})
/** What the demo made and who made it. */
export type DemoSummary = typeof DemoSummary.Type

/** What a finished step keeps: its output file in the runner's folder and who made it (no bytes). */
export const StepRecord = Schema.Struct({
  /** The step's output: a file of the runner's folder. */
  file: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  costUsd: Schema.Number,
  /** Providers tried before, with why they failed. */
  fellBackFrom: Schema.Array(Schema.String),
  /** Seconds, for a narration (its scene is timed by it). */
  duration: Schema.optional(Schema.Number)
})
/** What a finished step keeps. */
export type StepRecord = typeof StepRecord.Type

/** Why a step failed: a provider's error, or a file of the run that could not be written. */
export const StepError = Schema.Union(MediaError, WriteFailed)
/** Why a step failed. */
export type StepError = typeof StepError.Type

/** How the pipeline runs its steps and where they keep their files; `Needs`: what running them takes (a workflow's engine). */
export interface StepRunner<Needs = never> {
  /** The folder the steps keep their output files in. */
  readonly dir: string
  /** Run step `id`, whose `work` makes its output file and record: directly, or as a journaled activity. */
  readonly run: <R>(id: string, work: Effect.Effect<StepRecord, StepError, R>) => Effect.Effect<StepRecord, StepError, R | Needs>
}

/** The steps of a script as the progress display lists them (their ids are the steps' names). */
export const planOf = (script: Script): ReadonlyArray<{ readonly id: string; readonly label: string }> => [
  ...script.scenes.flatMap((scene, i) => [
    { id: `narrate-${i}`, label: `narrate scene ${i + 1} "${scene.title}"` },
    { id: `picture-${i}`, label: `picture for scene ${i + 1}` }
  ]),
  { id: "music", label: "music bed" },
  { id: "compose", label: "compose the video" },
  { id: "transcribe", label: "transcribe the result" },
  { id: "subtitles", label: "burn in the subtitles" }
]

/** The .srt written beside `video`. */
export const srtPathOf = (video: string): string => video.replace(/\.[^./]+$/, "") + ".srt"

const recordOf = <C extends MediaCapability>(generation: Generation<C>, file: string): StepRecord => {
  const output: { readonly origin?: { readonly costUsd?: number | undefined } | undefined } = generation.output
  return {
    file,
    provider: generation.provider,
    model: generation.model,
    costUsd: output.origin?.costUsd ?? 0,
    fellBackFrom: generation.attempts.flatMap((a) => (a.error === undefined ? [] : [`${a.provider} (${a.error.tag})`]))
  }
}

const summarize = (step: string, record: StepRecord): SummaryLine => ({
  step,
  provider: record.provider,
  model: record.model,
  costUsd: record.costUsd,
  fellBackFrom: record.fellBackFrom
})

/**
 * Keep an asset as `<dir>/<name>.<ext>`: a file the provider made is moved there (it is the
 * run's), bytes are written, a URL is downloaded; complete files only. Gives the path.
 */
export const keepAsset = (
  dir: string,
  name: string,
  asset: Audio | Image | Video
): Effect.Effect<string, MediaError | WriteFailed, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const target = path.join(dir, `${name}.${extensionOf(asset.mimeType)}`)
    yield* attempt(target, () => fs.mkdirSync(dir, { recursive: true, mode: 0o700 }))
    const source = asset.source
    if (source._tag === "File") {
      const moved = yield* Effect.sync(() => {
        try {
          fs.renameSync(source.path, target)
          return true
        } catch {
          // Another file system (or not ours to move): copied below.
          return false
        }
      })
      if (moved) return target
      yield* saveDownloading(asset, target)
      yield* Effect.sync(() => fs.rmSync(source.path, { force: true }))
      return target
    }
    return yield* saveDownloading(asset, target)
  })

const TranscriptFile = Schema.parseJson(Schema.Array(TextSegment))

/** The timed segments a transcript step kept. */
export const readTranscript = (file: string): Effect.Effect<ReadonlyArray<TextSegment>, GenerationFailed> =>
  Effect.try({ try: () => fs.readFileSync(file, "utf8"), catch: (error) => error }).pipe(
    Effect.flatMap(Schema.decodeUnknown(TranscriptFile)),
    Effect.mapError((error) => new GenerationFailed({ provider: "demo", detail: `the transcript ${file} cannot be read: ${String(error)}` }))
  )

/**
 * The pipeline over `runner`: every step through the registry, its output kept in the runner's
 * folder, then the video copied to `settings.out` and the .srt beside it (each whole or not at
 * all). What is decided between steps depends only on the steps' records, so a journaled run
 * decides the same again when it resumes.
 */
export const pipeline = <Needs = never>(
  script: Script,
  settings: DemoSettings,
  progress: Progress,
  runner: StepRunner<Needs>
): Effect.Effect<DemoSummary, StepError, ProviderRegistry | HttpClient.HttpClient | Needs> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const { height, out, pause, transition, width } = settings
    const scenes = script.scenes
    const dir = runner.dir
    const srtPath = srtPathOf(out)

    // Remote image providers first (a configured key is the user asking for them), the local slide last.
    const imageOrder = (yield* registry.candidates("text-to-image")).map((c) => c.provider)
    const imageProviders = [...imageOrder.filter((p) => p.type === "remote"), ...imageOrder.filter((p) => p.type === "local")].map((p) => p.id)

    // A generation shown as step `id` on the display, then `keep` makes the step's record of it.
    const generate = <C extends MediaCapability, R>(
      id: string,
      capability: C,
      input: InputOf<C>,
      generateOptions: GenerateOptions<C>,
      keep: (generation: Generation<C>) => Effect.Effect<StepRecord, StepError, R>
    ) =>
      Effect.flatMap(
        progress.step(id, registry.generateDetailed(capability, input, generateOptions), (g) => ({
          provider: g.provider,
          ...(g.attempts.length > 1 ? { note: `after ${g.attempts.filter((a) => a.error !== undefined).map((a) => `${a.provider}: ${a.error?.tag}`).join(", ")}` } : {})
        })),
        keep
      )

    const keepMedia = (name: string) => <C extends MediaCapability>(generation: Generation<C> & { readonly output: Audio | Image | Video }) =>
      Effect.map(keepAsset(dir, name, generation.output), (file) => recordOf(generation, file))

    const made = yield* Effect.forEach(
      scenes,
      (scene, i) =>
        Effect.all(
          {
            narration: runner.run(
              `narrate-${i}`,
              generate(`narrate-${i}`, "text-to-speech", text(scene.narration), { options: { format: "wav" } }, (g) => {
                const duration = g.output.duration
                return duration !== undefined && duration > 0
                  ? Effect.map(keepMedia(`narration-${i}`)(g), (record) => ({ ...record, duration }))
                  : Effect.fail(new GenerationFailed({ provider: g.provider, detail: `narration of scene ${i + 1} has no known duration` }))
              })
            ),
            picture: runner.run(
              `picture-${i}`,
              generate(
                `picture-${i}`,
                "text-to-image",
                text(scene.prompt),
                { providers: imageProviders, options: { width, height, extra: { slide: { title: scene.title, body: scene.narration } } } },
                keepMedia(`picture-${i}`)
              )
            )
          },
          { concurrency: 2 }
        ),
      { concurrency: 2 }
    )

    // Scene i is on screen for its narration plus a pause; cross-fades overlap the next scene, so
    // each clip but the last is longer by the transition and the total is the narration timeline.
    const slots = made.map(({ narration }) => (narration.duration ?? 0) + pause)
    const total = slots.reduce((a, b) => a + b, 0)
    const starts = slots.map((_, i) => Number(slots.slice(0, i).reduce((a, b) => a + b, 0).toFixed(3)))
    // Each voice track starts at its scene's start: its narration is heard from there for its duration.
    const windows: ReadonlyArray<NarrationWindow> = made.map(({ narration }, i) => ({
      start: starts[i]!,
      end: Number(Math.min(total, starts[i]! + (narration.duration ?? 0)).toFixed(3))
    }))
    const spans: ReadonlyArray<Span> = scenes.map((scene, i) => ({ ...windows[i]!, text: scene.narration }))
    // The script's words, timed by the transcript's words: one cue never holds two scenes.
    const subtitlesOf = (file: string) =>
      Effect.map(readTranscript(file), (segments) => alignedCues(alignSpans(spans, wordsOfSegments(segments))))

    const music = yield* runner.run(
      "music",
      generate("music", "text-to-audio", text("calm ambient pad"), { preferLocal: true, options: { durationSeconds: Math.ceil(total) + 1 } }, keepMedia("music"))
    )

    const clips = made.map(({ picture }, i) => ({
      src: picture.file,
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
          ...made.map(({ narration }, i) => ({ src: narration.file, start: starts[i]!, role: "voice" as const })),
          { src: music.file, volume: 0.25, role: "bed" as const }
        ]
      },
      output: { width, height, fps: 25 }
    }
    const composed = yield* runner.run(
      "compose",
      Effect.flatMap(Composition.decode(spec, "demo", "demo composition"), (composition) =>
        generate("compose", "video-composition", composition, {}, keepMedia("composed"))
      )
    )

    const transcript = yield* runner.run(
      "transcribe",
      generate(
        "transcribe",
        "speech-to-text",
        new Audio({ source: new FileSource({ path: composed.file }), mimeType: "video/mp4" }),
        // Word times where the recogniser gives them; segments alone are shared out over their words.
        { options: { language: "en", extra: { word_timestamps: true } } },
        (g) => {
          const file = path.join(dir, "transcript.json")
          return Effect.as(writeFile(file, JSON.stringify(g.output.segments ?? [])), recordOf(g, file))
        }
      )
    )

    const subtitled = yield* runner.run(
      "subtitles",
      Effect.gen(function* () {
        const list = yield* subtitlesOf(transcript.file)
        const composition = yield* Composition.decode(
          {
            clips: [{ src: composed.file }],
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
        )
        return yield* generate("subtitles", "video-composition", composition, {}, keepMedia("subtitled"))
      })
    )

    // Only complete files take the final names.
    yield* copyFile(out, subtitled.file)
    yield* writeFile(srtPath, renderSrt(yield* subtitlesOf(transcript.file)))

    const lines: Array<SummaryLine> = [
      ...made.flatMap(({ narration, picture }, i) => [summarize(`narration ${i + 1}`, narration), summarize(`picture ${i + 1}`, picture)]),
      summarize("music", music),
      summarize("composition", composed),
      summarize("transcript", transcript),
      summarize("subtitles", subtitled)
    ]
    return {
      video: out,
      srt: srtPath,
      duration: total,
      lines,
      totalCostUsd: lines.reduce((sum, l) => sum + l.costUsd, 0),
      narration: windows
    }
  })

/** A folder of this process's for the steps' files, removed with everything in it when the scope closes. */
const scratchFolder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "automarket-demo-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Run the demo in this process, its steps run directly (nothing journaled, nothing resumed). */
export const run = (options: DemoOptions): Effect.Effect<DemoSummary, StepError, ProviderRegistry | HttpClient.HttpClient> =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* scratchFolder
      yield* options.progress.plan(planOf(options.script))
      return yield* pipeline(options.script, settingsOf(options), options.progress, { dir, run: (_id, work) => work })
    })
  )
