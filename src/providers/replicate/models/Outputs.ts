/**
 * Where a Replicate prediction's output holds its result: the first file URL (an output is a URL,
 * a list of them, or an object holding one), and a transcript (Whisper's `{transcription,
 * segments}`, `{text}`, WhisperX's `{segments}`, or a plain string).
 *
 * @module
 */
import * as Predicate from "effect/Predicate"
import type { TranscriptResult } from "../../../jobs/Results.js"

/** The first file URL in an output: a URL string, a list of them, or an object holding one. */
export const firstFileUrl = (output: unknown): string | undefined => {
  if (typeof output === "string") return /^(https?:|data:)/.test(output) ? output : undefined
  if (Array.isArray(output)) {
    for (const item of output) {
      const found = firstFileUrl(item)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (Predicate.isRecord(output)) {
    for (const value of Object.values(output)) {
      const found = firstFileUrl(value)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * A transcript from a speech-to-text output: whisper's `{transcription, segments}`, `{text}`,
 * WhisperX's `{segments, detected_language}` (the text is its segments' joined), or a string.
 */
export const transcriptOf = (output: unknown): TranscriptResult | undefined => {
  if (typeof output === "string") return { text: output.trim(), segments: [] }
  if (!Predicate.isRecord(output)) return undefined
  const segments = (Array.isArray(output.segments) ? output.segments : []).flatMap((segment) =>
    Predicate.isRecord(segment) && typeof segment.start === "number" && typeof segment.end === "number" && typeof segment.text === "string"
      ? [{ start: segment.start, end: segment.end, text: segment.text.trim() }]
      : []
  )
  const text =
    typeof output.transcription === "string"
      ? output.transcription
      : typeof output.text === "string"
        ? output.text
        : Array.isArray(output.segments)
          ? segments.map((segment) => segment.text).join(" ")
          : undefined
  if (text === undefined) return undefined
  const language = typeof output.detected_language === "string" ? output.detected_language : undefined
  return { text: text.trim(), segments, ...(language !== undefined ? { language } : {}) }
}
