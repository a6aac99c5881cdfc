/**
 * What every local service (FFmpeg, TTS, STT) is started with, and the line it prints once it
 * listens, which `ServiceRuntime` reads to learn the port it got.
 *
 * @module
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** How a local service is started. */
export interface ServerOptions {
  /** Interface to bind. Default 127.0.0.1: a service is never exposed beyond the machine unless asked. */
  readonly host: string
  /** Port to bind; 0 picks a free one (announced on stdout). */
  readonly port: number
  /** Directory for uploads and results; created if missing; nothing is written outside it. Default: a fresh temp dir. */
  readonly workDir?: string | undefined
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number
  /** Jobs run at once; others wait in a queue (counted in /health). */
  readonly concurrency: number
  /**
   * Longest one engine run (an ffmpeg, flite or pocketsphinx process) may take: past it the
   * engine is stopped (SIGTERM, then SIGKILL to its process group) and the job fails.
   * Default `defaultEngineTimeout` (30 minutes).
   */
  readonly engineTimeout?: Duration.DurationInput | undefined
  /**
   * Requests that may wait (receiving their upload or queued for a slot) beyond the `concurrency`
   * running ones; past them a request is answered 503 with `Retry-After` before its body is read.
   * Default 16.
   */
  readonly maxQueued?: number | undefined
}

/** The names of our local services. */
export const ServiceNames = ["ffmpeg", "tts", "stt"] as const
/** The name of a local service. */
export type ServiceName = (typeof ServiceNames)[number]

/** Each service's default port: the ports of the real services they stand in for. */
export const defaultPorts: { readonly [S in ServiceName]: number } = { ffmpeg: 8006, tts: 8004, stt: 9000 }

/**
 * How long one engine run may take unless told otherwise: long enough for a long composition
 * on a slow machine, short enough that a run that never ends gives its slot back.
 */
export const defaultEngineTimeout: Duration.Duration = Duration.minutes(30)

/** Default options of a service. */
export const defaultServerOptions = (service: ServiceName): ServerOptions => ({
  host: "127.0.0.1",
  port: defaultPorts[service],
  maxBodyBytes: service === "ffmpeg" ? 512 * 1024 * 1024 : 64 * 1024 * 1024,
  concurrency: 2,
  engineTimeout: defaultEngineTimeout
})

/** The prefix of the line a service prints when it listens: `automarket-listening {"service":..,"host":..,"port":..}`. */
export const announcePrefix = "automarket-listening "

/** Print the announcement line for the server in context. */
export const announce = (service: ServiceName): Effect.Effect<void, never, HttpServer.HttpServer> =>
  HttpServer.addressWith((address) =>
    Effect.sync(() => {
      if (address._tag === "TcpAddress") {
        process.stdout.write(`${announcePrefix}${JSON.stringify({ service, host: address.hostname, port: address.port })}\n`)
      }
    })
  )
