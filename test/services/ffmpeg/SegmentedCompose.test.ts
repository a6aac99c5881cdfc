/**
 * A long composition rendered in segments with the real ffmpeg: 20 clips with cross-fades
 * composed by the service (segments, then the join) against the same composition rendered as
 * one filter graph. The two agree frame for frame (count and picture, transitions included), the
 * sound lasts as long as the picture, and nothing of the job is left in the work directory. A
 * segment that fails ends the plan with its failure, without a join, its segments removed.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Composition, type CompositionInput } from "../../../src/domain/Composition.js"
import { compositionPlan, type CompositionPlan, type InputFile } from "../../../src/services/ffmpeg/FilterGraph.js"
import * as PlanRunner from "../../../src/services/ffmpeg/PlanRunner.js"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import * as Engine from "../../../src/services/kit/Engine.js"
import { EngineFailed } from "../../../src/services/kit/Errors.js"
import * as MediaInput from "../../../src/services/kit/MediaInput.js"
import { makeClip, makePng, probe, type RunningServer, startServer } from "./support.js"

// Neighbours differ a lot in brightness, so a cross-fade one frame early or late shows.
const colours = ["white", "black", "yellow", "blue", "green"] as const
const fps = 30
const width = 160
const height = 90

let root: string
let media: string
let workDir: string
let server: RunningServer
let files: ReadonlyArray<string>

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-segments-"))
  media = join(root, "media")
  workDir = join(root, "work")
  mkdirSync(media)
  files = colours.map((colour, i) => makeClip(media, `${colour}.mp4`, colour, { size: `${width}x${height}`, frequency: 300 + 150 * i }))
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 8 * 1024 * 1024, concurrency: 1 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

const spec = (srcs: ReadonlyArray<string>): CompositionInput => ({
  clips: [{ src: srcs[0]!, duration: 2 }, ...srcs.slice(1).map((src) => ({ src, duration: 2 }))],
  layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
  output: { width, height, fps }
})
const twenty = Array.from({ length: 20 }, (_, i) => `k${i % colours.length}`)

const inputsFor = (extra: ReadonlyArray<readonly [string, string]> = []) =>
  new Map<string, InputFile>([
    ...colours.map((_, i): [string, InputFile] => [
      `k${i}`,
      { path: files[i]!, facts: { duration: probe(files[i]!).duration, width, height, hasVideo: true, hasAudio: true } }
    ]),
    ...extra.map(([src, path]): [string, InputFile] => [src, { path, facts: { duration: 2, width, height, hasVideo: true, hasAudio: true } }])
  ])

const planOf = (composition: CompositionInput, inputs: ReadonlyMap<string, InputFile>, output: string, most?: number): CompositionPlan => {
  const result = compositionPlan(Schema.decodeUnknownSync(Composition)(composition), inputs, output, { maxClipsPerGraph: most })
  if (Either.isLeft(result)) throw new Error(result.left.join("; "))
  return result.right
}

/** Every frame of the video as 8-bit grey, one buffer a frame. */
const greyFrames = (path: string): ReadonlyArray<Buffer> => {
  const raw = execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"], { maxBuffer: 256 << 20 })
  const size = width * height
  return Array.from({ length: raw.length / size }, (_, i) => raw.subarray(i * size, (i + 1) * size))
}

/** The sound as 16 kHz mono 16-bit samples. */
const samples = (path: string): Int16Array => {
  const raw = execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"], { maxBuffer: 256 << 20 })
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2)
}

const meanDifference = (a: Buffer, b: Buffer): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!)
  return sum / a.length
}

const streamDurations = (path: string) => {
  const json = JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-count_frames", "-print_format", "json", "-show_streams", path], { encoding: "utf8" })
  ) as { streams: ReadonlyArray<{ codec_type: string; duration: string; nb_read_frames?: string }> }
  const video = json.streams.find((stream) => stream.codec_type === "video")!
  const audio = json.streams.find((stream) => stream.codec_type === "audio")!
  return { video: Number(video.duration), audio: Number(audio.duration), frames: Number(video.nb_read_frames) }
}

