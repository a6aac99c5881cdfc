/**
 * The main job end to end on the real local engines: the demo pipeline over the default
 * providers plus an emulated remote image provider that is out of credit, checked with ffprobe,
 * a frame grab, and the .srt against the script: its words are the script's, each cue timed
 * inside the narration of its scene.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as AutoMarket from "../../../src/registry/AutoMarket.js"
import * as Progress from "../../../src/cli/Progress.js"
import * as Demo from "../../../src/cli/demo/Demo.js"
import { parse, type Script } from "../../../src/cli/demo/Script.js"
import { defaultProviders } from "../../../src/registry/Providers.js"
import { ProviderRegistry } from "../../../src/registry/ProviderRegistry.js"
import { quotaImageProvider } from "../../support/QuotaImageProvider.js"
import { normalisedWords, wordErrorRate } from "../../support/wer.js"

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-demo-test-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const script = parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../../src/cli/demo/default-script.md"), "utf8")) as Script

const probe = (file: string) =>
  JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration", "-of", "json", file], { encoding: "utf8" })
  ) as { streams: Array<{ codec_type: string; width?: number; height?: number }>; format: { duration: string } }

/** RGB pixels of one frame at `at` seconds, `w`x`h`. */
const frame = (file: string, at: number, w: number, h: number): Buffer =>
  execFileSync("ffmpeg", ["-v", "error", "-ss", String(at), "-i", file, "-frames:v", "1", "-s", `${w}x${h}`, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])

/** The cues of an .srt: times in milliseconds and text. */
const srtCues = (srt: string) =>
  srt
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const [, timing = "", ...text] = block.split("\n")
      const ms = (t: string) => {
        const [h, m, s, milli] = t.split(/[:,]/).map(Number)
        return ((h! * 60 + m!) * 60 + s!) * 1000 + milli!
      }
      const [start = "", end = ""] = timing.split(" --> ")
      return { start: ms(start), end: ms(end), text: text.join(" ") }
    })

const srtWords = (srt: string) =>
  srt
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^\d+$/.test(line.trim()) && !line.includes("-->"))
    .join(" ")

describe("automarket demo", () => {
  it.scopedLive(
    "makes a narrated, subtitled video and its .srt; the out-of-credit remote image provider falls back to local slides",
    () =>
      Effect.gen(function* () {
        const remote = yield* quotaImageProvider
        const registry = yield* ProviderRegistry
        yield* registry.register(remote.provider)
        const lines: Array<string> = []
        const progress = yield* Progress.make({ live: false, write: (t) => void lines.push(t) })
        const out = path.join(dir, "demo.mp4")
        const summary = yield* Demo.run({ script, out, progress, width: 640, height: 360 })

        // Files: the video and the subtitles beside it, nothing half-written.
        expect(summary.video).toBe(out)
        expect(summary.srt).toBe(path.join(dir, "demo.srt"))
        expect(fs.readdirSync(dir).sort()).toEqual(["demo.mp4", "demo.srt"])

        // Streams and duration.
        const info = probe(out)
        expect(info.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"])
        expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ width: 640, height: 360 })
        expect(Math.abs(Number(info.format.duration) - summary.duration)).toBeLessThanOrEqual(0.2)

        // The subtitles say what the script says, word for word (the recogniser only timed them).
        const narration = script.scenes.map((s) => s.narration).join(" ")
        const srt = fs.readFileSync(summary.srt, "utf8")
        expect(srt).toMatch(/^1\n00:00:\d\d,\d{3} --> /)
        expect(wordErrorRate(narration, srtWords(srt))).toBe(0)
        // Each cue holds words of one scene and lies inside that scene's narration.
        const windows = summary.narration!
        expect(windows).toHaveLength(script.scenes.length)
        const sceneOfWord = script.scenes.flatMap((scene, i) => normalisedWords(scene.narration).map(() => i))
        let next = 0
        const list = srtCues(srt)
        for (const cue of list) {
          const count = normalisedWords(cue.text).length
          const scenesOfCue = new Set(sceneOfWord.slice(next, next + count))
          next += count
          expect(scenesOfCue.size).toBe(1)
          const window = windows[[...scenesOfCue][0]!]!
          expect(cue.start).toBeGreaterThanOrEqual(Math.round(window.start * 1000))
          expect(cue.end).toBeLessThanOrEqual(Math.round(window.end * 1000))
          expect(cue.end).toBeGreaterThan(cue.start)
        }
        for (let i = 1; i < list.length; i++) expect(list[i]!.start).toBeGreaterThanOrEqual(list[i - 1]!.end)
        expect(next).toBe(sceneOfWord.length)

        // Burned in: during the first cue, the bottom band has white text on the black box.
        const firstCueStart = Number(/(\d\d):(\d\d):(\d\d),(\d{3})/.exec(srt)!.slice(1).reduce((acc, v, i) => acc + Number(v) * [3600, 60, 1, 0.001][i]!, 0))
        const pixels = frame(out, firstCueStart + 0.3, 640, 360)
        let white = 0
        let black = 0
        for (let y = 290; y < 350; y++) {
          for (let x = 0; x < 640; x++) {
            const i = (y * 640 + x) * 3
            const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!]
            if (r > 220 && g > 220 && b > 220) white++
            if (r < 30 && g < 30 && b < 30) black++
          }
        }
        expect(white).toBeGreaterThan(100)
        expect(black).toBeGreaterThan(500)

        // Who did what: the remote was asked, said it is out of credit (its key then rests, so
        // later scenes are refused without a request), and the local slide served every scene.
        expect(remote.requests()).toBeGreaterThanOrEqual(1)
        expect(remote.requests()).toBeLessThanOrEqual(script.scenes.length)
        const pictures = summary.lines.filter((l) => l.step.startsWith("picture"))
        expect(pictures).toHaveLength(script.scenes.length)
        for (const picture of pictures) {
          expect(picture).toMatchObject({ provider: "ffmpeg", model: "ffmpeg-slide", costUsd: 0, fellBackFrom: ["pixelcloud (QuotaExceeded)"] })
        }
        expect(summary.lines.find((l) => l.step === "narration 1")?.provider).toBe("chatterbox")
        expect(summary.lines.find((l) => l.step === "transcript")?.provider).toBe("whisper")
        expect(summary.totalCostUsd).toBe(0)
        // Progress: every step ended done.
        expect(lines.filter((l) => l.startsWith("✓")).length).toBe(script.scenes.length * 2 + 4)
      }).pipe(Effect.provide(Layer.merge(AutoMarket.layerWith(defaultProviders), NodeHttpClient.layerUndici))),
    240_000
  )
})
