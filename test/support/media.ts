/**
 * Looking at media in tests: ffprobe's view of a file or of bytes (codec, container, duration,
 * sample rate), and making speech with flite directly (independent of the TTS service).
 * Every process started here runs to completion before the function returns.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** What ffprobe says about a media file. */
export interface Probe {
  readonly codec: string
  readonly formatName: string
  readonly duration: number
  readonly sampleRate: number
  readonly channels: number
}

/** ffprobe a file (first audio stream). */
export const probeFile = (path: string): Probe => {
  const out = execFileSync(
    "ffprobe",
    ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name,sample_rate,channels:format=format_name,duration", "-of", "json", path],
    { encoding: "utf8" }
  )
  const json = JSON.parse(out) as {
    streams?: Array<{ codec_name?: string; sample_rate?: string; channels?: number }>
    format?: { format_name?: string; duration?: string }
  }
  const stream = json.streams?.[0] ?? {}
  return {
    codec: stream.codec_name ?? "",
    formatName: json.format?.format_name ?? "",
    duration: Number(json.format?.duration ?? "NaN"),
    sampleRate: Number(stream.sample_rate ?? "NaN"),
    channels: stream.channels ?? 0
  }
}

/** ffprobe bytes (written to a temporary file, removed afterwards). */
export const probeBytes = (bytes: Uint8Array): Probe => {
  const dir = mkdtempSync(join(tmpdir(), "automarket-probe-"))
  try {
    const path = join(dir, "media")
    writeFileSync(path, bytes)
    return probeFile(path)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Speak `text` with flite's `voice` into the WAV file `path`. */
export const fliteSpeak = (text: string, path: string, voice = "slt"): void => {
  execFileSync("flite", ["-voice", voice, "-t", text, "-o", path])
}

/** Convert a media file with ffmpeg (`args` are the output options, e.g. `["-c:a", "libmp3lame"]`). */
export const ffmpegConvert = (input: string, output: string, args: ReadonlyArray<string> = []): void => {
  execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", input, ...args, output])
}
