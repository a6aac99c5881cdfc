/**
 * The ambient pad of `POST /audio/ambient`, as a pure function from an `AmbientSpec` to the
 * ffmpeg command. This is synthesis by formula, not AI music: ffmpeg's `aevalsrc` sums sine
 * partials (each doubled with a slightly detuned copy) of two chords that cross-fade into each
 * other every few seconds, each partial gently swelling; then echo, a low-pass, a short stereo
 * delay, and fades in and out. A seed picks the key, the tempo of the chord changes and the
 * motion of the partials, so the same spec always gives the same sound.
 *
 * The formula is built from numbers formatted here; no caller text reaches ffmpeg.
 *
 * @module
 */
import type { AmbientMood, AmbientSpec } from "./Api.js"
import { num } from "./FilterGraph.js"

/** The ffmpeg command of an ambient pad and what it makes. */
export interface AmbientPlan {
  readonly args: ReadonlyArray<string>
  /** Seconds. */
  readonly duration: number
  readonly mimeType: "audio/wav"
  readonly extension: "wav"
}

/** Two chords per mood, as semitones from a root MIDI note. */
export const moods: {
  readonly [M in AmbientMood]: { readonly root: number; readonly first: ReadonlyArray<number>; readonly second: ReadonlyArray<number> }
} = {
  // C major 7 and F major 7.
  calm: { root: 48, first: [-12, 0, 7, 11, 16], second: [-19, -7, 0, 4, 9] },
  // A minor and F major 7.
  dark: { root: 45, first: [-12, 0, 7, 12, 15], second: [-16, -4, 3, 7, 12] },
  // D add9 and G add9, an octave higher.
  bright: { root: 50, first: [-12, 0, 7, 14, 16], second: [-7, 5, 12, 14, 19] }
}

/** A small deterministic random source (mulberry32): numbers in [0, 1) from a seed. */
export const random = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const frequency = (midi: number): number => 440 * 2 ** ((midi - 69) / 12)

// Partials under 1 kHz need no more: synthesised at 8 kHz (cheap), then resampled.
const synthesisRate = 8000

/** The `aevalsrc` expression of a pad (mono, `t` in seconds), peaking at most at `peak`. */
export const padExpression = (mood: AmbientMood, seed: number, peak: number): string => {
  const next = random(seed)
  const chords = moods[mood]
  const transpose = [-2, -1, 0, 1, 2, 3][Math.floor(next() * 6)] ?? 0
  const period = 14 + next() * 8
  const chord = (notes: ReadonlyArray<number>) => {
    const weights = notes.map((_, k) => (k === 0 ? 0.6 : 1 / (1 + 0.3 * k)))
    const total = weights.reduce((sum, w) => sum + w, 0)
    const terms = notes.map((note, k) => {
      const f = frequency(chords.root + transpose + note)
      const detune = 1.002 + next() * 0.003
      const rate = 0.03 + next() * 0.08
      const phase = next() * 2 * Math.PI
      // Two oscillators (up to 2) swelling between 0.3 and 1: the chord peaks below 2 * total.
      return `${num(weights[k]! / total)}*(sin(2*PI*${num(f)}*t)+sin(2*PI*${num(f * detune)}*t))*(0.65+0.35*sin(2*PI*${num(rate)}*t+${num(phase)}))`
    })
    return terms.join("+")
  }
  const swing = `cos(2*PI*t/${num(period)})`
  return `${num(peak / 2)}*((0.5+0.5*${swing})*(${chord(chords.first)})+(0.5-0.5*${swing})*(${chord(chords.second)}))`
}

/** The ffmpeg command writing the pad of `spec` as a 48 kHz stereo wav at `outputPath`. */
export const ambientPlan = (spec: AmbientSpec, outputPath: string): AmbientPlan => {
  const duration = spec.duration
  const fade = Math.min(3, duration / 4)
  // The echo adds up to about half again: leave it room under the asked peak.
  const expression = padExpression(spec.mood ?? "calm", spec.seed ?? 1, (spec.volume ?? 0.7) / 1.5)
  const filters = [
    "aresample=48000",
    "pan=stereo|c0=c0|c1=c0",
    "aecho=0.9:0.9:110|190:0.3|0.2",
    "adelay=delays=0|12",
    "lowpass=f=2400",
    `afade=t=in:st=0:d=${num(fade)}`,
    `afade=t=out:st=${num(duration - fade)}:d=${num(fade)}`,
    `atrim=duration=${num(duration)}`
  ]
  return {
    args: [
      ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y"],
      ...["-f", "lavfi", "-i", `aevalsrc=exprs=${expression}:s=${synthesisRate}:d=${num(duration)}`],
      ...["-af", filters.join(",")],
      ...["-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2", "-f", "wav", outputPath]
    ],
    duration,
    mimeType: "audio/wav",
    extension: "wav"
  }
}
