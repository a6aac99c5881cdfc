/**
 * Subtitles and plain transcripts from timed text segments, written byte for byte as whisper's
 * writers write them: the one renderer of SubRip, WebVTT, TSV and plain text, used by the STT
 * service (its `/asr` answers), the command line (`transcribe --format srt|vtt`) and the demo
 * (the `.srt` beside its video).
 *
 * - `cues` splits long segments into cues short enough to read (two short lines at most);
 * - `renderSrt` writes `HH:MM:SS,mmm` times, `renderVtt` `MM:SS.mmm` (hours only when non-zero),
 *   `renderTsv` integer milliseconds, `renderTxt` one segment a line.
 *
 * @module
 */
import type { TextSegment } from "../domain/Asset.js"

/** One subtitle cue: a timed piece of text short enough to read at once. Times in seconds. */
export type Cue = TextSegment

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

/**
 * A time as whisper's writers print it: `[HH:]MM:SS<marker>mmm`, hours always in SRT, only when
 * non-zero in VTT; negative times are clamped to zero.
 */
export const formatTimestamp = (seconds: number, alwaysIncludeHours: boolean, decimalMarker: "." | ","): string => {
  let ms = Math.round(Math.max(0, seconds) * 1000)
  const hours = Math.floor(ms / 3_600_000)
  ms -= hours * 3_600_000
  const minutes = Math.floor(ms / 60_000)
  ms -= minutes * 60_000
  const secs = Math.floor(ms / 1000)
  ms -= secs * 1000
  const pad = (n: number, width = 2) => String(n).padStart(width, "0")
  const hoursMarker = alwaysIncludeHours || hours > 0 ? `${pad(hours)}:` : ""
  return `${hoursMarker}${pad(minutes)}:${pad(secs)}${decimalMarker}${pad(ms, 3)}`
}

// An arrow inside a cue's text would read as a timing line.
const cueText = (segment: Pick<TextSegment, "text">) => segment.text.trim().replace(/-->/g, "->")

/** The plain transcript: one segment a line. */
export const renderTxt = (segments: ReadonlyArray<Pick<TextSegment, "text">>): string =>
  segments.map((s) => `${s.text.trim()}\n`).join("")

/** SubRip (.srt): numbered cues, each followed by a blank line. */
export const renderSrt = (segments: ReadonlyArray<TextSegment>): string =>
  segments
    .map((s, i) => `${i + 1}\n${formatTimestamp(s.start, true, ",")} --> ${formatTimestamp(s.end, true, ",")}\n${cueText(s)}\n\n`)
    .join("")

/** WebVTT (.vtt): the `WEBVTT` header, then the cues, each followed by a blank line. */
export const renderVtt = (segments: ReadonlyArray<TextSegment>): string =>
  `WEBVTT\n\n${segments
    .map((s) => `${formatTimestamp(s.start, false, ".")} --> ${formatTimestamp(s.end, false, ".")}\n${cueText(s)}\n\n`)
    .join("")}`

/** Tab-separated `start`, `end` (integer milliseconds) and `text`, under a header line. */
export const renderTsv = (segments: ReadonlyArray<TextSegment>): string =>
  `start\tend\ttext\n${segments
    .map((s) => `${Math.round(1000 * s.start)}\t${Math.round(1000 * s.end)}\t${s.text.trim().replace(/\t/g, " ")}\n`)
    .join("")}`
