/**
 * Running one of our local services in the foreground: build its server layer, print the
 * announcement line (which `ServiceRuntime` reads to learn the port), and serve until
 * interrupted; interruption (Ctrl-C, SIGTERM) shuts the service down gracefully. A service a
 * process started for itself may also stop with that process (`withParent`): one killed without
 * a chance to stop its services (SIGKILL, a crash) does not leave them running.
 *
 * @module
 */
import type * as HttpServer from "@effect/platform/HttpServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as FfmpegServer from "./ffmpeg/Server.js"
import * as SttServer from "./stt/Server.js"
import * as TtsServer from "./tts/Server.js"
import { announce, type ServerOptions, type ServiceName } from "./kit/ServerOptions.js"

/** A service's server layer. */
export const serverLayer = (service: ServiceName, options: ServerOptions): Layer.Layer<HttpServer.HttpServer, unknown> => {
  switch (service) {
    case "tts":
      return TtsServer.layer(options)
    case "stt":
      return SttServer.layer(options)
    case "ffmpeg":
      return FfmpegServer.layer(options)
  }
}

/**
 * Completes when the process that started this one is gone: this process was handed to another
 * parent (init, a subreaper), which is how a parent killed outright shows. Checked `every` (default 500 ms).
 */
export const parentGone = (every: Duration.DurationInput = "500 millis"): Effect.Effect<void> =>
  Effect.suspend(() => {
    const parent = process.ppid
    return Effect.asVoid(Effect.repeat(Effect.sync(() => process.ppid), { schedule: Schedule.spaced(every), until: (ppid) => ppid !== parent }))
  })

/** How long a service serves. */
export interface Lifetime {
  /** Also stop (gracefully, as when interrupted) when the process that started this one is gone. Default false. */
  readonly withParent?: boolean
}

/** Serve until interrupted (or the parent is gone, with `withParent`); prints the announcement line once listening. */
export const serve = (service: ServiceName, options: ServerOptions, lifetime: Lifetime = {}): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.flatMap(Layer.build(serverLayer(service, options)), (context) =>
      Effect.zipRight(Effect.provide(announce(service), context), lifetime.withParent === true ? parentGone() : Effect.never)
    )
  )
