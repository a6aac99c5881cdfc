/**
 * Serving a local service: its `HttpApi` handlers on a Node HTTP server bound to
 * `options.host:options.port` (127.0.0.1 when no host is given; port 0 picks a free one, read it
 * from the `HttpServer` the layer exposes), behind the service's guard with the front door its
 * options describe (`Host` and `Origin` checks, the bearer token), with the OpenAPI document at
 * `/openapi.json` when the service it stands in for serves one. A service given impossible options
 * (`ServerOptions.optionsProblem`), or asked to listen beyond loopback without a token (unless its
 * options say to serve it open), does not start: it fails with `ServiceStartFailed`, one line.
 *
 * Shutdown lets the answers in flight go out: when the layer's scope closes, the service's own
 * resources close first (its work is interrupted and its requests answered), then connections
 * are closed as they fall idle, then, after about two seconds, whatever is left. A client's
 * keep-alive connection does not hold the service open.
 *
 * @module
 */
import type * as Etag from "@effect/platform/Etag"
import type * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as HttpPlatform from "@effect/platform/HttpPlatform"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import { type ServiceError, ServiceStartFailed } from "./Errors.js"
import * as Guard from "./Guard.js"
import { bindsLoopback, optionsProblem, type ServerOptions, type ServiceName, tokenEnvVar } from "./ServerOptions.js"

// Close idle connections as answers finish (polling, at most 100 times 20 ms), then all of them.
const closeConnections = (server: Http.Server): Effect.Effect<void> => {
  const count = Effect.async<number>((resume) => {
    server.getConnections((error, n) => resume(Effect.succeed(error === null ? n : 0)))
  })
  const poll = (left: number): Effect.Effect<void> =>
    Effect.flatMap(
      Effect.zipRight(
        Effect.sync(() => server.closeIdleConnections()),
        count
      ),
      (n) => (n === 0 || left === 0 ? Effect.void : Effect.zipRight(Effect.sleep("20 millis"), poll(left - 1)))
    )
  return Effect.zipRight(poll(100), Effect.sync(() => server.closeAllConnections()))
}

/** What the Node server provides to a service's handlers: files, processes, paths, file answers. */
export type Platform = NodeContext.NodeContext | HttpPlatform.HttpPlatform | Etag.Generator | HttpServer.HttpServer

/** How a service is served. */
export interface ServeOptions<G extends ServiceError> {
  /** The service's name, in a refusal to start. Default `service`. */
  readonly service?: ServiceName
  readonly server: ServerOptions
  /** The service's guard policy. */
  readonly guard: Guard.GuardPolicy<G>
  /** Serve the API's OpenAPI document at `/openapi.json`. */
  readonly openApi?: boolean
}

/**
 * The service `api`, implemented by `handlers` (the `HttpApiBuilder.api` layer with its groups),
 * listening as `options.server` says. Fails with `ServeError` when the address cannot be bound,
 * or with what building the handlers fails with (a service that cannot start).
 */
export const layer = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R, EH, G extends ServiceError>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  handlers: Layer.Layer<HttpApi.Api, EH, Platform>,
  options: ServeOptions<G>
): Layer.Layer<HttpServer.HttpServer, EH | HttpServerError.ServeError | ServiceStartFailed> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const { host: bind, token, allowNoToken, allowedHosts } = options.server
      const service = options.service ?? "service"
      const problem = optionsProblem(options.server)
      if (problem !== undefined) return yield* new ServiceStartFailed({ service, message: `${service}: ${problem}` })
      if (!bindsLoopback(bind) && token === undefined && allowNoToken !== true) {
        return yield* new ServiceStartFailed({
          service,
          message:
            `${service}: refusing to listen on ${bind} without a token: anyone who can reach it could run jobs; ` +
            `set ${tokenEnvVar} (or --token), or give --allow-no-token to serve it open`
        })
      }
      const server = Http.createServer()
      // A layer of its own, provided to the handlers: it closes after them (their work is
      // interrupted and answered first) and before the server itself.
      const closing = Layer.scopedDiscard(Effect.addFinalizer(() => closeConnections(server)))
      const app = HttpApiBuilder.serve().pipe(
        Layer.provide(HttpApiBuilder.middleware(api, Guard.make({ ...options.guard, frontDoor: { hosts: allowedHosts, token } }))),
        Layer.provide(options.openApi === true ? HttpApiBuilder.middlewareOpenApi() : Layer.empty),
        Layer.provide(handlers),
        Layer.provide(closing)
      )
      const host = bind === "" ? "127.0.0.1" : bind
      return Layer.provideMerge(app, NodeHttpServer.layer(() => server, { port: options.server.port, host }))
    })
  )
