/**
 * Subtitles from timed transcript segments: cues no longer than two short lines, written as
 * SubRip (.srt).
 *
 * @module
 */
import type { TextSegment } from "../domain/Asset.js"

/** One subtitle cue, in seconds. */
export interface Cue {
  readonly start: number
  readonly end: number
  readonly text: string
}

/**
 * Split segments into cues of at most `maxChars` characters, sharing each segment's time in
 * proportion to the characters of each part.
 */
export const cues = (segments: ReadonlyArray<TextSegment>, maxChars = 42): ReadonlyArray<Cue> =>
  segments.flatMap((segment) => {
    const words = segment.text.trim().split(/\s+/).filter((w) => w !== "")
    if (words.length === 0) return []
    const parts: Array<string> = []
    for (const word of words) {
      const last = parts[parts.length - 1]
      if (last !== undefined && last.length + 1 + word.length <= maxChars) parts[parts.length - 1] = `${last} ${word}`
      else parts.push(word)
    }
    const total = parts.reduce((sum, part) => sum + part.length, 0)
    const span = Math.max(0, segment.end - segment.start)
    let at = segment.start
    return parts.map((part) => {
      const length = (span * part.length) / total
      const cue = { start: at, end: at + length, text: part }
      at += length
      return cue
    })
  })

const timestamp = (seconds: number): string => {
  const ms = Math.max(0, Math.round(seconds * 1000))
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = Math.floor((ms % 60_000) / 1000)
  const pad = (n: number, width = 2) => String(n).padStart(width, "0")
  return `${pad(h)}:${pad(m)}:${pad(s)},${pad(ms % 1000, 3)}`
}

/** SubRip text of the cues. */
export const toSrt = (list: ReadonlyArray<Cue>): string =>
  list.map((cue, i) => `${i + 1}\n${timestamp(cue.start)} --> ${timestamp(cue.end)}\n${cue.text}\n`).join("\n")

const vttTimestamp = (seconds: number): string => timestamp(seconds).replace(",", ".")

/** WebVTT text of the cues. */
export const toVtt = (list: ReadonlyArray<Cue>): string =>
  `WEBVTT\n\n${list.map((cue) => `${vttTimestamp(cue.start)} --> ${vttTimestamp(cue.end)}\n${cue.text}\n`).join("\n")}`
