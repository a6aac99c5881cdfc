/**
 * From a typed `Composition` to the ffmpeg command that renders it: a pure function, tested on
 * the text it produces. It decides the inputs (with their trims), the `-filter_complex` graph
 * (layout, overlays, audio plan) and the encoder options.
 *
 * Nothing a caller writes becomes filter syntax: every value placed in the graph is a number
 * this module formatted, a literal from the schema, or a colour that matched a strict pattern.
 * Overlay text goes into a file (`textfile=`, with `expansion=none` so `%{...}` stays literal);
 * the plan lists those files and the caller writes them into the directory ffmpeg runs in.
 *
 * Layouts:
 * - `concat`: clips one after another; with a transition, each pair overlaps by its duration
 *   (video `xfade`, audio `acrossfade`), so the length is the sum minus the overlaps.
 * - `side-by-side`, `grid`: clips in cells of the frame; as long as the longest clip (shorter
 *   ones hold their last frame); clip sound is mixed.
 * - `picture-in-picture`: the first clip fills the frame, the others are insets; as long as the
 *   first clip; only the first clip's sound is kept.
 *
 * Clips are videos or still images: a still is looped at the output frame rate for the clip's
 * `duration` (required for stills) and letterboxed like any clip, so it takes part in every
 * layout and transition. A video's `duration` cuts it, or holds its last frame when longer.
 *
 * Inputs without an audio stream get silence (`anullsrc`), so every plan has exactly one video
 * and one audio stream. In `duck` mode the voice tracks (see `trackRoles`) are mixed into one
 * key that compresses the beds and the clips' sound, then laid on top.
 *
 * Long concatenations are planned in segments (`compositionPlan`, `segmentSpans`): ffmpeg holds
 * every input of a graph open for the whole run, so one graph's memory grows with its clips;
 * a few clips a run keeps it flat, and the segments are joined without re-encoding.
 *
 * @module
 */
import * as Either from "effect/Either"
import type { Anchor, AudioRole, AudioTrack, Composition, Layout, Output, Overlay, Position } from "../../domain/Composition.js"
import { guardInputs, inputPolicy } from "../kit/MediaInput.js"

/** What ffprobe found out about an input. */
export interface MediaFacts {
  /** Seconds; undefined for still images. */
  readonly duration?: number | undefined
  /** A single picture (png, jpeg, webp ...), not timed media. */
  readonly still?: boolean | undefined
  readonly width?: number | undefined
  readonly height?: number | undefined
  readonly hasVideo: boolean
  readonly hasAudio: boolean
}

/** A file the graph reads, with its facts. */
export interface InputFile {
  readonly path: string
  readonly facts: MediaFacts
}

/** A text file the caller writes (in ffmpeg's working directory) before running the plan. */
export interface TextFile {
  readonly name: string
  readonly text: string
}

/**
 * One run of a segmented plan: a stretch of the video rendered into `file`, and the clips' own
 * sound of that stretch into `audioFile` (names in ffmpeg's working directory, which the caller
 * removes once the plan has run).
 */
export interface VideoSegment {
  /** ffmpeg's arguments (without the program name); its inputs are the caller's files. */
  readonly args: ReadonlyArray<string>
  /** The video it writes, in ffmpeg's working directory. */
  readonly file: string
  /**
   * The run that writes the clips' sound of the stretch (lossless) into `audioFile`, unless the
   * audio plan replaces it. A run of its own: decoding the clips' sound alongside their picture
   * makes ffmpeg queue decoded frames while the sound runs ahead, doubling a segment's memory.
   */
  readonly audioArgs?: ReadonlyArray<string> | undefined
  readonly audioFile?: string | undefined
  /** Its length in frames of the output. */
  readonly frames: number
}

/**
 * The ffmpeg commands of a composition and what its result will be.
 *
 * A single graph (`segments` empty) is one run: `args`. A segmented plan runs each of `segments`
 * in order, then `args`: the join, which reads the segments through the concat lists among
 * `textFiles` (copying their video) and applies the audio plan over the whole timeline. The
 * join's inputs are already confined (`MediaInput.inputPolicy` before each `-i`, the concat lists
 * allowed to name the segment files): run it as it is.
 */
export interface CompositionPlan {
  /** ffmpeg's arguments (without the program name): the only run, or the join after the segments. */
  readonly args: ReadonlyArray<string>
  /** The `-filter_complex` graph of `args` (also inside them). */
  readonly graph: string
  /** Files to write into ffmpeg's working directory first (text overlays, the concat list). */
  readonly textFiles: ReadonlyArray<TextFile>
  /** The runs that render the video in stretches before `args` joins them; empty for a single graph. */
  readonly segments: ReadonlyArray<VideoSegment>
  /** Seconds. */
  readonly duration: number
  readonly width: number
  readonly height: number
  readonly fps: number
  readonly mimeType: string
  /** The file extension of the result, without the dot. */
  readonly extension: string
}

/** Media types, extensions, muxers and (to read segments back) demuxers of the output containers. */
export const containers = {
  mp4: { mimeType: "video/mp4", extension: "mp4", muxer: "mp4", demuxer: "mov" },
  webm: { mimeType: "video/webm", extension: "webm", muxer: "webm", demuxer: "matroska" },
  mkv: { mimeType: "video/x-matroska", extension: "mkv", muxer: "matroska", demuxer: "matroska" }
} as const

/** Encoder options of each video codec of the schema. */
export const videoEncoders = {
  h264: ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"],
  vp9: ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "32", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-pix_fmt", "yuv420p"]
} as const

/** Encoder options of each audio codec of the schema. */
export const audioEncoders = {
  aac: ["-c:a", "aac", "-b:a", "128k"],
  opus: ["-c:a", "libopus", "-b:a", "96k"],
  mp3: ["-c:a", "libmp3lame", "-b:a", "128k"]
} as const

/** The sample rate and layout every audio stream is brought to inside a graph. */
export const audioFormat = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"

const sampleRate = 48000

/**
 * A number as filter text: finite, at most 3 decimals, never in exponent notation.
 * Callers only pass numbers that passed validation; non-finite ones become 0.
 */
