/**
 * Commands that do one capability through the registry: `speak`, `transcribe`, `compose`.
 * They use whichever provider the registry chooses (the local services by default).
 * `transcribe --align text` writes a known text timed by the transcript instead of the
 * recogniser's guesses (`media/Align.ts`).
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { Audio, FileSource, text, type TextSegment } from "../../domain/Asset.js"
import * as Composition from "../../domain/Composition.js"
import { align, alignedCues, wordsOfSegments } from "../../media/Align.js"
import { cues, renderSrt, renderTxt, renderVtt } from "../../media/Subtitles.js"
import { parseWavHeader } from "../../media/Wav.js"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { save, speechFormatOf } from "../AssetFiles.js"
import { InvalidSpec } from "../Errors.js"
import { readable } from "../InputFiles.js"
import { writeFile } from "../Output.js"
import { given, modelOption, providerOption } from "../ProviderChoice.js"
import { parse as parseScript, ScriptError } from "../demo/Script.js"

/** The media type of an input file by its extension, as the provider is told; octet-stream when unknown. */
const mimeOf = (file: string): string => {
  const ext = path.extname(file).toLowerCase()
  const known: Record<string, string> = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska"
  }
  return known[ext] ?? "application/octet-stream"
}

/** `automarket speak "text" --out a.wav`. */
export const speak = Command.make(
  "speak",
  {
    words: Args.text({ name: "text" }).pipe(Args.withDescription("What to say")),
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDefault("speech.wav")),
    voice: Options.text("voice").pipe(Options.withDescription("A voice of the provider (e.g. slt, rms, awb)"), Options.optional),
    provider: providerOption,
    model: modelOption
  },
  ({ model, out, provider, voice, words }) =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const format = speechFormatOf(out)
      const routed = yield* given<"text-to-speech">(provider, model)
      const result = yield* registry.generateDetailed("text-to-speech", text(words), {
        ...routed,
        options: { format, ...Option.match(voice, { onNone: () => ({}), onSome: (v) => ({ voice: v }) }) }
      })
      const written = yield* save(result.output, out)
      const seconds = result.output.duration !== undefined ? ` (${result.output.duration.toFixed(2)} s)` : ""
      yield* Console.log(`${written}${seconds} by ${result.provider}/${result.model}`)
    })
).pipe(Command.withDescription("Speak a text into an audio file"))

/** Seconds of sound of a WAV file, from its header; undefined for any other file. */
const wavDuration = (file: string): number | undefined => {
  try {
    const handle = fs.openSync(file, "r")
    try {
      const head = Buffer.alloc(4096)
      const read = fs.readSync(handle, head, 0, head.length, 0)
      return parseWavHeader(head.subarray(0, read), fs.fstatSync(handle).size)?.duration
    } finally {
      fs.closeSync(handle)
    }
  } catch {
    return undefined
  }
}

/** The words that were said: a demo script's narration (a Markdown script with `##` scenes), else the whole text. */
const spokenText = (text: string): string => {
  const script = /^##\s/m.test(text) ? parseScript(text) : undefined
  return script === undefined || script instanceof ScriptError ? text : script.scenes.map((scene) => scene.narration).join(" ")
}