/** Runs as the service does (inputs under the media policy unless the join confines its own), noting what each wrote. */
const renderIn =
  (dir: string, ran: Array<string>): PlanRunner.Render<EngineFailed, never> =>
  (args, file, confined) =>
    Engine.run({ engine: "ffmpeg", args: confined ? args : MediaInput.guardInputs(args), cwd: dir }).pipe(
      Effect.mapError((error) => new EngineFailed({ message: error.message })),
      Effect.tap(() => Effect.sync(() => ran.push(file))),
      Effect.provide(NodeContext.layer)
    )

describe("segmented composition with the real ffmpeg", () => {
  it("20 clips with cross-fades: the service's segmented result matches the single graph's, frame for frame", async () => {
    // The single graph, run directly.
    const single = join(root, "single.mp4")
    const onePlan = planOf(spec(twenty), inputsFor(), single, Number.POSITIVE_INFINITY)
    expect(onePlan.segments).toEqual([])
    execFileSync("ffmpeg", [...onePlan.args], { cwd: root, stdio: ["ignore", "ignore", "pipe"] })
    expect(planOf(spec(twenty), inputsFor(), single).segments.length).toBe(3)

    // The same composition through the service, which segments it.
    const boundary = `----automarket${Math.random().toString(16).slice(2)}`
    const parts = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec(twenty))}\r\n`),
      ...files.flatMap((path, i) => [
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="k${i}"; filename="k${i}.mp4"\r\nContent-Type: video/mp4\r\n\r\n`),
        readFileSync(path),
        Buffer.from("\r\n")
      ]),
      Buffer.from(`--${boundary}--\r\n`)
    ]
    const answer = await fetch(`${server.url}/video/compose`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat(parts)
    })
    const body = (await answer.json()) as { success: boolean; data: { output: { name: string; url: string } } }
    expect(answer.status).toBe(200)
    // Segments, concat list and uploads are gone with the job: only the result is kept.
    expect(readdirSync(workDir)).toEqual([body.data.output.name])
    const segmented = join(root, "segmented.mp4")
    writeFileSync(segmented, Buffer.from(await (await fetch(`${server.url}${body.data.output.url}`)).arrayBuffer()))
    await fetch(`${server.url}${body.data.output.url}`, { method: "DELETE" })

    // 20 clips of 2 s overlapping by 0.5 s: 30.5 s, 915 frames.
    const one = streamDurations(single)
    const many = streamDurations(segmented)
    expect(one.frames).toBe(915)
    expect(many.frames).toBe(one.frames)
    expect(Math.abs(probe(segmented).duration - probe(single).duration)).toBeLessThanOrEqual(1 / fps)
    expect(Math.abs(many.video - 30.5)).toBeLessThanOrEqual(1 / fps)
    expect(Math.abs(many.audio - many.video)).toBeLessThanOrEqual(0.04)

    // The pictures agree everywhere, the cross-fades across segment boundaries included.
    const a = greyFrames(single)
    const b = greyFrames(segmented)
    expect(b.length).toBe(a.length)
    const worst = Math.max(...a.map((frame, i) => meanDifference(frame, b[i]!)))
    expect(worst).toBeLessThan(1.5)
    // The clips are where they should be: the middle of clip 12 (in the second segment) is its colour, black.
    expect(b[Math.round((11 * 1.5 + 1) * fps)]!.reduce((sum, v) => sum + v, 0) / (width * height)).toBeLessThan(30)

    // The sound is the single graph's sound.
    const x = samples(single)
    const y = samples(segmented)
    expect(Math.abs(y.length - x.length)).toBeLessThanOrEqual(16000 * 0.04)
    let difference = 0
    let energy = 0
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      difference += (x[i]! - y[i]!) ** 2
      energy += x[i]! ** 2
    }
    expect(energy).toBeGreaterThan(0)
    expect(difference / energy).toBeLessThan(0.01)
  })

  it.effect("overlays across the cuts (a fading caption, a fading logo, a playing video) match the single graph's", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(root, "job-"))
      const logo = makePng(dir, "logo.png", "red", "40x20")
      const composition: CompositionInput = {
        ...spec(twenty),
        // The cuts fall at 11.5 s and 22 s.
        overlays: [
          { _tag: "text", text: "across the cut", start: 10, end: 13, fadeIn: 2, fadeOut: 1, box: "black" },
          { _tag: "image", src: "logo", start: 21, fadeIn: 2, position: { anchor: "top-right", margin: 4 } },
          { _tag: "video", src: "k3", start: 10.5, width: 48, height: 27, fadeIn: 1.5 }
        ]
      }
      const inputs = new Map([...inputsFor(), ["logo", { path: logo, facts: { width: 40, height: 20, hasVideo: true, hasAudio: false, still: true } }]])
      const single = join(root, "overlays-single.mp4")
      const onePlan = planOf(composition, inputs, single, Number.POSITIVE_INFINITY)
      for (const text of onePlan.textFiles) writeFileSync(join(dir, text.name), text.text)
      execFileSync("ffmpeg", [...onePlan.args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })
      const segmented = join(root, "overlays-segmented.mp4")
      const plan = planOf(composition, inputs, segmented)
      expect(plan.segments.length).toBe(3)
      for (const text of plan.textFiles) writeFileSync(join(dir, text.name), text.text)
      yield* PlanRunner.runPlan(plan, dir, segmented, renderIn(dir, []))
      const a = greyFrames(single)
      const b = greyFrames(segmented)
      expect(b.length).toBe(a.length)
      // Fading text and pictures are not flat colours: the encoder's noise differs a little where
      // a segment's first keyframe meets them (about 1 grey level here). A missing or misplaced
      // overlay differs by 5 levels (the video inset) to 30 (the caption's box).
      const worst = Math.max(...a.map((frame, i) => meanDifference(frame, b[i]!)))
      expect(worst).toBeLessThan(2.5)
      // The logo is there in the last segment: red (grey ~80) in the top-right corner over black clip 17 at 25 s.
      const at25 = b[Math.round(25 * fps)]!
      let corner = 0
      for (let y = 6; y < 22; y++) for (let x = 118; x < 154; x++) corner += at25[y * width + x]!
      expect(corner / (16 * 36)).toBeGreaterThan(60)
      expect(at25[50 * width + 20]!).toBeLessThan(30)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a segment that fails ends the plan with its failure: no join, no segment file left", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(root, "job-"))
      // Clip 17 names a file that is not there: the third segment's run fails.
      const srcs = twenty.map((src, i) => (i === 16 ? "gone" : src))
      const output = join(dir, "out.mp4")
      const plan = planOf(spec(srcs), inputsFor([["gone", join(dir, "gone.mp4")]]), output)
      expect(plan.segments.length).toBe(3)
      for (const text of plan.textFiles) writeFileSync(join(dir, text.name), text.text)
      const ran: Array<string> = []
      const exit = yield* Effect.exit(PlanRunner.runPlan(plan, dir, output, renderIn(dir, ran)))
      const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(failure).toBeInstanceOf(EngineFailed)
      expect(failure?.message).toContain("gone.mp4")
      // The first two segments were made, the third failed, the join never ran.
      expect(ran).toEqual(["segment-0.mp4", "segment-0.wav", "segment-1.mp4", "segment-1.wav"].map((name) => join(dir, name)))
      expect(existsSync(output)).toBe(false)
      expect(readdirSync(dir).sort()).toEqual(["segments-audio.ffconcat", "segments.ffconcat"])
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
