/**
 * What every local service (FFmpeg, TTS, STT) is started with, and the line it prints once it
 * listens, which `ServiceRuntime` reads to learn the port it got.
 *
 * @module
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

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
   * The bearer token every route but `/health` requires (`Authorization: Bearer <token>`).
   * Default none: on loopback the front door's `Host` and `Origin` checks keep web pages out;
   * beyond loopback a token is required unless `allowNoToken`.
   */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Serve beyond loopback without a token: anyone who can reach the port can run jobs. Default false. */
  readonly allowNoToken?: boolean | undefined
  /**
   * Names the `Host` header may give besides the address a request arrived on (and the loopback
   * names on loopback): `name` or `name:port` (e.g. a name, or a port mapped by Docker).
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /**
   * Hosts the FFmpeg service fetches URL inputs from (`example.com`, `*.example.com`, or `*` for
   * any host); whatever they resolve to must still be a public address. Default none: URL inputs
   * are refused. The other services take no URL inputs.
   */
  readonly allowUrlHosts?: ReadonlyArray<string> | undefined
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

/** The environment variable the `serve` command reads the bearer token from (safer than `--token`, which `ps` shows). */
export const tokenEnvVar = "AUTOMARKET_SERVICE_TOKEN"

/** Whether a bind address keeps the service on this machine: `localhost`, 127.0.0.0/8, `::1` (or empty: 127.0.0.1). */
export const bindsLoopback = (host: string): boolean => {
  const plain = host.trim().replace(/^\[|\]$/g, "").toLowerCase()
  return plain === "" || plain === "localhost" || plain === "::1" || /^127\.\d+\.\d+\.\d+$/.test(plain) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(plain)
}

/** The most jobs a service runs at once: more would only make them fight over the cores. */
export const maxConcurrency = 256

/**
 * What is wrong with `options`, as one line naming the option and the value given, or undefined
 * when a service can start with them. A service checks this before it binds: a negative body
 * limit or a port out of range would otherwise start a service that refuses every request, or
 * fail later as an internal error.
 */
export const optionsProblem = (options: ServerOptions): string | undefined => {
  const { port, maxBodyBytes, concurrency, token } = options
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `the port must be an integer from 0 to 65535, not ${port}`
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) return `the largest request body must be a positive number of bytes, not ${maxBodyBytes}`
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > maxConcurrency) {
    return `the concurrency must be an integer from 1 to ${maxConcurrency}, not ${concurrency}`
  }
  if (options.host.trim() !== options.host || /\s/.test(options.host)) return `the host to bind must be an address or a name, not ${JSON.stringify(options.host)}`
  // The front door reads the token as one word after "Bearer": an empty one, or one with a
  // space in it, could never be sent.
  if (token !== undefined && !/^\S+$/.test(Redacted.value(token))) return "the token must be one or more characters without spaces"
  const { maxQueued, engineTimeout } = options
  if (maxQueued !== undefined && (!Number.isInteger(maxQueued) || maxQueued < 0)) return `the queue beyond the running jobs must be an integer of 0 or more, not ${maxQueued}`
  if (engineTimeout !== undefined) {
    const timeout = Duration.decodeUnknown(engineTimeout)
    // Zero would stop every run at once; an infinite one lets a run that never ends keep its slot.
    if (Option.isNone(timeout) || !Duration.isFinite(timeout.value) || Duration.toMillis(timeout.value) <= 0) {
      return `the engine timeout must be a positive, finite duration, not ${String(engineTimeout)}`
    }
  }
  return undefined
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

/**
 * The environment variable set (to `1`) for a service a process of ours started for itself
 * (`ProcessRuntime`): such a service stops when that process is gone.
 */
export const serviceChildVar = "AUTOMARKET_SERVICE_CHILD"

/** Print the announcement line for the server in context. */
export const announce = (service: ServiceName): Effect.Effect<void, never, HttpServer.HttpServer> =>
  HttpServer.addressWith((address) =>
    Effect.sync(() => {
      if (address._tag === "TcpAddress") {
        process.stdout.write(`${announcePrefix}${JSON.stringify({ service, host: address.hostname, port: address.port })}\n`)
      }
    })
  )
