/**
 * The `automarket` executable: the commands of `Commands.ts` over the default providers,
 * with the undici HTTP client and local services run as child processes. Failures print one
 * line on stderr and exit with code 1; Ctrl-C interrupts (exit code 130), which stops every
 * service started.
 *
 * Telemetry: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans and metrics are exported over OTLP
 * (`telemetry/Telemetry.ts`, loaded only then); its layer is the outermost, so it closes last
 * and what is buffered is sent on the way out, after a long-running command (`serve gateway`,
 * `worker`) is stopped with Ctrl-C or SIGTERM too. Otherwise the tracer is off.
 *
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Commands from "./Commands.js"
import { describeFailure } from "./Failure.js"

// The providers (and the services and clients they import) are loaded only when a command runs:
// `--help`, `--version` and `--completions` print and exit without them, so they start fast.
const builtinOnly = process.argv.slice(2).some((arg) => arg === "--help" || arg === "-h" || arg === "--version" || arg === "--completions")
const layer = builtinOnly
  ? Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./BuiltinLayer.js")), (m) => m.layer))
  : Layer.unwrapEffect(
      Effect.map(
        Effect.all([Effect.promise(() => import("../registry/AutoMarket.js")), Effect.promise(() => import("./DurableHost.js"))]),
        // Every call the commands pay for goes into the ledger of the state database, under the budgets when set.
        ([AutoMarket, DurableHost]) => Layer.merge(AutoMarket.layer, DurableHost.spendingLayer)
      )
    )

// Off unless asked for; the exporter posts with fetch (no undici client to build for it).
const telemetry = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? Layer.unwrapEffect(
      Effect.map(
        Effect.promise(() => Promise.all([import("../telemetry/Telemetry.js"), import("@effect/platform/FetchHttpClient")])),
        ([Telemetry, FetchHttpClient]) => Layer.provide(Layer.orDie(Telemetry.layerFromEnv), FetchHttpClient.layer)
      )
    )
  : Layer.setTracerEnabled(false)

const program = Effect.suspend(() => Commands.run(process.argv)).pipe(
  Effect.provide(layer),
  Effect.tapErrorCause((cause) => {
    const line = describeFailure(cause)
    return line === undefined ? Effect.void : Console.error(`automarket: ${line}`)
  }),
  Effect.provide(telemetry)
)

// Exit codes: 0 done, 1 failed, 130 interrupted (Ctrl-C), as shells expect.
NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
})
