/**
 * Running one of our local services in the foreground: build its server layer, print the
 * announcement line (which `ServiceRuntime` reads to learn the port), and serve until
 * interrupted; interruption (Ctrl-C, SIGTERM) shuts the service down gracefully.
 *
 * @module
 */
import type * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

/** Serve until interrupted; prints the announcement line once listening. */
export const serve = (service: ServiceName, options: ServerOptions): Effect.Effect<never, unknown> =>
  Effect.scoped(
    Effect.flatMap(Layer.build(serverLayer(service, options)), (context) =>
      Effect.zipRight(Effect.provide(announce(service), context), Effect.never)
    )
  )
