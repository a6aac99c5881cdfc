/**
 * The `automarket` executable: the commands of `Commands.ts` over the default providers,
 * with the undici HTTP client and local services run as child processes. Failures print one
 * line on stderr and exit with code 1; Ctrl-C interrupts, which stops every service started.
 *
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as AutoMarket from "../AutoMarket.js"
import * as Commands from "./Commands.js"
import { describeFailure } from "./Failure.js"

const program = Effect.suspend(() => Commands.run(process.argv)).pipe(
  Effect.provide(AutoMarket.layer),
  Effect.tapErrorCause((cause) => {
    const line = describeFailure(cause)
    return line === undefined ? Effect.void : Console.error(`automarket: ${line}`)
  })
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
