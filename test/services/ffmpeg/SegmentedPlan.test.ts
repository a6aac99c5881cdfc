/**
 * The segmented composition plan as a pure function: when a composition is split (a `concat` of
 * more clips than one graph holds, no overlays) and when it stays one graph; where the segments
 * are cut (on output frames, outside every transition, the clips' pieces tiling each clip); what
 * each segment run reads and writes; and the join (the concat list of the segments, their video
 * copied, the sound made once over the whole timeline, every input confined).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Composition, type CompositionInput } from "../../../src/domain/Composition.js"
import {
  type CompositionPlan,
  compositionPlan,
  type InputFile,
  maxClipsPerGraph,
  type PlanOptions,
  segmentSpans
} from "../../../src/services/ffmpeg/FilterGraph.js"

const inputs = new Map<string, InputFile>([
  ...Array.from({ length: 30 }, (_, i): [string, InputFile] => [
    `c${i}`,
    { path: `/in/c${i}.mp4`, facts: { duration: 2, width: 320, height: 180, hasVideo: true, hasAudio: true } }
  ]),
  ...Array.from({ length: 30 }, (_, i): [string, InputFile] => [
    `s${i}`,
    { path: `/in/s${i}.png`, facts: { width: 320, height: 180, hasVideo: true, hasAudio: false, still: true } }
  ]),
  ...Array.from({ length: 30 }, (_, i): [string, InputFile] => [`v${i}`, { path: `/in/v${i}.wav`, facts: { duration: 2, hasVideo: false, hasAudio: true } }]),
  ["music", { path: "/in/music.mp3", facts: { duration: 100, hasVideo: false, hasAudio: true } }],
  ["long", { path: "/in/long.mp4", facts: { duration: 2, width: 320, height: 180, hasVideo: true, hasAudio: true } }]
])

const decode = Schema.decodeUnknownSync(Composition)

const plan = (composition: CompositionInput, options?: PlanOptions): CompositionPlan => {
  const result = compositionPlan(decode(composition), inputs, "/out/result.mp4", options)
  if (Either.isLeft(result)) throw new Error(`unexpected issues: ${result.left.join("; ")}`)
  return result.right
}

const fade = { _tag: "concat" as const, transition: { kind: "fade" as const, duration: 0.5 } }
const clips = (n: number): CompositionInput["clips"] => [{ src: "c0" }, ...Array.from({ length: n - 1 }, (_, i) => ({ src: `c${i + 1}` }))]
const small = { width: 320, height: 180 }
const inputsOf = (args: ReadonlyArray<string>) => args.flatMap((arg, i) => (arg === "-i" ? [args[i + 1]!] : []))

describe("segmented plan: when", () => {
  it("up to the limit the plan is the single graph it always was; one clip more and it is segmented", () => {
    const atLimit = plan({ clips: clips(maxClipsPerGraph), layout: fade, output: small })
    expect(atLimit.segments).toEqual([])
    expect(atLimit).toEqual(plan({ clips: clips(maxClipsPerGraph), layout: fade, output: small }, { maxClipsPerGraph: Number.POSITIVE_INFINITY }))
    expect(inputsOf(atLimit.args)).toHaveLength(maxClipsPerGraph)

    const over = plan({ clips: clips(maxClipsPerGraph + 1), layout: fade, output: small })
    expect(over.segments.length).toBe(2)
    const forced = plan({ clips: clips(maxClipsPerGraph + 1), layout: fade, output: small }, { maxClipsPerGraph: Number.POSITIVE_INFINITY })
    expect(forced.segments).toEqual([])
    expect(forced.duration).toBe(over.duration)
  })

  it("other layouts stay one graph; a concatenation without transitions is segmented too", () => {
    expect(plan({ clips: clips(12), layout: { _tag: "grid", columns: 4 }, output: small }).segments).toEqual([])
    expect(plan({ clips: clips(12), output: small }).segments.length).toBe(2)
  })

  it("a composition the single graph refuses is refused the same way", () => {
    const spec = { clips: [...clips(11), { src: "s0" }], layout: fade, output: small }
    const segmented = compositionPlan(decode(spec), inputs, "/out/result.mp4")
    const single = compositionPlan(decode(spec), inputs, "/out/result.mp4", { maxClipsPerGraph: Number.POSITIVE_INFINITY })
    expect(Either.isLeft(segmented) && segmented.left).toEqual(Either.isLeft(single) && single.left)
    expect(Either.isLeft(segmented) && segmented.left.join()).toContain("still image")
  })
})

describe("segmented plan: where the cuts fall", () => {
  const fps = 30
  const d = 0.5
  const durations = Array.from({ length: 20 }, (_, i) => 2 + (i % 3) * 0.37)
  const total = durations.reduce((a, b) => a + b, 0) - 19 * d
  const frames = Math.ceil(total * fps)
  const spans = segmentSpans(durations, durations, d, fps, 8, frames)
  const starts = durations.map((_, i) => durations.slice(0, i).reduce((a, b) => a + b - d, 0))

  it("segments follow one another frame by frame and add up to the whole video", () => {
    expect(spans.length).toBeGreaterThan(2)
    spans.forEach((span, i) => {
      expect(span.pieces.length).toBeLessThanOrEqual(8)
      expect(span.frames).toBeGreaterThan(0)
      if (i > 0) expect(span.firstFrame).toBe(spans[i - 1]!.firstFrame + spans[i - 1]!.frames)
    })
    expect(spans[0]!.firstFrame).toBe(0)
    expect(spans.reduce((sum, span) => sum + span.frames, 0)).toBe(frames)
  })

  it("each cut is an output frame inside a clip's own part, clear of both its transitions", () => {
    for (const span of spans.slice(1)) {
      const first = span.pieces[0]!
      const at = span.firstFrame / fps
      expect(Number.isInteger(span.firstFrame)).toBe(true)
      expect(at).toBeCloseTo(starts[first.clip]! + first.from, 9)
      expect(first.from).toBeGreaterThan(d)
      expect(first.from).toBeLessThan(durations[first.clip]! - d)
    }
  })

  it("the pieces tile every clip: a split clip's head ends (one frame over) where its tail starts", () => {
    const pieces = spans.flatMap((span) => span.pieces)
    durations.forEach((duration, clip) => {
      const mine = pieces.filter((piece) => piece.clip === clip)
      expect(mine[0]!.from).toBe(0)
      if (mine.length === 1) return expect(mine[0]!.length).toBeCloseTo(duration, 9)
      expect(mine).toHaveLength(2)
      expect(mine[0]!.length - 1 / fps).toBeCloseTo(mine[1]!.from, 9)
      expect(mine[1]!.from + mine[1]!.length).toBeCloseTo(duration, 9)
    })
  })

  it("without a transition segments meet between clips", () => {
    const plain = segmentSpans(Array(20).fill(2), Array(20).fill(2), 0, fps, 8, 1200)
    expect(plain.map((span) => span.pieces.map((piece) => piece.clip))).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [8, 9, 10, 11, 12, 13, 14, 15],
      [16, 17, 18, 19]
    ])
    expect(plain.map((span) => span.frames)).toEqual([480, 480, 240])
    expect(plain.flatMap((span) => span.pieces.map((piece) => piece.from))).toEqual(Array(20).fill(0))
  })

  it("a clip with no room for a cut is not split: the segment grows to the next that has", () => {
    // Clips 6 and 7 are exactly two transitions long: nothing of their own to cut in.
    const tight = durations.map((duration, i) => (i === 6 || i === 7 ? 2 * d : duration))
    const cut = segmentSpans(tight, tight, d, fps, 8, frames)
    expect(cut[0]!.pieces.at(-1)!.clip).toBe(5)
    const held = segmentSpans(durations, durations.map((duration, i) => (i === 7 ? 0.6 : duration)), d, fps, 8, frames)
    // Clip 7's picture ends before its own part begins: it is held, and not cut.
    expect(held[0]!.pieces.at(-1)!.clip).toBe(6)
  })
})

describe("segmented plan: the runs", () => {
  const p = plan({ clips: clips(20), layout: fade, output: small })

  it("each segment reads only its clips, trims its video to its frames and writes its file", () => {
    expect(p.segments.map((segment) => segment.file)).toEqual(p.segments.map((_, i) => `segment-${i}.mp4`))
    expect(p.segments.reduce((sum, segment) => sum + segment.frames, 0)).toBe(Math.ceil(p.duration * 30))
    for (const segment of p.segments) {
      expect(inputsOf(segment.args).length).toBeLessThanOrEqual(maxClipsPerGraph)
      const video = segment.args.indexOf("[vout]")
      expect(segment.args.slice(video).indexOf(segment.file)).toBeGreaterThan(0)
      expect(segment.args.slice(video, segment.args.indexOf(segment.file))).toContain("-an")
      expect(segment.args.join(" ")).toContain(`trim=end_frame=${segment.frames},setpts=PTS-STARTPTS[vout]`)
      expect(segment.args.slice(segment.args.indexOf("-c:v"), segment.args.indexOf("-c:v") + 2)).toEqual(["-c:v", "libx264"])
    }
    // The second segment starts inside clip 7, with -ss at the cut (clip 7 starts at 10.5 s, the cut is at 11.5 s).
    expect(p.segments[1]!.args.slice(5, 9)).toEqual(["-ss", "1", "-t", "1"])
    expect(inputsOf(p.segments[1]!.args)[0]).toBe("/in/c7.mp4")
  })

  it("each segment also writes its clips' sound, cut on whole samples that add up to the whole", () => {
    const samples = p.segments.map((segment) => Number(/atrim=end_sample=(\d+)/.exec(segment.audioArgs!.join(" "))![1]))
    expect(samples).toEqual([552000, 504000, 408000])
    expect(samples.reduce((a, b) => a + b, 0)).toBe(30.5 * 48000)
    for (const [i, segment] of p.segments.entries()) {
      expect(segment.audioFile).toBe(`segment-${i}.wav`)
      expect(segment.audioArgs!.slice(-7)).toEqual(["-map", "[aout]", "-c:a", "pcm_f32le", "-f", "wav", `segment-${i}.wav`])
      // A run of its own, reading the same pieces of the same clips.
      expect(inputsOf(segment.audioArgs!)).toEqual(inputsOf(segment.args))
      expect(segment.args.join(" ")).not.toContain("acrossfade")
    }
    // The cross-fades inside each segment; none across a cut.
    expect(p.segments.map((segment) => segment.audioArgs!.join(" ").match(/acrossfade=d=0.5/g)?.length)).toEqual([7, 7, 5])
  })

  it("the join copies the segments' video, reads their sound, applies the audio plan and encodes it once", () => {
    const [video, sound] = p.textFiles
    expect(video).toEqual({
      name: "segments.ffconcat",
      text: ["ffconcat version 1.0", ...p.segments.flatMap((s) => [`file ${s.file}`, `duration ${(s.frames / 30).toFixed(6)}`]), ""].join("\n")
    })
    expect(sound).toEqual({
      name: "segments-audio.ffconcat",
      text: "ffconcat version 1.0\nfile segment-0.wav\nduration 11.500000\nfile segment-1.wav\nduration 10.500000\nfile segment-2.wav\nduration 8.500000\n"
    })
    expect(p.args.slice(5, 21)).toEqual([
      ...["-protocol_whitelist", "file", "-format_whitelist", "concat,mov", "-f", "concat", "-i", "segments.ffconcat"],
      ...["-protocol_whitelist", "file", "-format_whitelist", "concat,wav", "-f", "concat", "-i", "segments-audio.ffconcat"]
    ])
    expect(p.args.join(" ")).toContain("-map 0:v -map [aout] -c:v copy -c:a aac")
    expect(p.args.at(-1)).toBe("/out/result.mp4")
    // No clip is opened again: the sound comes from the segments.
    expect(inputsOf(p.args)).toEqual(["segments.ffconcat", "segments-audio.ffconcat"])
    expect(p.graph).toBe(`[1:a]apad,atrim=duration=${p.duration},asetpts=PTS-STARTPTS[aout]`)
  })

  it("a narrated slideshow: the join opens only the sound (narrations, music), not the slides", () => {
    const slides = plan({
      clips: [{ src: "s0", duration: 3 }, ...Array.from({ length: 23 }, (_, i) => ({ src: `s${i + 1}`, duration: 3 }))],
      layout: fade,
      audio: {
        mode: "duck",
        tracks: [...Array.from({ length: 24 }, (_, i) => ({ src: `v${i}`, start: i * 2.5, role: "voice" as const })), { src: "music", role: "bed" as const }]
      },
      output: small
    })
    expect(slides.segments.length).toBeGreaterThan(2)
    expect(inputsOf(slides.args).filter((input) => input.endsWith(".png"))).toEqual([])
    expect(inputsOf(slides.args)).toHaveLength(2 + 25)
    expect(slides.args.filter((arg) => arg === "-format_whitelist")).toHaveLength(2 + 25)
    expect(slides.graph).toContain("sidechaincompress")
    for (const segment of slides.segments) {
      expect(inputsOf(segment.args).every((input) => input.endsWith(".png"))).toBe(true)
      // Slides are silent: their sound run opens nothing.
      expect(inputsOf(segment.audioArgs!)).toEqual([])
    }
  })

  it("each segment draws the overlays of its stretch, in its own time", () => {
    // Segments of 20 clips of 2 s faded 0.5 s: [0, 11.5), [11.5, 22), [22, 30.5).
    const p = plan({
      clips: clips(20),
      layout: fade,
      overlays: [
        { _tag: "text", text: "across", start: 10, end: 13, fadeIn: 2, fadeOut: 1 },
        { _tag: "image", src: "s0", start: 21, fadeIn: 2 },
        { _tag: "video", src: "long", start: 3, end: 5 }
      ],
      output: small
    })
    const graphs = p.segments.map((segment) => segment.args[segment.args.indexOf("-filter_complex") + 1]!)
    expect(p.segments.map((segment) => segment.frames)).toEqual([345, 315, 255])
    // The text: in the first two segments, its fade-in under way when the second starts.
    expect(graphs[0]).toContain("textfile=text-0-0.txt")
    expect(graphs[0]).toContain("alpha='max(0,min(min(1,(t-10)/2),(13-t)/1))':enable='between(t,10,13)'")
    expect(graphs[1]).toContain("textfile=text-1-0.txt")
    expect(graphs[1]).toContain("alpha='max(0,min(min(1,(t+1.5)/2),(1.5-t)/1))':enable='between(t,-1.5,1.5)'")
    expect(graphs[2]).not.toContain("drawtext")
    expect(p.textFiles.map((file) => file.name)).toEqual(["text-0-0.txt", "text-1-0.txt", "segments.ffconcat", "segments-audio.ffconcat"])
    // The logo: its fade-in begins 1 s before the last segment, which draws it from there and trims that second off.
    expect(graphs[1]).toContain("fade=t=in:st=9.5:d=2:alpha=1")
    expect(graphs[2]).toContain("format=rgba,fade=t=in:st=0:d=2:alpha=1,trim=start=1,setpts=PTS-STARTPTS")
    expect(p.segments[2]!.args.join(" ")).toContain("-loop 1 -framerate 30 -t 9.5 -i /in/s0.png")
    // The video overlay only where it plays.
    expect(p.segments.map((segment) => inputsOf(segment.args).includes("/in/long.mp4"))).toEqual([true, false, false])
  })

  it("a video overlay playing across a cut goes on from where it was", () => {
    const p = plan({ clips: clips(20), layout: fade, overlays: [{ _tag: "video", src: "long", start: 10 }], output: small })
    const second = p.segments[1]!.args.join(" ")
    // 1.5 s of it were played in the first segment; it lasts 2 s.
    expect(second).toContain("-ss 1.5 -t 0.5 -i /in/long.mp4")
    expect(second).toContain("trim=duration=0.5,setpts=PTS+0/TB")
    expect(inputsOf(p.segments[2]!.args)).not.toContain("/in/long.mp4")
  })

  it("when the audio plan replaces the clips' sound, segments are silent and the join reads only the tracks", () => {
    const replaced = plan({ clips: clips(10), audio: { mode: "replace", tracks: [{ src: "music" }] }, output: small })
    expect(replaced.segments.map((segment) => segment.audioFile)).toEqual([undefined, undefined])
    expect(replaced.segments.map((segment) => segment.audioArgs)).toEqual([undefined, undefined])
    expect(inputsOf(replaced.args)).toEqual(["segments.ffconcat", "/in/music.mp3"])
    expect(replaced.textFiles.map((file) => file.name)).toEqual(["segments.ffconcat"])
  })

  it("webm and mkv segments are matroska, read back as matroska", () => {
    const webm = plan({ clips: clips(10), output: { ...small, format: "webm", videoCodec: "vp9", audioCodec: "opus" } })
    expect(webm.segments.map((segment) => segment.file)).toEqual(["segment-0.webm", "segment-1.webm"])
    expect(webm.segments[0]!.args.join(" ")).toContain("-an -f webm segment-0.webm")
    expect(webm.args.join(" ")).toContain("-format_whitelist concat,matroska -f concat")
  })
})
