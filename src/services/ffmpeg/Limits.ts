/**
 * How much work one request may ask of the FFmpeg service: the maxima of sizes, durations and
 * counts of its specs, checked when the spec is decoded (a 400 naming the field and the limit),
 * before any upload is probed or any engine runs. Without them an 18 KB composition of 150 clips
 * took 1.1 GB of ffmpeg memory, 1,000 clips could not be spawned (E2BIG), and a number such as
 * 1e308 became `Infinity` in a filter: failures of the service (500) for what is the caller's
 * mistake.
 *
 * The domain's `Composition` says what a composition is; these are this service's bounds on it.
 *
 * @module
 */
import type { Composition } from "../../domain/Composition.js"

/** The service's maxima. */
export const limits = {
  /** Longest side of a rendered picture, in pixels. */
  side: 4096,
  /** Most pixels of a rendered picture (3840x2160). */
  pixels: 3840 * 2160,
  /** Any time in a spec (an offset, an end, a fade), in seconds: a day. */
  seconds: 86_400,
  /** The sum of the clips' `duration`s of a composition, in seconds: an hour. */
  compositionSeconds: 3600,
  clips: 32,
  overlays: 32,
  tracks: 16,
  /** Overlay positions, in pixels either way. */
  offset: 16_384
} as const

/** One refusal: where in the spec, and why. */
export interface LimitIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

const within = (issues: Array<LimitIssue>, path: ReadonlyArray<string | number>, value: number | undefined, max: number, unit: string) => {
  if (value !== undefined && !(Math.abs(value) <= max)) issues.push({ path, message: `${value} ${unit} is more than this service takes (at most ${max})` })
}

const count = (issues: Array<LimitIssue>, path: string, length: number, max: number) => {
  if (length > max) issues.push({ path: [path], message: `${length} ${path} are more than this service renders (at most ${max})` })
}

/** Every way `composition` exceeds the service's limits (none: it may be rendered). */
export const compositionIssues = (composition: Composition): ReadonlyArray<LimitIssue> => {
  const issues: Array<LimitIssue> = []
  const { side, pixels, seconds } = limits
  count(issues, "clips", composition.clips.length, limits.clips)
  count(issues, "overlays", composition.overlays.length, limits.overlays)
  if (composition.audio.tracks.length > limits.tracks) {
    issues.push({ path: ["audio", "tracks"], message: `${composition.audio.tracks.length} tracks are more than this service mixes (at most ${limits.tracks})` })
  }
  const { width, height } = composition.output
  within(issues, ["output", "width"], width, side, "pixels")
  within(issues, ["output", "height"], height, side, "pixels")
  if (width <= side && height <= side && width * height > pixels) {
    issues.push({ path: ["output"], message: `${width}x${height} is ${width * height} pixels, more than this service renders (at most ${pixels} pixels)` })
  }
  let total = 0
  composition.clips.forEach((clip, i) => {
    within(issues, ["clips", i, "start"], clip.start, seconds, "seconds")
    within(issues, ["clips", i, "end"], clip.end, seconds, "seconds")
    within(issues, ["clips", i, "duration"], clip.duration, seconds, "seconds")
    total += clip.duration ?? 0
  })
  if (total > limits.compositionSeconds) {
    issues.push({ path: ["clips"], message: `the clips last ${total} seconds, more than this service composes (at most ${limits.compositionSeconds})` })
  }
  composition.overlays.forEach((overlay, i) => {
    for (const key of ["start", "end", "fadeIn", "fadeOut"] as const) within(issues, ["overlays", i, key], overlay[key], seconds, "seconds")
    if (overlay._tag !== "text") {
      within(issues, ["overlays", i, "width"], overlay.width, side, "pixels")
      within(issues, ["overlays", i, "height"], overlay.height, side, "pixels")
    }
    const position = overlay.position
    if (position !== undefined) {
      if ("x" in position) {
        within(issues, ["overlays", i, "position", "x"], position.x, limits.offset, "pixels")
        within(issues, ["overlays", i, "position", "y"], position.y, limits.offset, "pixels")
      } else {
        within(issues, ["overlays", i, "position", "margin"], position.margin, side, "pixels")
      }
    }
  })
  composition.audio.tracks.forEach((track, i) => within(issues, ["audio", "tracks", i, "start"], track.start, seconds, "seconds"))
  if (composition.layout._tag === "picture-in-picture" && composition.layout.position !== undefined) {
    const position = composition.layout.position
    if ("x" in position) {
      within(issues, ["layout", "position", "x"], position.x, limits.offset, "pixels")
      within(issues, ["layout", "position", "y"], position.y, limits.offset, "pixels")
    } else {
      within(issues, ["layout", "position", "margin"], position.margin, side, "pixels")
    }
  }
  return issues
}
