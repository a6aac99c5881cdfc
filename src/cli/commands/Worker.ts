/**
 * `automarket worker [--database postgres://...] [--port N]`: a process that runs durable
 * generations until it is stopped. On Postgres it is one runner of a cluster (listening on a
 * loopback port for the others); any number share the generations, and when one dies its shards,
 * with the generations on them, move to the others. Without a database it runs the embedded
 * SQLite file's generations (those a `generate --detach` or a crash left).
 *
 * @module
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { databaseOf, databaseOption, freePort, hostLayer } from "../DurableHost.js"
import { output } from "../Output.js"

/** `automarket worker`. */
export const worker = Command.make(
  "worker",
  {
    database: databaseOption,
    host: Options.text("host").pipe(
      Options.withDescription("The address other workers reach this one on (default 127.0.0.1)"),
      Options.withDefault("127.0.0.1")
    ),
    port: Options.integer("port").pipe(Options.withDescription("The runner's port (default: a free one)"), Options.optional)
  },
  ({ database, host, port }) =>
    Effect.gen(function* () {
      const io = yield* output
      // Stopping releases the worker's shards in the database; if the database is gone that would
      // wait forever: a stop signal ends the process within 10 s whatever happens.
      yield* Effect.sync(() => {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          process.once(signal, () => void setTimeout(() => process.exit(signal === "SIGTERM" ? 143 : 130), 10_000).unref())
        }
      })
      const url = yield* databaseOf(database)
      const runnerPort = Option.isSome(port) ? port.value : yield* freePort(host)
      const { Generations } = yield* Effect.promise(() => import("../../durable/Durable.js"))
      yield* Effect.gen(function* () {
        const generations = yield* Generations
        // The engine resumes its shards' generations by itself; those journaled but never started are started here.
        const resumed = yield* generations.resumeAll
        yield* Effect.sync(() =>
          io.progress.write(
            `worker ready: ${Option.isSome(url) ? `runner ${host}:${runnerPort} on ${url.value.replace(/\/\/[^@/]*@/, "//")}` : "embedded state file"}; ${resumed.length} unfinished generation${resumed.length === 1 ? "" : "s"}\n`
          )
        )
        return yield* Effect.never
      }).pipe(Effect.provide(hostLayer(url, Option.isSome(url) ? { host, port: runnerPort } : undefined)))
    })
).pipe(Command.withDescription("Run durable generations until stopped (one runner of many on a Postgres database, or the embedded file's)"))