export const num = (value: number): string => {
  if (!Number.isFinite(value)) return "0"
  const rounded = Math.round(value * 1000) / 1000
  return (Object.is(rounded, -0) ? 0 : rounded).toFixed(3).replace(/\.?0+$/, "")
}

const even = (value: number): number => Math.max(2, 2 * Math.floor(value / 2))

/** A colour of the schema (`#rrggbb` or a plain name) as ffmpeg colour text. */
export const colour = (value: string): string => {
  if (/^#[0-9a-fA-F]{6}$/.test(value)) return `0x${value.slice(1).toLowerCase()}`
  if (/^[a-zA-Z]{3,20}$/.test(value)) return value.toLowerCase()
  return "white"
}

/** The names of the two axes' expressions for a placed thing: frame size and own size. */
interface Sizes {
  readonly frameW: string
  readonly frameH: string
  readonly ownW: string
  readonly ownH: string
}

const overlaySizes: Sizes = { frameW: "W", frameH: "H", ownW: "w", ownH: "h" }
const textSizes: Sizes = { frameW: "w", frameH: "h", ownW: "text_w", ownH: "text_h" }

const anchorAxes: { readonly [A in Anchor]: readonly ["left" | "center" | "right", "top" | "center" | "bottom"] } = {
  "top-left": ["left", "top"],
  top: ["center", "top"],
  "top-right": ["right", "top"],
  left: ["left", "center"],
  center: ["center", "center"],
  right: ["right", "center"],
  "bottom-left": ["left", "bottom"],
  bottom: ["center", "bottom"],
  "bottom-right": ["right", "bottom"]
}

/** The x and y expressions of a position (no commas: they need no quoting). */
export const place = (position: Position, sizes: Sizes): { readonly x: string; readonly y: string } => {
  if ("x" in position) return { x: `${Math.trunc(position.x)}`, y: `${Math.trunc(position.y)}` }
  const margin = Math.trunc(position.margin ?? 0)
  const [horizontal, vertical] = anchorAxes[position.anchor]
  const x =
    horizontal === "left"
      ? `${margin}`
      : horizontal === "center"
        ? `(${sizes.frameW}-${sizes.ownW})/2`
        : `${sizes.frameW}-${sizes.ownW}-${margin}`
  const y =
    vertical === "top"
      ? `${margin}`
      : vertical === "center"
        ? `(${sizes.frameH}-${sizes.ownH})/2`
        : `${sizes.frameH}-${sizes.ownH}-${margin}`
  return { x, y }
}

/** Collects inputs and graph chains while a plan is built. */
class Builder {
  readonly inputArgs: Array<string> = []
  readonly chains: Array<string> = []
  readonly issues: Array<string> = []
  readonly textFiles: Array<TextFile> = []
  private inputs = 0
  private labels = 0

  input(options: ReadonlyArray<string>, path: string): number {
    this.inputArgs.push(...options, "-i", path)
    return this.inputs++
  }

  label(prefix: string): string {
    return `${prefix}${this.labels++}`
  }

  chain(inputs: ReadonlyArray<string>, filters: ReadonlyArray<string>, output: string): string {
    this.chains.push(`${inputs.map((label) => `[${label}]`).join("")}${filters.join(",")}[${output}]`)
    return output
  }

  issue(text: string): void {
    this.issues.push(text)
  }
}

interface ClipInput {
  readonly index: number
  readonly input: number
  readonly duration: number
  readonly facts: MediaFacts
}

/** A clip as read from its file: where to start, how much to read, how long it lasts in the layout. */
interface ClipSource {
  readonly index: number
  readonly path: string
  readonly still: boolean
  /** Seconds into the file where the clip begins (0 for a still). */
  readonly start: number
  /** Seconds read from `start` (the input's `-t`). */
  readonly read: number
  /** The clip's length in the layout (longer than `read`: its last frame is held). */
  readonly duration: number
  readonly facts: MediaFacts
}

/** A part of a clip: `length` seconds of its layout time from `from`. */
interface Piece {
  readonly clip: number
  readonly from: number
  readonly length: number
}

const describeSrc = (src: string): string => JSON.stringify(src.length > 80 ? `${src.slice(0, 77)}...` : src)

// What each clip reads (a still: looped for its duration), so the graph sees [0, duration) of
// it; the problems go to the builder.
const clipSources = (b: Builder, composition: Composition, inputs: ReadonlyMap<string, InputFile>): Array<ClipSource> => {
  const clips: Array<ClipSource> = []
  composition.clips.forEach((clip, index) => {
    const file = inputs.get(clip.src)
    const name = `clip ${index + 1} (${describeSrc(clip.src)})`
    if (file === undefined) return b.issue(`${name}: no input with this name was uploaded`)
    if (!file.facts.hasVideo) return b.issue(`${name}: has no video stream`)
    if (file.facts.still === true) {
      if (clip.start !== undefined || clip.end !== undefined) {
        return b.issue(`${name}: is a still image: it takes "duration", not "start" or "end"`)
      }
      if (clip.duration === undefined) return b.issue(`${name}: is a still image: give the clip a "duration" in seconds`)
      const facts = { ...file.facts, hasAudio: false }
      clips.push({ index, path: file.path, still: true, start: 0, read: clip.duration, duration: clip.duration, facts })
      return
    }
    if (clip.end !== undefined && clip.duration !== undefined) return b.issue(`${name}: give "end" or "duration", not both`)
    const start = clip.start ?? 0
    const sourceDuration = file.facts.duration
    if (sourceDuration === undefined || !(sourceDuration > 0)) {
      if (clip.duration === undefined) return b.issue(`${name}: has no duration ffprobe can tell (give the clip a "duration")`)
      // Untimed video (a raw stream): read what there is, up to the asked length.
      clips.push({ index, path: file.path, still: false, start, read: clip.duration, duration: clip.duration, facts: file.facts })
      return
    }
    if (clip.end !== undefined && clip.end <= start) return b.issue(`${name}: end (${num(clip.end)}) must be after start (${num(start)})`)
    if (start >= sourceDuration) return b.issue(`${name}: starts at ${num(start)} s but the source lasts ${num(sourceDuration)} s`)
    const available = Math.min(clip.end ?? sourceDuration, sourceDuration) - start
    const duration = clip.duration ?? available
    clips.push({ index, path: file.path, still: false, start, read: Math.min(duration, available), duration, facts: file.facts })
  })
  return clips
}

// A clip (or a piece of it) as an input trimmed with -ss/-t, a still looped with -loop 1.
const addClip = (b: Builder, clip: ClipSource, fps: number, piece?: Piece): ClipInput => {
  const from = piece?.from ?? 0
  const length = piece?.length ?? clip.duration
  if (clip.still) {
    const input = b.input(["-loop", "1", "-framerate", num(fps), "-t", num(length)], clip.path)
    return { index: clip.index, input, duration: length, facts: clip.facts }
  }
  const start = clip.start + from
  const read = Math.min(clip.read - from, length)
  const input = b.input([...(start > 0 ? ["-ss", num(start)] : []), "-t", num(read)], clip.path)
  return { index: clip.index, input, duration: length, facts: clip.facts }
}

// A clip's video fitted into a box (letterboxed), at the output frame rate, exactly `length` long
// (a shorter clip holds its last frame).
const fitVideo = (b: Builder, clip: ClipInput, box: { readonly w: number; readonly h: number }, fps: number, length: number): string =>
  b.chain(
    [`${clip.input}:v`],
    [
      "setpts=PTS-STARTPTS",
      `fps=${num(fps)}`,
      `scale=${box.w}:${box.h}:force_original_aspect_ratio=decrease`,
      `pad=${box.w}:${box.h}:(ow-iw)/2:(oh-ih)/2:color=black`,
      "setsar=1",
      "format=yuv420p",
      `tpad=stop_mode=clone:stop_duration=${num(length)}`,
      `trim=duration=${num(length)}`
    ],
    b.label("v")
  )

// A clip's sound, exactly `length` long; silence when the clip has none.
const clipAudio = (b: Builder, clip: ClipInput, length: number): string =>
  clip.facts.hasAudio
    ? b.chain(
        [`${clip.input}:a`],
        ["asetpts=PTS-STARTPTS", audioFormat, `apad=whole_dur=${num(length)}`, `atrim=duration=${num(length)}`],
        b.label("a")
      )
    : silence(b, length)

const silence = (b: Builder, length: number): string =>
  b.chain([], [`anullsrc=r=48000:cl=stereo`, `atrim=duration=${num(length)}`], b.label("a"))

interface Base {
  readonly video: string
  /** The clips' sound, when the audio plan uses it. */
  readonly audio: string | undefined
  readonly duration: number
}

const mixLabels = (b: Builder, labels: ReadonlyArray<string>, normalize: boolean): string =>
  labels.length === 1
    ? labels[0]!
    : b.chain(labels, [`amix=inputs=${labels.length}:duration=longest:normalize=${normalize ? 1 : 0}`], b.label("a"))

const layoutConcat = (
  b: Builder,
  clips: ReadonlyArray<ClipInput>,
  layout: Extract<Layout, { _tag: "concat" }>,
  output: Output,
  wantAudio: boolean
): Base => {
  const frame = { w: output.width, h: output.height }
  const transition = clips.length > 1 ? layout.transition : undefined
  if (transition !== undefined) {
    const d = transition.duration
    clips.forEach((clip, i) => {
      const middle = i > 0 && i < clips.length - 1
      if (middle ? clip.duration < 2 * d : clip.duration <= d) {
        b.issue(
          `clip ${clip.index + 1}: lasts ${num(clip.duration)} s, too short for a ${num(d)} s transition` +
            (middle ? " on both ends" : "")
        )
      }
    })
  }
  const videos = clips.map((clip) => fitVideo(b, clip, frame, output.fps, clip.duration))
  const audios = wantAudio ? clips.map((clip) => clipAudio(b, clip, clip.duration)) : []
  const total = clips.reduce((sum, clip) => sum + clip.duration, 0)
  if (clips.length === 1) return { video: videos[0]!, audio: audios[0], duration: total }
  if (transition === undefined) {
    const pairs = clips.map((_, i) => (wantAudio ? [videos[i]!, audios[i]!] : [videos[i]!])).flat()
    const video = b.label("v")
    const audio = wantAudio ? b.label("a") : undefined
    b.chains.push(
      `${pairs.map((label) => `[${label}]`).join("")}concat=n=${clips.length}:v=1:a=${wantAudio ? 1 : 0}[${video}]${audio !== undefined ? `[${audio}]` : ""}`
    )
    return { video, audio, duration: total }
  }
  const d = transition.duration
  let video = videos[0]!
  let audio = audios[0]
  let elapsed = clips[0]!.duration
  for (let i = 1; i < clips.length; i++) {
    const offset = elapsed - d
    video = b.chain([video, videos[i]!], [`xfade=transition=${transition.kind}:duration=${num(d)}:offset=${num(offset)}`], b.label("v"))
    if (audio !== undefined) audio = b.chain([audio, audios[i]!], [`acrossfade=d=${num(d)}`], b.label("a"))
    elapsed = offset + clips[i]!.duration
  }
  return { video, audio, duration: total - (clips.length - 1) * d }
}

const layoutCells = (
  b: Builder,
  clips: ReadonlyArray<ClipInput>,
  columns: number,
  output: Output,
  wantAudio: boolean
): Base => {
  const cols = Math.max(1, Math.min(columns, clips.length))
  const rows = Math.ceil(clips.length / cols)
  const cell = { w: even(output.width / cols), h: even(output.height / rows) }
  const duration = Math.max(...clips.map((clip) => clip.duration))
  const videos = clips.map((clip) => fitVideo(b, clip, clips.length === 1 ? { w: output.width, h: output.height } : cell, output.fps, duration))
  const audios = wantAudio ? clips.map((clip) => clipAudio(b, clip, duration)) : []
  const audio = wantAudio ? mixLabels(b, audios, true) : undefined
  if (clips.length === 1) return { video: videos[0]!, audio, duration }
  const stacked =
    rows === 1
      ? b.chain(videos, [`hstack=inputs=${clips.length}`], b.label("v"))
      : b.chain(
          videos,
          [
            `xstack=inputs=${clips.length}:layout=${clips.map((_, i) => `${(i % cols) * cell.w}_${Math.floor(i / cols) * cell.h}`).join("|")}:fill=black`
          ],
          b.label("v")
        )
  const needsPad = cell.w * cols !== output.width || cell.h * rows !== output.height
  const video = needsPad
    ? b.chain([stacked], [`pad=${output.width}:${output.height}:(ow-iw)/2:(oh-ih)/2:color=black`], b.label("v"))
    : stacked
  return { video, audio, duration }
}

const layoutPip = (
  b: Builder,
  clips: ReadonlyArray<ClipInput>,
  layout: Extract<Layout, { _tag: "picture-in-picture" }>,
  output: Output,
  wantAudio: boolean
): Base => {
  const [main, ...insets] = clips
  if (main === undefined) return { video: "", audio: undefined, duration: 0 }
  if (insets.length === 0) b.issue("picture-in-picture needs at least two clips: the main one and an inset")
  const duration = main.duration
  let video = fitVideo(b, main, { w: output.width, h: output.height }, output.fps, duration)
  const scale = layout.scale ?? 0.3
  const box = { w: even(output.width * scale), h: even(output.width * scale * (output.height / output.width)) }
  const position = layout.position ?? { anchor: "bottom-right" as const, margin: 20 }
  insets.forEach((inset, i) => {
    const length = Math.min(inset.duration, duration)
    const fitted = b.chain(
      [`${inset.input}:v`],
      [
        "setpts=PTS-STARTPTS",
        `fps=${num(output.fps)}`,
        `scale=${box.w}:${box.h}:force_original_aspect_ratio=decrease`,
        `pad=${box.w}:${box.h}:(ow-iw)/2:(oh-ih)/2:color=black`,
        "setsar=1",
        "format=yuv420p",
        `trim=duration=${num(length)}`
      ],
      b.label("p")
    )
    // Further insets stack away from the anchored edge.
    const { x, y } = place(position, overlaySizes)
    const shift = i * (box.h + ("margin" in position ? (position.margin ?? 0) : 0))
    const vertical = "anchor" in position ? anchorAxes[position.anchor][1] : "top"
    const yShifted = shift === 0 ? y : vertical === "bottom" ? `${y}-${shift}` : `${y}+${shift}`
    video = b.chain([video, fitted], [`overlay=x=${x}:y=${yShifted}:eof_action=pass`], b.label("v"))
  })
  const audio = wantAudio ? clipAudio(b, main, duration) : undefined
  return { video, audio, duration }
}

interface Window {
  readonly start: number
  readonly end: number
  readonly fadeIn: number
  readonly fadeOut: number
}

const overlayWindow = (b: Builder, overlay: Overlay, name: string, total: number): Window | undefined => {
  const start = overlay.start ?? 0
  const end = Math.min(overlay.end ?? total, total)
  const fadeIn = overlay.fadeIn ?? 0
  const fadeOut = overlay.fadeOut ?? 0
  if (start >= total) {
    b.issue(`${name}: starts at ${num(start)} s but the video lasts ${num(total)} s`)
    return undefined
  }
  if (end <= start) {
    b.issue(`${name}: end (${num(end)}) must be after start (${num(start)})`)
    return undefined
  }
  if (fadeIn + fadeOut > end - start) {
    b.issue(`${name}: fades (${num(fadeIn)} + ${num(fadeOut)} s) are longer than the overlay is shown (${num(end - start)} s)`)
    return undefined
  }
  return { start, end, fadeIn, fadeOut }
}

const enable = (window: Window): string => `enable='between(t,${num(window.start)},${num(window.end)})'`

const alphaFades = (window: Window): Array<string> => [
  ...(window.fadeIn > 0 ? [`fade=t=in:st=${num(window.start)}:d=${num(window.fadeIn)}:alpha=1`] : []),
  ...(window.fadeOut > 0 ? [`fade=t=out:st=${num(window.end - window.fadeOut)}:d=${num(window.fadeOut)}:alpha=1`] : [])
]

const sizeFilter = (width: number | undefined, height: number | undefined): Array<string> =>
  width === undefined && height === undefined ? [] : [`scale=${width ?? -1}:${height ?? -1}`]

/** The stretch of the output a segment renders: from `offset` seconds, `length` seconds long. */
interface Stretch {
  readonly offset: number
  readonly length: number
  /** Segment `k`'s text files are `text-k-n.txt`, so the segments' files do not collide. */
  readonly segment: number
}

// `t` minus a time as filter text (a time before a segment's start is negative there).
const since = (at: number): string => (at < 0 ? `t+${num(-at)}` : `t-${num(at)}`)

const applyOverlays = (
  b: Builder,
  composition: Composition,
  inputs: ReadonlyMap<string, InputFile>,
  base: string,
  total: number,
  stretch?: Stretch
): string => {
  let video = base
  const fps = composition.output.fps
  const offset = stretch?.offset ?? 0
  const length = stretch?.length ?? total
  composition.overlays.forEach((overlay, i) => {
    const name = `overlay ${i + 1} (${overlay._tag})`
    const shown = overlayWindow(b, overlay, name, total)
    if (shown === undefined) return
    // The window in this stretch's time (the whole video's, without a stretch).
    const window = { ...shown, start: shown.start - offset, end: shown.end - offset }
    if (window.end <= 0 || window.start >= length) return
    if (overlay._tag === "text") {
      if (overlay.text.trim() === "") return b.issue(`${name}: the text is empty`)
      const fileName = `text-${stretch !== undefined ? `${stretch.segment}-` : ""}${b.textFiles.length}.txt`
      b.textFiles.push({ name: fileName, text: overlay.text })
      const { x, y } = place(overlay.position ?? { anchor: "bottom", margin: 20 }, textSizes)
      const size = overlay.fontSize ?? Math.max(12, Math.round(composition.output.height / 18))
      const rampIn = window.fadeIn > 0 ? `(${since(window.start)})/${num(window.fadeIn)}` : "1"
      const rampOut = window.fadeOut > 0 ? `(${num(window.end)}-t)/${num(window.fadeOut)}` : "1"
      const fade = window.fadeIn > 0 || window.fadeOut > 0 ? [`alpha='max(0,min(min(1,${rampIn}),${rampOut}))'`] : []
      const options = [
        `textfile=${fileName}`,
        "expansion=none",
        `fontsize=${size}`,
        `fontcolor=${colour(overlay.color ?? "white")}`,
        ...(overlay.box !== undefined ? ["box=1", `boxcolor=${colour(overlay.box)}`, "boxborderw=8"] : []),
        `x=${x}`,
        `y=${y}`,
        ...fade,
        enable(window)
      ]
      video = b.chain([video], [`drawtext=${options.join(":")}`], b.label("v"))
      return
    }
    const file = inputs.get(overlay.src)
    if (file === undefined) return b.issue(`${name} ${describeSrc(overlay.src)}: no input with this name was uploaded`)
    if (!file.facts.hasVideo) return b.issue(`${name} ${describeSrc(overlay.src)}: has no picture`)
    let picture: string
    if (overlay._tag === "image") {
      // A still looped for the whole video (stretch), so fades have frames to work on. A fade
      // under way when a stretch starts is drawn from its own start (`lead` seconds earlier), as
      // the fade filter starts no later than the first frame, and that lead is trimmed off.
      const fades = fadesFrom(window, window.end)
      const input = b.input(["-loop", "1", "-framerate", num(fps), "-t", num(length + fades.lead)], file.path)
      picture = b.chain(
        [`${input}:v`],
        [...sizeFilter(overlay.width, overlay.height), "format=rgba", ...alphaFades(fades.window), ...leadTrim(fades.lead)],
        b.label("o")
      )
    } else {
      const sourceDuration = file.facts.duration
      if (sourceDuration === undefined || !(sourceDuration > 0)) {
        return b.issue(`${name} ${describeSrc(overlay.src)}: has no duration (a still image? use an image overlay)`)
      }
      const playing = Math.min(shown.end - shown.start, sourceDuration)
      // What of the video was played before this stretch, and the lead its fades need.
      const played = Math.max(0, -window.start)
      if (played >= playing) return
      const fades = fadesFrom(window, Math.min(window.end, window.start + playing), played)
      const read = playing - played + fades.lead
      const seek = played - fades.lead
      const input = b.input([...(seek > 0 ? ["-ss", num(seek)] : []), "-t", num(read)], file.path)
      picture = b.chain(
        [`${input}:v`],
        [
          "setpts=PTS-STARTPTS",
          `fps=${num(fps)}`,
          ...sizeFilter(overlay.width, overlay.height),
          "format=rgba",
          `trim=duration=${num(read)}`,
          `setpts=PTS+${num(Math.max(0, window.start))}/TB`,
          ...alphaFades(fades.window),
          ...leadTrim(fades.lead)
        ],
        b.label("o")
      )
    }
    const { x, y } = place(overlay.position ?? { anchor: "top-left", margin: 0 }, overlaySizes)
    video = b.chain([video, picture], [`overlay=x=${x}:y=${y}:eof_action=pass:${enable(window)}`], b.label("v"))
  })
  return video
}

// The fades of an overlay shown over `window` (its picture ending at `end`) in a stream that
// starts `lead` seconds before the stretch: a fade-in over by the stretch's start is dropped, one
// under way (or a fade-out begun) makes the stream start where it began, at most `most` early.
const fadesFrom = (window: Window, end: number, most = Number.POSITIVE_INFINITY): { readonly window: Window; readonly lead: number } => {
  const fadeIn = window.fadeIn > 0 && window.start + window.fadeIn > 0 ? window.fadeIn : 0
  const outAt = end - window.fadeOut
  const lead = Math.min(most, Math.max(0, fadeIn > 0 ? -window.start : 0, window.fadeOut > 0 ? -outAt : 0))
  return { window: { start: window.start + lead, end: end + lead, fadeIn, fadeOut: window.fadeOut }, lead }
}

const leadTrim = (lead: number): Array<string> => (lead > 0 ? [`trim=start=${num(lead)}`, "setpts=PTS-STARTPTS"] : [])

/**
 * The compressor that ducks the bed under the voices. Keyed 6 dB hot with a low threshold and
 * a high ratio, a narration at a usual level (-15 to -25 dBFS RMS) takes the bed down by 20 dB
 * or more, so music stays out of the way of the words; the 600 ms release keeps it down across
 * the pauses between words (and lets it swell back within a second after the voice stops).
 */
export const duckingCompressor = "sidechaincompress=threshold=0.02:ratio=20:attack=10:release=600:level_sc=2"

/**
 * The role of each track in `duck` mode. Without any `role`: every track but the last is a
 * voice and the last is the bed (a single track is a voice). With some: they keep theirs, and
 * the others are voices when a track is marked `"bed"`, beds otherwise.
 */
export const trackRoles = (tracks: ReadonlyArray<Pick<AudioTrack, "role">>): ReadonlyArray<AudioRole> => {
  if (tracks.every((track) => track.role === undefined)) {
    return tracks.map((_, i) => (tracks.length === 1 || i < tracks.length - 1 ? "voice" : "bed"))
  }
  const others: AudioRole = tracks.some((track) => track.role === "bed") ? "voice" : "bed"
  return tracks.map((track) => track.role ?? others)
}

const applyAudio = (b: Builder, composition: Composition, inputs: ReadonlyMap<string, InputFile>, base: Base): string => {
  const plan = composition.audio
  const total = base.duration
  const roles = trackRoles(plan.tracks)
  const tracks: Array<{ readonly label: string; readonly role: AudioRole }> = []
  plan.tracks.forEach((track, i) => {
    const name = `audio track ${i + 1} (${describeSrc(track.src)})`
    const file = inputs.get(track.src)
    if (file === undefined) return b.issue(`${name}: no input with this name was uploaded`)
    if (!file.facts.hasAudio) return b.issue(`${name}: has no audio stream`)
    const start = track.start ?? 0
    if (start >= total) return b.issue(`${name}: starts at ${num(start)} s but the video lasts ${num(total)} s`)
    const input = b.input([], file.path)
    const delay = Math.round(start * 1000)
    const label = b.chain(
      [`${input}:a`],
      [
        "asetpts=PTS-STARTPTS",
        audioFormat,
        `volume=${num(track.volume ?? 1)}`,
        ...(delay > 0 ? [`adelay=delays=${delay}:all=1`] : []),
        "apad",
        `atrim=duration=${num(total)}`
      ],
      b.label("t")
    )
    tracks.push({ label, role: roles[i] ?? "voice" })
  })
  const labels = tracks.map((track) => track.label)
  let mixed: string
  switch (plan.mode) {
    case "keep": {
      if (plan.tracks.length > 0) b.issue(`audio mode "keep" plays only the clips' own sound: use "mix" (or "duck") to add tracks`)
      mixed = base.audio ?? silence(b, total)
      break
    }
    case "replace": {
      if (plan.tracks.length === 0) b.issue(`audio mode "replace" needs at least one track`)
      mixed = labels.length > 0 ? mixLabels(b, labels, false) : silence(b, total)
      break
    }
    case "mix": {
      mixed = mixLabels(b, [base.audio ?? silence(b, total), ...labels], false)
      break
    }
    case "duck": {
      if (!roles.includes("voice")) b.issue(`audio mode "duck" needs a voice track (the narration) that lowers the rest`)
      const voices = tracks.filter((track) => track.role === "voice").map((track) => track.label)
      const beds = tracks.filter((track) => track.role === "bed").map((track) => track.label)
      if (voices.length === 0) {
        mixed = mixLabels(b, [base.audio ?? silence(b, total), ...beds], false)
        break
      }
      // All voices together key the compressor, so the bed stays down while any of them speaks.
      const narration = mixLabels(b, voices, false)
      const key = b.label("k")
      const voice = b.label("n")
      b.chains.push(`[${narration}]asplit=2[${key}][${voice}]`)
      const bed = mixLabels(b, [base.audio ?? silence(b, total), ...beds], false)
      const ducked = b.chain([bed, key], [duckingCompressor], b.label("a"))
      mixed = b.chain([ducked, voice], ["amix=inputs=2:duration=first:normalize=0"], b.label("a"))
      break
    }
  }
  return mixed
}

const checkOutput = (b: Builder, output: Output): void => {
  if (output.width % 2 !== 0 || output.height % 2 !== 0) {
    b.issue(`output size ${output.width}x${output.height}: width and height must be even (4:2:0 video)`)
  }
  if (output.format === "webm" && (output.videoCodec !== "vp9" || output.audioCodec !== "opus")) {
    b.issue(`output format "webm" takes videoCodec "vp9" and audioCodec "opus"`)
  }
}

/**
 * Most clips one filter graph holds by default: ffmpeg keeps every input's decoder and buffers
 * alive for the whole run (about 20 MB a 720p clip), so a longer concatenation is rendered in
 * segments of at most this many clips (see `compositionPlan`).
 */
export const maxClipsPerGraph = 8

/** How `compositionPlan` splits the work. */
export interface PlanOptions {
  /**
   * Most clips one filter graph holds (at least 2): a `concat` composition with more is rendered
   * in segments. Default `maxClipsPerGraph`; `Infinity` keeps every composition in one graph.
   */
  readonly maxClipsPerGraph?: number | undefined
}

const common = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"] as const

/**
 * The ffmpeg command(s) that render `composition` into `outputPath`. `inputs` maps each `src`
 * the composition names to its file and probed facts. Fails with every problem found (an
 * unknown src, a clip too short for its transition, an overlay outside the video ...), not just
 * the first.
 *
 * A `concat` composition of more than `options.maxClipsPerGraph` clips is planned in
 * segments, so ffmpeg's memory stays that of a few clips however many there are:
 * runs of clips are rendered (video only, the same encoder settings and frame grid) into segment
 * files, each cut at a frame of the output inside a clip's own part, where no transition is
 * under way (with a transition: the clip is split there, its head ends one segment and its tail
 * starts the next; without: segments meet between clips). Each segment draws the overlays
 * shown during its stretch, their times, fades and video overlays' playback taken from where the
 * stretch starts, and the clips' own sound of it (cut at the same instants, on whole samples
 * counted from the start, into lossless files). The join copies the segments' video one after
 * another (concat demuxer, no re-encoding), reads their sound the same way, and applies the
 * audio plan (tracks, ducking) over the whole timeline before encoding the sound once, as a
 * single graph does: tracks span segment boundaries, and sound cut on exact sample counts and
 * encoded in one piece cannot drift from the video the way per-segment encoded sound (each
 * padded to whole codec frames) would. The join opens the tracks but no clip.
 */
export const compositionPlan = (
  composition: Composition,
  inputs: ReadonlyMap<string, InputFile>,
  outputPath: string,
  options: PlanOptions = {}
): Either.Either<CompositionPlan, ReadonlyArray<string>> => {
  const single = singlePlan(composition, inputs, outputPath)
  if (Either.isLeft(single)) return single
  const most = Math.max(2, Math.floor(options.maxClipsPerGraph ?? maxClipsPerGraph))
  const layout = composition.layout
  if (layout._tag !== "concat" || composition.clips.length <= most) return single
  return Either.right(segmentedPlan(composition, layout, inputs, outputPath, single.right.duration, most))
}

const singlePlan = (
  composition: Composition,
  inputs: ReadonlyMap<string, InputFile>,
  outputPath: string
): Either.Either<CompositionPlan, ReadonlyArray<string>> => {
  const b = new Builder()
  const output = composition.output
  checkOutput(b, output)
  const sources = clipSources(b, composition, inputs)
  if (sources.length !== composition.clips.length) return Either.left(b.issues)
  const clips = sources.map((source) => addClip(b, source, output.fps))
  const wantAudio = composition.audio.mode !== "replace"
  const layout = composition.layout
  const base =
    layout._tag === "concat"
      ? layoutConcat(b, clips, layout, output, wantAudio)
      : layout._tag === "side-by-side"
        ? layoutCells(b, clips, clips.length, output, wantAudio)
        : layout._tag === "grid"
          ? layoutCells(b, clips, layout.columns, output, wantAudio)
          : layoutPip(b, clips, layout, output, wantAudio)
  const video = applyOverlays(b, composition, inputs, base.video, base.duration)
  const audio = applyAudio(b, composition, inputs, base)
  const total = base.duration
  b.chain([video], [`trim=duration=${num(total)}`, "setpts=PTS-STARTPTS"], "vout")
  b.chain([audio], ["apad", `atrim=duration=${num(total)}`, "asetpts=PTS-STARTPTS"], "aout")
  if (b.issues.length > 0) return Either.left(b.issues)
  const graph = b.chains.join(";")
  const container = containers[output.format]
  const args = [
    ...common,
    ...b.inputArgs,
    "-filter_complex",
    graph,
    "-map",
    "[vout]",
    "-map",
    "[aout]",
    ...videoEncoders[output.videoCodec],
    ...audioEncoders[output.audioCodec],
    ...audioOptions(output)
  ]
  return Either.right({
    args: [...args, outputPath],
    graph,
    textFiles: b.textFiles,
    segments: [],
    duration: total,
    width: output.width,
    height: output.height,
    fps: output.fps,
    mimeType: container.mimeType,
    extension: container.extension
  })
}

// The options after the encoders that every result shares, up to its path.
const audioOptions = (output: Output): Array<string> => [
  "-ar",
  "48000",
  "-ac",
  "2",
  ...(output.format === "mp4" ? ["-movflags", "+faststart"] : []),
  "-f",
  containers[output.format].muxer
]

/** Where a segment starts: a frame of the output, inside `clip` at `from` seconds of its layout time. */
interface Cut {
  readonly clip: number
  readonly from: number
  readonly frame: number
}

/** One stretch of the output: the pieces of clips it shows and how many frames it lasts. */
export interface SegmentSpan {
  /** Each piece: `length` seconds of clip `clip`'s layout time from `from`. */
  readonly pieces: ReadonlyArray<{ readonly clip: number; readonly from: number; readonly length: number }>
  /** The output frame it starts at. */
  readonly firstFrame: number
  readonly frames: number
}

/**
 * Where a concatenation of clips lasting `durations` (seconds of layout time each; `reads`: how
 * much of each is real picture, the rest a held last frame), overlapping by `transition` seconds,
 * is cut into segments of at most `most` clips (a clip split between two segments counts in
 * both), at `fps` frames a second, `frames` frames in all.
 *
 * With a transition, a segment ends inside a clip's own part (between its incoming and outgoing
 * transitions, two frames clear of each, in its real picture), on a frame of the output, as near
 * its middle as that allows; the next segment starts there with the rest of the clip. The last
 * piece of a segment is one frame longer than needed so that the segment's exact trim always has
 * a frame to keep. Without a transition, segments meet between clips. When no clip allows a cut
 * within `most` clips, the segment grows to the first one that does.
 */
export const segmentSpans = (
  durations: ReadonlyArray<number>,
  reads: ReadonlyArray<number>,
  transition: number,
  fps: number,
  most: number,
  frames: number
): ReadonlyArray<SegmentSpan> => {
  const n = durations.length
  const d = transition
  const starts: Array<number> = []
  durations.reduce((at, duration, i) => {
    starts[i] = at
    return at + duration - d
  }, 0)
  const frame = 1 / fps
  const cutIn = (i: number): Cut | undefined => {
    const start = starts[i]!
    if (d === 0) return { clip: i, from: 0, frame: Math.round(start * fps) }
    const lo = Math.ceil((start + d) * fps + 2 - 1e-6)
    const hi = Math.floor((start + Math.min(durations[i]! - d, reads[i]!)) * fps - 2 + 1e-6)
    if (lo > hi) return undefined
    const at = Math.min(hi, Math.max(lo, Math.round((start + durations[i]! / 2) * fps)))
    return { clip: i, from: at / fps - start, frame: at }
  }
  const spans: Array<SegmentSpan> = []
  let begin: Cut = { clip: 0, from: 0, frame: 0 }
  for (;;) {
    const a = begin.clip
    let end: Cut | undefined
    if (n - a > most) {
      const limit = d === 0 ? a + most : a + most - 1
      for (let i = limit; i > a && end === undefined; i--) end = cutIn(i)
      for (let i = limit + 1; i < n && end === undefined; i++) end = cutIn(i)
      if (end !== undefined && end.frame <= begin.frame) end = undefined
    }
    const pieces: Array<{ clip: number; from: number; length: number }> = []
    const last = end === undefined ? n - 1 : d === 0 ? end.clip - 1 : end.clip
    for (let i = a; i <= last; i++) {
      const from = i === a ? begin.from : 0
      const length = end !== undefined && i === last ? (d === 0 ? durations[i]! : end.from) + frame : durations[i]! - from
      pieces.push({ clip: i, from, length })
    }
    spans.push({ pieces, firstFrame: begin.frame, frames: (end?.frame ?? frames) - begin.frame })
    if (end === undefined) return spans
    begin = end
  }
}

const segmentedPlan = (
  composition: Composition,
  layout: Extract<Layout, { _tag: "concat" }>,
  inputs: ReadonlyMap<string, InputFile>,
  outputPath: string,
  total: number,
  most: number
): CompositionPlan => {
  const output = composition.output
  const container = containers[output.format]
  const sources = clipSources(new Builder(), composition, inputs)
  const transition = layout.transition?.duration ?? 0
  // As many frames as the single graph's last trim keeps: those before `total` (as written).
  const frames = Math.ceil(Number(num(total)) * output.fps - 1e-6)
  const spans = segmentSpans(
    sources.map((clip) => clip.duration),
    sources.map((clip) => (clip.still ? clip.duration : clip.read)),
    transition,
    output.fps,
    most,
    frames
  )
  const wantAudio = composition.audio.mode !== "replace"
  // The clips' sound is cut at the same instants, on whole samples counted from the start.
  const sampleAt = (frame: number) => Math.round((frame / output.fps) * sampleRate)
  const totalSamples = Math.round(Number(num(total)) * sampleRate)
  const texts: Array<TextFile> = []
  const segments = spans.map((span, i): VideoSegment => {
    const b = new Builder()
    const clips = span.pieces.map((piece) => addClip(b, sources[piece.clip]!, output.fps, piece))
    const base = layoutConcat(b, clips, layout, output, false)
    const stretch = { offset: span.firstFrame / output.fps, length: span.frames / output.fps, segment: i }
    const video = applyOverlays(b, composition, inputs, base.video, total, stretch)
    texts.push(...b.textFiles)
    // Cut by frame count, not time: the segments then add up to the single graph's frames.
    b.chain([video], [`trim=end_frame=${span.frames}`, "setpts=PTS-STARTPTS"], "vout")
    const file = `segment-${i}.${container.extension}`
    const videoArgs = ["-map", "[vout]", ...videoEncoders[output.videoCodec], "-an", "-f", container.muxer, file]
    const args = [...common, ...b.inputArgs, "-filter_complex", b.chains.join(";"), ...videoArgs]
    if (!wantAudio) return { args, file, frames: span.frames }
    // The sound: only the pieces that have some are opened, the others are silence.
    const a = new Builder()
    const pieces = span.pieces.map((piece) => {
      const source = sources[piece.clip]!
      return source.facts.hasAudio ? addClip(a, source, output.fps, piece) : { index: source.index, input: -1, duration: piece.length, facts: source.facts }
    })
    const sounds = pieces.map((piece) => clipAudio(a, piece, piece.duration))
    const joined =
      sounds.length === 1
        ? sounds[0]!
        : layout.transition === undefined
          ? a.chain(sounds, [`concat=n=${sounds.length}:v=0:a=1`], a.label("a"))
          : sounds.slice(1).reduce((sound, next) => a.chain([sound, next], [`acrossfade=d=${num(transition)}`], a.label("a")), sounds[0]!)
    const last = span.firstFrame + span.frames >= frames
    const samples = (last ? totalSamples : sampleAt(span.firstFrame + span.frames)) - sampleAt(span.firstFrame)
    a.chain([joined], ["apad", `atrim=end_sample=${samples}`, "asetpts=PTS-STARTPTS"], "aout")
    const audioFile = `segment-${i}.wav`
    // Lossless float, so the sound is encoded once, by the join, as a single graph's is.
    const audioArgs = [...common, ...a.inputArgs, "-filter_complex", a.chains.join(";"), "-map", "[aout]", "-c:a", "pcm_f32le", "-f", "wav", audioFile]
    return { args, file, audioArgs, audioFile, frames: span.frames }
  })
  const concatList = (name: string, entries: ReadonlyArray<readonly [string, number]>): TextFile => ({
    name,
    text: ["ffconcat version 1.0", ...entries.flatMap(([file, seconds]) => [`file ${file}`, `duration ${seconds.toFixed(6)}`]), ""].join("\n")
  })
  const list = concatList("segments.ffconcat", segments.map((segment) => [segment.file, segment.frames / output.fps]))
  const audioList = wantAudio
    ? concatList(
        "segments-audio.ffconcat",
        segments.map((segment, i) => {
          const first = spans[i]!.firstFrame
          const end = i === segments.length - 1 ? totalSamples : sampleAt(first + segment.frames)
          return [segment.audioFile!, (end - sampleAt(first)) / sampleRate]
        })
      )
    : undefined

  const b = new Builder()
  b.input(["-f", "concat"], list.name)
  if (audioList !== undefined) b.input(["-f", "concat"], audioList.name)
  // The concat lists name only the segments written by this plan, in the working directory.
  const joined = [
    ...inputPolicy(["concat", container.demuxer]),
    ...b.inputArgs.splice(0, 4),
    ...(audioList !== undefined ? [...inputPolicy(["concat", "wav"]), ...b.inputArgs.splice(0, 4)] : [])
  ]
  const audio = audioList !== undefined ? "1:a" : undefined
  const mixed = applyAudio(b, composition, inputs, { video: "", audio, duration: total })
  b.chain([mixed], ["apad", `atrim=duration=${num(total)}`, "asetpts=PTS-STARTPTS"], "aout")
  const graph = b.chains.join(";")
  const args = [
    ...common,
    ...joined,
    ...guardInputs(b.inputArgs),
    "-filter_complex",
    graph,
    "-map",
    "0:v",
    "-map",
    "[aout]",
    "-c:v",
    "copy",
    ...audioEncoders[output.audioCodec],
    ...audioOptions(output),
    outputPath
  ]
  return {
    args,
    graph,
    textFiles: [...texts, list, ...(audioList !== undefined ? [audioList] : [])],
    segments,
    duration: total,
    width: output.width,
    height: output.height,
    fps: output.fps,
    mimeType: container.mimeType,
    extension: container.extension
  }
}

/** The `src`s a composition reads (clips, image and video overlays, audio tracks), each once, in order. */
export const compositionSources = (composition: {
  readonly clips: ReadonlyArray<{ readonly src: string }>
  readonly overlays?: ReadonlyArray<{ readonly _tag: string; readonly src?: string }> | undefined
  readonly audio?: { readonly tracks?: ReadonlyArray<{ readonly src: string }> | undefined } | undefined
}): ReadonlyArray<string> => {
  const all = [
    ...composition.clips.map((clip) => clip.src),
    ...(composition.overlays ?? []).flatMap((overlay) => (overlay._tag !== "text" && overlay.src !== undefined ? [overlay.src] : [])),
    ...(composition.audio?.tracks ?? []).map((track) => track.src)
  ]
  return [...new Set(all)]
}