/** `automarket transcribe a.wav [--format txt|json|srt|vtt] [--align said.txt]`. */
export const transcribe = Command.make(
  "transcribe",
  {
    file: Args.path({ name: "audio" }).pipe(Args.withDescription("An audio or video file")),
    format: Options.choice("format", ["txt", "json", "srt", "vtt"]).pipe(Options.withDefault("txt" as const)),
    language: Options.text("language").pipe(Options.optional),
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDescription("Write here instead of stdout"), Options.optional),
    align: Options.file("align").pipe(
      Options.withDescription("A text of what was said (or a demo script): its words, timed by the transcript, instead of the recogniser's"),
      Options.optional
    ),
    provider: providerOption,
    model: modelOption
  },
  ({ align: alignFile, file, format, language, model, out, provider }) =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const routed = yield* given<"speech-to-text">(provider, model)
      yield* readable(file)
      const audio = new Audio({ source: new FileSource({ path: path.resolve(file) }), mimeType: mimeOf(file) })
      const said = yield* Option.match(alignFile, {
        onNone: () => Effect.succeed(Option.none<string>()),
        onSome: (known) => Effect.as(readable(known), Option.some(spokenText(fs.readFileSync(known, "utf8"))))
      })
      const result = yield* registry.generate("speech-to-text", audio, {
        ...routed,
        options: {
          ...Option.match(language, { onNone: () => ({}), onSome: (l) => ({ language: l }) }),
          // Aligning wants each word's time where the recogniser gives it.
          ...(Option.isSome(said) ? { extra: { word_timestamps: true } } : {})
        }
      })
      const segments = result.segments ?? []
      const rendered = Option.isSome(said)
        ? renderAligned(said.value, segments, wavDuration(file), format, result.language)
        : format === "txt"
          ? `${result.text.trim()}\n`
          : format === "json"
            ? `${JSON.stringify({ text: result.text, language: result.language, segments }, null, 2)}\n`
            : format === "srt"
              ? renderSrt(cues(segments))
              : renderVtt(cues(segments))
      yield* Option.match(out, {
        onNone: () => Effect.sync(() => void process.stdout.write(rendered)),
        onSome: (target) => writeFile(target, rendered)
      })
    })
).pipe(Command.withDescription("Transcribe speech to text (txt, json, srt or vtt)"))

/**
 * A known text timed by a transcript's words, within the audio (its duration when known, else up
 * to the last segment's end): `txt` a cue a line, `srt`/`vtt` the cues, `json` the cues as
 * `segments` and each word's time and how it was found as `words`.
 */
const renderAligned = (
  said: string,
  segments: ReadonlyArray<TextSegment>,
  duration: number | undefined,
  format: "txt" | "json" | "srt" | "vtt",
  language: string | undefined
): string => {
  const to = duration ?? segments.reduce((end, s) => Math.max(end, s.end), 0)
  const words = align(said, wordsOfSegments(segments), { from: 0, to })
  const list = alignedCues(words)
  // Times as the subtitle formats write them: to the millisecond.
  const ms = (seconds: number) => Math.round(seconds * 1000) / 1000
  switch (format) {
    case "txt":
      return renderTxt(list)
    case "srt":
      return renderSrt(list)
    case "vtt":
      return renderVtt(list)
    case "json":
      return `${JSON.stringify(
        {
          text: words.map((w) => w.word).join(" "),
          language,
          segments: list.map((cue) => ({ start: ms(cue.start), end: ms(cue.end), text: cue.text })),
          words: words.map((w) => ({ word: w.word, start: ms(w.start), end: ms(w.end), timing: w.timing, ...(w.heard !== undefined ? { heard: w.heard } : {}) }))
        },
        null,
        2
      )}\n`
  }
}

/** `automarket compose spec.json --out out.mp4`. */
export const compose = Command.make(
  "compose",
  {
    spec: Args.path({ name: "spec.json" }).pipe(Args.withDescription("A composition spec (see Composition in the README)")),
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDefault("out.mp4")),
    provider: providerOption,
    model: modelOption
  },
  ({ model, out, provider, spec }) =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const routed = yield* given<"video-composition">(provider, model)
      yield* readable(spec)
      const raw = yield* Effect.try({
        try: () => JSON.parse(fs.readFileSync(spec, "utf8")) as unknown,
        catch: (error) => new InvalidSpec({ path: spec, reason: `not JSON: ${String(error)}` })
      })
      // Relative media paths in the spec are relative to the spec file.
      const base = path.dirname(path.resolve(spec))
      const composition = yield* Schema.decodeUnknown(Composition.Composition)(raw).pipe(
        Effect.mapError((error) => new InvalidSpec({ path: spec, reason: error.message }))
      )
      const resolved = Composition.resolvePaths(composition, base)
      // Every local file the spec names, before the provider uploads the first of them.
      yield* Effect.forEach(Composition.localSources(resolved), (source) => readable(source), { discard: true })
      const result = yield* registry.generateDetailed("video-composition", resolved, routed)
      const written = yield* save(result.output, out)
      const duration = result.output.duration !== undefined ? ` (${result.output.duration.toFixed(2)} s)` : ""
      yield* Console.log(`${written}${duration} by ${result.provider}/${result.model}`)
    })
).pipe(Command.withDescription("Compose videos, images, text and audio from a JSON spec"))
