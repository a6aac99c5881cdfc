/**
 * `automarket serve gateway`: the HTTP gateway (`gateway/Gateway.ts`) over this process's
 * registry, with its state (generations, keys, spend) in the embedded SQLite file or on
 * Postgres (`--database`). On Postgres the gateway is also a runner of the generations cluster
 * (on a free loopback port), so any number of gateways and workers share the generations: any
 * of them answers for any generation. Loaded only by that command.
 *
 * @module
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { InvalidInput } from "../../domain/Errors.js"
import { stateDir } from "../../durable/Durable.js"
import * as Access from "../../gateway/Access.js"
import * as Gateway from "../../gateway/Gateway.js"
import * as Keys from "../../gateway/Keys.js"
import * as RateLimiter from "../../gateway/RateLimiter.js"
import * as Webhooks from "../../gateway/Webhooks.js"
import { announcePrefix, bindsLoopback } from "../../services/kit/ServerOptions.js"
import { freePort, hostLayer } from "../DurableHost.js"

/** What `serve gateway` was asked. */
export interface GatewayArgs {
  readonly host: string
  readonly port: number
  readonly database: Option.Option<string>
  readonly noAuth: boolean
  readonly maxUploadBytes: number | undefined
  readonly version: string
}

/** Run the gateway until interrupted; announces `automarket-listening {"service":"gateway",...}` on stdout once bound. */
export const serveGateway = (args: GatewayArgs) =>
  Effect.gen(function* () {
    if (args.noAuth && !bindsLoopback(args.host)) {
      return yield* Effect.fail(
        new InvalidInput({ provider: "gateway", detail: "--no-auth is for a gateway on loopback only: anyone who can reach it could spend your providers' money", issues: ["--no-auth"] })
      )
    }
    const runner = Option.isSome(args.database) ? { host: "127.0.0.1", port: yield* freePort("127.0.0.1") } : undefined
    const durable = hostLayer(args.database, runner)
    const access = args.noAuth ? Access.layerOpen : Access.layerKeys().pipe(Layer.provide(Keys.layer), Layer.provide(RateLimiter.layer()))
    const announce = Layer.effectDiscard(
      Effect.flatMap(HttpServer.HttpServer, (server) =>
        Effect.sync(() => {
          const address = server.address
          if (address._tag === "TcpAddress") {
            process.stdout.write(`${announcePrefix}${JSON.stringify({ service: "gateway", host: address.hostname, port: address.port })}\n`)
          }
        })
      )
    )
    const gateway = Gateway.layer({
      host: args.host,
      port: args.port,
      stateDir: stateDir(),
      database: Option.isSome(args.database) ? "postgres" : "sqlite",
      version: args.version,
      ...(args.maxUploadBytes !== undefined ? { maxUploadBytes: args.maxUploadBytes } : {})
    })
    return yield* Layer.launch(
      announce.pipe(
        Layer.provide(gateway),
        Layer.provide(access),
        Layer.provide(Webhooks.layer()),
        // The ledger is the state database's (the durable layer offers it). The budgets of AUTOMARKET_BUDGETS
        // come from main's context, under both: the OpenAI routes' calls and the generations' submits ask them.
        Layer.provideMerge(durable)
      )
    )
  })
