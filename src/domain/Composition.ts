/**
 * A video composition as a typed value: clips concatenated (with transitions) or laid out
 * side by side, in a grid or picture-in-picture; overlays of images, videos and text with
 * position, size, timing and fades; an audio plan (keep, replace, mix, duck); the output
 * format. The FFmpeg provider turns it into a filter graph with a pure function: nothing a
 * caller writes is passed to ffmpeg as filter text.
 *
 * Media are referenced by `src`: a local file path or an http(s) URL.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidInput } from "./Errors.js"

const Seconds = Schema.NonNegative.annotations({ description: "seconds" })
const Pixels = Schema.Int.pipe(Schema.positive()).annotations({ description: "pixels" })

/**
 * One input: a video, optionally trimmed to [start, end) in seconds, or a still image (png,
 * jpeg, webp; recognised by probing the file) shown for `duration` seconds.
 *
 * - A video clip plays from `start` (default 0) to `end` (default its end). With `duration`
 *   (not together with `end`) it lasts exactly that long from `start`: cut when the video is
 *   longer, its last frame held (and its sound padded with silence) when it is shorter.
 * - An image clip needs `duration` (it is refused without one) and takes no `start`/`end`: the
 *   picture is scaled and letterboxed to the output size, at the output frame rate, silent.
 *
 * With a concat transition of `t` seconds, neighbouring clips overlap by `t`: clips of
 * `d1 + t`, `d2 + t` and `d3` seconds make a video of `d1 + d2 + d3` seconds.
 */
export const Clip = Schema.Struct({
  src: Schema.NonEmptyString,
  start: Schema.optional(Seconds),
  end: Schema.optional(Seconds),
  /** Seconds the clip lasts (> 0): required for a still image, a trim (or hold) for a video. */
  duration: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.greaterThan(0)).annotations({ description: "seconds" }))
})
/** One input: a video or a still image. */
export type Clip = typeof Clip.Type

/** The kinds of transition between concatenated clips (ffmpeg xfade's names). */
export const TransitionKind = Schema.Literal(
  "fade",
  "dissolve",
  "wipeleft",
  "wiperight",
  "wipeup",
  "wipedown",
  "slideleft",
  "slideright",
  "circleopen",
  "circleclose",
  "fadeblack",
  "fadewhite"
)
/** A transition kind. */
export type TransitionKind = typeof TransitionKind.Type

/** A transition between each pair of concatenated clips. */
export const Transition = Schema.Struct({
  kind: TransitionKind,
  duration: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(5))
})
/** A transition. */
export type Transition = typeof Transition.Type

/** A named corner, edge or centre of the frame. */
export const Anchor = Schema.Literal(
  "top-left",
  "top",
  "top-right",
  "left",
  "center",
  "right",
  "bottom-left",
  "bottom",
  "bottom-right"
)
/** A named place in the frame. */
export type Anchor = typeof Anchor.Type

/** Where an overlay goes: a named anchor (with a margin) or pixel coordinates of its top-left corner. */
export const Position = Schema.Union(
  Schema.Struct({ anchor: Anchor, margin: Schema.optional(Schema.Int.pipe(Schema.nonNegative())) }),
  Schema.Struct({ x: Schema.Int, y: Schema.Int })
)
/** Where an overlay goes. */
export type Position = typeof Position.Type

/** How clips are arranged. */
export const Layout = Schema.Union(
  Schema.TaggedStruct("concat", { transition: Schema.optional(Transition) }),
  Schema.TaggedStruct("side-by-side", {}),
  Schema.TaggedStruct("grid", { columns: Schema.Int.pipe(Schema.between(1, 8)) }),
  Schema.TaggedStruct("picture-in-picture", {
    position: Schema.optional(Position),
    /** Width of the inset as a fraction of the frame width. */
    scale: Schema.optional(Schema.Number.pipe(Schema.between(0.05, 0.9)))
  })
)
/** How clips are arranged. */
export type Layout = typeof Layout.Type

const timing = {
  start: Schema.optional(Seconds),
  end: Schema.optional(Seconds),
  fadeIn: Schema.optional(Seconds),
  fadeOut: Schema.optional(Seconds),
  position: Schema.optional(Position)
}

/** An image drawn over the video. */
export const ImageOverlay = Schema.TaggedStruct("image", {
  src: Schema.NonEmptyString,
  width: Schema.optional(Pixels),
  height: Schema.optional(Pixels),
  ...timing
})

/** A video drawn over the video. */
export const VideoOverlay = Schema.TaggedStruct("video", {
  src: Schema.NonEmptyString,
  width: Schema.optional(Pixels),
  height: Schema.optional(Pixels),
  ...timing
})

