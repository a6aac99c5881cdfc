/**
 * The `automarket` executable: the commands of `Commands.ts` over the default providers,
 * with the undici HTTP client and local services run as child processes. Failures print one
 * line on stderr and exit with code 1; Ctrl-C interrupts, which stops every service started.
 *
 * @module
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { defaultProviders } from "../registry/DefaultProviders.js"
import * as ProviderRegistry from "../registry/ProviderRegistry.js"
import * as ServiceRuntime from "../runtime/ServiceRuntime.js"
import * as Commands from "./Commands.js"
import { describeFailure } from "./Failure.js"

const services = ServiceRuntime.layerProcess().pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))

const MainLayer = ProviderRegistry.layer(...defaultProviders).pipe(
  Layer.provide(services),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(NodeContext.layer)
)

const program = Effect.suspend(() => Commands.run(process.argv)).pipe(
  Effect.provide(MainLayer),
  Effect.tapErrorCause((cause) => {
    const line = describeFailure(cause)
    return line === undefined ? Effect.void : Console.error(`automarket: ${line}`)
  })
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
