/**
 * Where a fal model's output holds its result: the first file of the kind wanted, in each output
 * shape fal's models use (`images[]`, `video`, `audio_file`, a bare URL ...), and a transcript
 * (`text` with `chunks[].timestamp`).
 *
 * @module
 */
import * as Predicate from "effect/Predicate"
import type { ResultMedia, TranscriptResult } from "../../../jobs/Results.js"

/** Where the first file of a result is, for the kind of asset wanted; undefined when the output has none. */
export const resultMedia = (output: unknown, kind: "image" | "video" | "audio"): ResultMedia | undefined => {
  if (!Predicate.isRecord(output)) return undefined
  const keys: Record<typeof kind, ReadonlyArray<string>> = {
    image: ["images", "image", "output"],
    video: ["video", "videos", "output"],
    audio: ["audio_file", "audio", "audio_url", "audios", "output"]
  }
  for (const key of keys[kind]) {
    const found = fileOf(output[key])
    if (found !== undefined) return found
  }
  return undefined
}

const fileOf = (value: unknown): ResultMedia | undefined => {
  if (typeof value === "string" && /^(https?:|data:)/.test(value)) return { url: value }
  if (Array.isArray(value)) return value.length > 0 ? fileOf(value[0]) : undefined
  if (!Predicate.isRecord(value) || typeof value.url !== "string") return undefined
  const num = (key: string) => (typeof value[key] === "number" ? value[key] : undefined)
  return {
    url: value.url,
    contentType: typeof value.content_type === "string" ? value.content_type : undefined,
    width: num("width"),
    height: num("height"),
    duration: num("duration")
  }
}

/** A transcript from a speech-to-text output: `text`, and `chunks[].timestamp` as segments. */
export const transcriptOf = (output: unknown): TranscriptResult | undefined => {
  if (!Predicate.isRecord(output) || typeof output.text !== "string") return undefined
  const chunks = Array.isArray(output.chunks) ? output.chunks : []
  const segments = chunks.flatMap((chunk) => {
    if (!Predicate.isRecord(chunk) || typeof chunk.text !== "string" || !Array.isArray(chunk.timestamp)) return []
    const [start, end] = chunk.timestamp
    return typeof start === "number" ? [{ start, end: typeof end === "number" ? end : start, text: chunk.text.trim() }] : []
  })
  const language = Array.isArray(output.inferred_languages) && typeof output.inferred_languages[0] === "string" ? output.inferred_languages[0] : undefined
  return { text: output.text.trim(), segments, ...(language !== undefined ? { language } : {}) }
}