/** Text drawn over the video. */
export const TextOverlay = Schema.TaggedStruct("text", {
  text: Schema.String.pipe(Schema.maxLength(500)),
  fontSize: Schema.optional(Schema.Int.pipe(Schema.between(6, 400))),
  /** A colour as `#rrggbb` or a plain colour name. */
  color: Schema.optional(Schema.String.pipe(Schema.pattern(/^(#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$/))),
  /** A box behind the text, same colour syntax. */
  box: Schema.optional(Schema.String.pipe(Schema.pattern(/^(#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$/))),
  ...timing
})

/** Something drawn over the video. */
export const Overlay = Schema.Union(ImageOverlay, VideoOverlay, TextOverlay)
/** Something drawn over the video. */
export type Overlay = typeof Overlay.Type

/**
 * What a track is when the audio mode is `"duck"`: a `"voice"` (narration) lowers every
 * `"bed"` (music) and the clips' own sound while it is audible. Other modes ignore it.
 */
export const AudioRole = Schema.Literal("voice", "bed")
/** What a track is in a ducked mix. */
export type AudioRole = typeof AudioRole.Type

/** An audio track added to the video. */
export const AudioTrack = Schema.Struct({
  src: Schema.NonEmptyString,
  /** Linear gain, 1 = unchanged. */
  volume: Schema.optional(Schema.Number.pipe(Schema.between(0, 4))),
  /** Seconds into the output at which the track starts. */
  start: Schema.optional(Seconds),
  /**
   * Only for `mode: "duck"`: whether the track is a voice (ducks) or a bed (is ducked). See
   * `AudioPlan` for the roles of tracks that leave it out.
   */
  role: Schema.optional(AudioRole)
})
/** An audio track added to the video. */
export type AudioTrack = typeof AudioTrack.Type

/**
 * What happens to sound: keep the clips' own audio, replace it with the tracks, mix the tracks
 * in, or duck: the voice tracks are mixed on top and, while any of them is audible, lower the
 * bed tracks and the clips' own sound (a sidechain compressor keyed by the voices).
 *
 * Which tracks are voices in `"duck"` mode:
 * - no track has a `role`: every track but the last is a voice and the last is the bed (so
 *   narrations with their `start`s followed by one music track just work); a single track is a
 *   voice that ducks the clips' sound;
 * - some tracks have a `role`: those keep it; the others are voices when some track is marked
 *   `"bed"`, and beds otherwise (mark only the music, or only the narrations).
 * At least one track must be a voice.
 */
export const AudioPlan = Schema.Struct({
  mode: Schema.Literal("keep", "replace", "mix", "duck"),
  tracks: Schema.optionalWith(Schema.Array(AudioTrack), { default: () => [] })
})
/** What happens to sound. */
export type AudioPlan = typeof AudioPlan.Type

/** The output format. */
export const Output = Schema.Struct({
  width: Schema.optionalWith(Pixels, { default: () => 1280 }),
  height: Schema.optionalWith(Pixels, { default: () => 720 }),
  fps: Schema.optionalWith(Schema.Number.pipe(Schema.between(1, 120)), { default: () => 30 }),
  videoCodec: Schema.optionalWith(Schema.Literal("h264", "vp9"), { default: () => "h264" as const }),
  audioCodec: Schema.optionalWith(Schema.Literal("aac", "opus", "mp3"), { default: () => "aac" as const }),
  format: Schema.optionalWith(Schema.Literal("mp4", "webm", "mkv"), { default: () => "mp4" as const })
})
/** The output format. */
export type Output = typeof Output.Type

/** A whole composition. */
export const Composition = Schema.Struct({
  clips: Schema.NonEmptyArray(Clip),
  layout: Schema.optionalWith(Layout, { default: () => ({ _tag: "concat" as const }) }),
  overlays: Schema.optionalWith(Schema.Array(Overlay), { default: () => [] }),
  audio: Schema.optionalWith(AudioPlan, { default: () => ({ mode: "keep" as const, tracks: [] }) }),
  output: Schema.optionalWith(Output, { default: () => Output.make({}) })
})
/** A whole composition (decoded: defaults filled in). */
export type Composition = typeof Composition.Type
/** A composition as written by a caller (defaults may be left out). */
export type CompositionInput = typeof Composition.Encoded

const isRemote = (src: string) => /^https?:\/\//i.test(src)

/** The composition with every relative local `src` made absolute against `base`. */
export const resolvePaths = (composition: Composition, base: string): Composition => {
  const resolve = (src: string) => (isRemote(src) || src.startsWith("/") ? src : `${base.replace(/\/+$/, "")}/${src}`)
  return {
    ...composition,
    clips: [
      { ...composition.clips[0], src: resolve(composition.clips[0].src) },
      ...composition.clips.slice(1).map((clip) => ({ ...clip, src: resolve(clip.src) }))
    ],
    overlays: composition.overlays.map((overlay) => (overlay._tag === "text" ? overlay : { ...overlay, src: resolve(overlay.src) })),
    audio: { ...composition.audio, tracks: composition.audio.tracks.map((track) => ({ ...track, src: resolve(track.src) })) }
  }
}

/** The local files a composition reads (every `src` that is not an http(s) URL), in order, each once. */
export const localSources = (composition: Composition): ReadonlyArray<string> => [
  ...new Set(
    [
      ...composition.clips.map((clip) => clip.src),
      ...composition.overlays.flatMap((overlay) => (overlay._tag === "text" ? [] : [overlay.src])),
      ...composition.audio.tracks.map((track) => track.src)
    ].filter((src) => !isRemote(src))
  )
]

/**
 * Decode a composition written by a caller (defaults filled in); a spec that does not fit is
 * `InvalidInput` with the schema's account of what is wrong, `where` naming its origin.
 */
export const decode = (input: unknown, provider: string, where: string): Effect.Effect<Composition, InvalidInput> =>
  Effect.mapError(
    Schema.decodeUnknown(Composition)(input),
    (error) => new InvalidInput({ provider, detail: `${where}: ${error.message}`, issues: [error.message] })
  )
