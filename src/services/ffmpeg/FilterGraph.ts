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
 * @module
 */
import * as Either from "effect/Either"
import type { Anchor, AudioRole, AudioTrack, Composition, Layout, Output, Overlay, Position } from "../../domain/Composition.js"

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

/** The ffmpeg command of a composition and what its result will be. */
export interface CompositionPlan {
  /** ffmpeg's arguments (without the program name). */
  readonly args: ReadonlyArray<string>
  /** The `-filter_complex` graph (also inside `args`). */
  readonly graph: string
  /** Files to write into ffmpeg's working directory first (text overlays). */
  readonly textFiles: ReadonlyArray<TextFile>
  /** Seconds. */
  readonly duration: number
  readonly width: number
  readonly height: number
  readonly fps: number
  readonly mimeType: string
  /** The file extension of the result, without the dot. */
  readonly extension: string
}

/** Media types and extensions of the output containers. */
export const containers = {
  mp4: { mimeType: "video/mp4", extension: "mp4", muxer: "mp4" },
  webm: { mimeType: "video/webm", extension: "webm", muxer: "webm" },
  mkv: { mimeType: "video/x-matroska", extension: "mkv", muxer: "matroska" }
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

const describeSrc = (src: string): string => JSON.stringify(src.length > 80 ? `${src.slice(0, 77)}...` : src)

// Each clip becomes an input trimmed with -ss/-t (a still: looped with -loop 1 for its
// duration), so the graph sees [0, duration); `duration` is the clip's length in the layout.
const clipInputs = (b: Builder, composition: Composition, inputs: ReadonlyMap<string, InputFile>): Array<ClipInput> => {
  const clips: Array<ClipInput> = []
  const fps = composition.output.fps
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
      const input = b.input(["-loop", "1", "-framerate", num(fps), "-t", num(clip.duration)], file.path)
      clips.push({ index, input, duration: clip.duration, facts: { ...file.facts, hasAudio: false } })
      return
    }
    if (clip.end !== undefined && clip.duration !== undefined) return b.issue(`${name}: give "end" or "duration", not both`)
    const start = clip.start ?? 0
    const sourceDuration = file.facts.duration
    if (sourceDuration === undefined || !(sourceDuration > 0)) {
      if (clip.duration === undefined) return b.issue(`${name}: has no duration ffprobe can tell (give the clip a "duration")`)
      // Untimed video (a raw stream): read what there is, up to the asked length.
      const options = [...(start > 0 ? ["-ss", num(start)] : []), "-t", num(clip.duration)]
      clips.push({ index, input: b.input(options, file.path), duration: clip.duration, facts: file.facts })
      return
    }
    if (clip.end !== undefined && clip.end <= start) return b.issue(`${name}: end (${num(clip.end)}) must be after start (${num(start)})`)
    if (start >= sourceDuration) return b.issue(`${name}: starts at ${num(start)} s but the source lasts ${num(sourceDuration)} s`)
    const available = Math.min(clip.end ?? sourceDuration, sourceDuration) - start
    const duration = clip.duration ?? available
    const options = [...(start > 0 ? ["-ss", num(start)] : []), "-t", num(Math.min(duration, available))]
    clips.push({ index, input: b.input(options, file.path), duration, facts: file.facts })
  })
  return clips
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

const applyOverlays = (
  b: Builder,
  composition: Composition,
  inputs: ReadonlyMap<string, InputFile>,
  base: string,
  total: number
): string => {
  let video = base
  const fps = composition.output.fps
  composition.overlays.forEach((overlay, i) => {
    const name = `overlay ${i + 1} (${overlay._tag})`
    const window = overlayWindow(b, overlay, name, total)
    if (window === undefined) return
    if (overlay._tag === "text") {
      if (overlay.text.trim() === "") return b.issue(`${name}: the text is empty`)
      const fileName = `text-${b.textFiles.length}.txt`
      b.textFiles.push({ name: fileName, text: overlay.text })
      const { x, y } = place(overlay.position ?? { anchor: "bottom", margin: 20 }, textSizes)
      const size = overlay.fontSize ?? Math.max(12, Math.round(composition.output.height / 18))
      const rampIn = window.fadeIn > 0 ? `(t-${num(window.start)})/${num(window.fadeIn)}` : "1"
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
      // A still looped for the whole video, so fades have frames to work on.
      const input = b.input(["-loop", "1", "-framerate", num(fps), "-t", num(total)], file.path)
      picture = b.chain(
        [`${input}:v`],
        [...sizeFilter(overlay.width, overlay.height), "format=rgba", ...alphaFades(window)],
        b.label("o")
      )
    } else {
      const sourceDuration = file.facts.duration
      if (sourceDuration === undefined || !(sourceDuration > 0)) {
        return b.issue(`${name} ${describeSrc(overlay.src)}: has no duration (a still image? use an image overlay)`)
      }
      const length = Math.min(window.end - window.start, sourceDuration)
      const input = b.input(["-t", num(length)], file.path)
      picture = b.chain(
        [`${input}:v`],
        [
          "setpts=PTS-STARTPTS",
          `fps=${num(fps)}`,
          ...sizeFilter(overlay.width, overlay.height),
          "format=rgba",
          `trim=duration=${num(length)}`,
          `setpts=PTS+${num(window.start)}/TB`,
          ...alphaFades({ ...window, end: Math.min(window.end, window.start + length) })
        ],
        b.label("o")
      )
    }
    const { x, y } = place(overlay.position ?? { anchor: "top-left", margin: 0 }, overlaySizes)
    video = b.chain([video, picture], [`overlay=x=${x}:y=${y}:eof_action=pass:${enable(window)}`], b.label("v"))
  })
  return video
}

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
 * The ffmpeg command that renders `composition` into `outputPath`. `inputs` maps each `src` the
 * composition names to its file and probed facts. Fails with every problem found (an unknown
 * src, a clip too short for its transition, an overlay outside the video ...), not just the first.
 */
export const compositionPlan = (
  composition: Composition,
  inputs: ReadonlyMap<string, InputFile>,
  outputPath: string
): Either.Either<CompositionPlan, ReadonlyArray<string>> => {
  const b = new Builder()
  const output = composition.output
  checkOutput(b, output)
  const clips = clipInputs(b, composition, inputs)
  if (clips.length !== composition.clips.length) return Either.left(b.issues)
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
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    ...b.inputArgs,
    "-filter_complex",
    graph,
    "-map",
    "[vout]",
    "-map",
    "[aout]",
    ...videoEncoders[output.videoCodec],
    ...audioEncoders[output.audioCodec],
    "-ar",
    "48000",
    "-ac",
    "2",
    ...(output.format === "mp4" ? ["-movflags", "+faststart"] : []),
    "-f",
    container.muxer,
    outputPath
  ]
  return Either.right({
    args,
    graph,
    textFiles: b.textFiles,
    duration: total,
    width: output.width,
    height: output.height,
    fps: output.fps,
    mimeType: container.mimeType,
    extension: container.extension
  })
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
