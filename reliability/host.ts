/**
 * A process holding emulators (Emulators.ts), so that the soak suite can talk to a provider over
 * real sockets from another process, and kill that process in the middle of a request.
 *
 *   node --import tsx reliability/host.ts '{"providers":["falai"],"timing":{...},"keys":["k"]}'
 *
 * Prints one JSON line a event on stdout: `{"event":"ready","urls":{id: baseUrl},"control":url}`
 * once listening, and `{"event":"held","id":..,"path":..,"stats":{..}}` when a request is held
 * for a `killed` fault (with the emulator's counts at that moment: the process is about to die).
 * `GET <control>/stats` answers every emulator's counts. Stops on SIGTERM or SIGINT.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import * as Emulators from "./Emulators.js"
import type { RemoteId, Timing } from "./FaultPlan.js"

/** What the host is asked to run. */
export interface HostConfig {
  readonly providers: ReadonlyArray<RemoteId>
  readonly timing: Timing
  readonly keys: ReadonlyArray<string>
}

const config: HostConfig = JSON.parse(process.argv[2] ?? "{}")
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

const scope = Effect.runSync(Scope.make())
const running = new Map<RemoteId, Emulators.RunningEmulator>()
const statsOf = () => Object.fromEntries([...running].map(([id, emulator]) => [id, emulator.stats()]))

for (const id of config.providers) {
  const emulator = await Effect.runPromise(
    Scope.extend(
      Emulators.start(id, {
        timing: config.timing,
        keys: config.keys,
        onHold: (held, path) => say({ event: "held", id: held, path, stats: running.get(held)?.stats() })
      }),
      scope
    )
  )
  running.set(id, emulator)
}

const control = http.createServer((req, res) => {
  res.writeHead(req.url === "/stats" ? 200 : 404, { "content-type": "application/json" })
  res.end(JSON.stringify(req.url === "/stats" ? statsOf() : { error: "not found" }))
})
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve))
const address = control.address()
const port = typeof address === "object" && address !== null ? address.port : 0
say({ event: "ready", urls: Object.fromEntries([...running].map(([id, emulator]) => [id, emulator.baseUrl])), control: `http://127.0.0.1:${port}` })

const stop = () => {
  control.closeAllConnections()
  control.close()
  void Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0))
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
