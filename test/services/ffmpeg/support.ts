/**
 * Helpers of the FFmpeg service and provider tests: starting a server layer in this process,
 * generating media with the real ffmpeg and flite, and looking at results with ffprobe and
 * frame grabs. Every process started here is waited for (execFileSync).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { execFileSync, spawnSync } from "node:child_process"
import { join } from "node:path"

/** A service running in this process. */
export interface RunningServer {
  readonly url: string
  /** Close the layer's scope (jobs interrupted, files removed) and wait for it. */
  readonly stop: () => Promise<void>
}

/** Build a server layer (bound to port 0 for a free port) and read its address. */
export const startServer = async <E>(layer: Layer.Layer<HttpServer.HttpServer, E>): Promise<RunningServer> => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
    if (address._tag !== "TcpAddress") throw new Error(`expected a TCP address, got ${address._tag}`)
    return { url: `http://127.0.0.1:${address.port}`, stop: () => runtime.dispose() }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}

const ffmpeg = (args: ReadonlyArray<string>): void => {
  execFileSync("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args], { stdio: ["ignore", "ignore", "pipe"] })
}

/** A clip of one colour with a sine tone (or silent, without an audio stream). */
export const makeClip = (
  dir: string,
  name: string,
  colour: string,
  options: { readonly seconds?: number; readonly size?: string; readonly audio?: boolean; readonly frequency?: number } = {}
): string => {
  const path = join(dir, name)
  const seconds = options.seconds ?? 2
  ffmpeg([
    "-f",
    "lavfi",
    "-i",
    `color=c=${colour}:s=${options.size ?? "320x180"}:r=30:d=${seconds}`,
    ...(options.audio === false ? [] : ["-f", "lavfi", "-i", `sine=frequency=${options.frequency ?? 440}:duration=${seconds}`]),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    ...(options.audio === false ? [] : ["-c:a", "aac", "-shortest"]),
    path
  ])
  return path
}

/** A solid-colour PNG. */
export const makePng = (dir: string, name: string, colour: string, size: string): string => {
  const path = join(dir, name)
  ffmpeg(["-f", "lavfi", "-i", `color=c=${colour}:s=${size}`, "-frames:v", "1", path])
  return path
}

/** Steady white noise. */
export const makeNoise = (dir: string, name: string, seconds = 3): string => {
  const path = join(dir, name)
  ffmpeg(["-f", "lavfi", "-i", `anoisesrc=a=0.05:c=white:d=${seconds}:r=44100`, path])
  return path
}

/** Speech from flite's slt voice. */
export const makeSpeech = (dir: string, name: string, text: string): string => {
  const path = join(dir, name)
  execFileSync("flite", ["-voice", "slt", "-t", text, "-o", path], { stdio: "ignore" })
  return path
}

/** What ffprobe says about a file. */
export interface Probed {
  readonly duration: number
  readonly formatName: string
  readonly streams: ReadonlyArray<{
    readonly codec_type: string
    readonly codec_name: string
    readonly width?: number
    readonly height?: number
    readonly sample_rate?: string
    readonly channels?: number
  }>
}

/** ffprobe a file. */
export const probe = (path: string): Probed => {
  const json: { format: { duration: string; format_name: string }; streams: Probed["streams"] } = JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path], { encoding: "utf8" })
  )
  return { duration: Number(json.format.duration), formatName: json.format.format_name, streams: json.streams }
}

/** The frame at `seconds` as raw RGB24 bytes. */
export const frameAt = (path: string, seconds: number): Buffer =>
  execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-ss", `${seconds}`, "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], {
    maxBuffer: 64 * 1024 * 1024
  })

/** The RGB value of one pixel of a raw RGB24 frame of the given width. */
export const pixel = (frame: Buffer, width: number, x: number, y: number): readonly [number, number, number] => {
  const i = (y * width + x) * 3
  return [frame[i]!, frame[i + 1]!, frame[i + 2]!]
}

/** Whether a pixel is (nearly) pure red, allowing for 4:2:0 colour conversion. */
export const isRed = ([r, g, b]: readonly [number, number, number]): boolean => r > 200 && g < 50 && b < 50

/** The integrated loudness of a file in LUFS, measured by ffmpeg's loudnorm filter (its input_i). */
export const integratedLoudness = (path: string): number => {
  const result = spawnSync("ffmpeg", ["-nostdin", "-hide_banner", "-nostats", "-i", path, "-af", "loudnorm=print_format=json", "-f", "null", "-"], {
    encoding: "utf8"
  })
  const match = /"input_i"\s*:\s*"(-?[0-9.]+)"/.exec(result.stderr)
  if (match === null) throw new Error(`no loudness measured for ${path}: ${result.stderr.slice(-500)}`)
  return Number(match[1])
}

/** A steady sine tone (mono wav). */
export const makeTone = (dir: string, name: string, frequency: number, seconds: number): string => {
  const path = join(dir, name)
  ffmpeg(["-f", "lavfi", "-i", `sine=frequency=${frequency}:duration=${seconds}:sample_rate=48000`, path])
  return path
}

const levelOf = (stderr: string, pattern: RegExp, path: string): number => {
  const match = pattern.exec(stderr)
  if (match === null) throw new Error(`no level measured for ${path}: ${stderr.slice(-500)}`)
  return match[1] === "-inf" ? Number.NEGATIVE_INFINITY : Number(match[1])
}

/**
 * The RMS level in dBFS of `path`'s sound over [start, start + seconds), after the optional
 * `filter` (e.g. a band-pass to hear one source in a mix), by ffmpeg's astats.
 */
export const rmsLevel = (path: string, start: number, seconds: number, filter?: string): number => {
  const result = spawnSync(
    "ffmpeg",
    [
      ...["-nostdin", "-hide_banner", "-nostats", "-ss", `${start}`, "-t", `${seconds}`, "-i", path, "-vn", "-af"],
      `${filter !== undefined ? `${filter},` : ""}astats=measure_perchannel=none:measure_overall=RMS_level`,
      ...["-f", "null", "-"]
    ],
    { encoding: "utf8" }
  )
  return levelOf(result.stderr, /RMS level dB:\s*(-?[0-9.]+|-inf)/, path)
}

/** The mean volume in dBFS of `path` (optionally of [start, start + seconds)), by ffmpeg's volumedetect. */
export const meanVolume = (path: string, window?: { readonly start: number; readonly seconds: number }): number => {
  const result = spawnSync(
    "ffmpeg",
    [
      "-nostdin",
      "-hide_banner",
      "-nostats",
      ...(window !== undefined ? ["-ss", `${window.start}`, "-t", `${window.seconds}`] : []),
      ...["-i", path, "-vn", "-af", "volumedetect", "-f", "null", "-"]
    ],
    { encoding: "utf8" }
  )
  return levelOf(result.stderr, /mean_volume:\s*(-?[0-9.]+|-inf) dB/, path)
}
