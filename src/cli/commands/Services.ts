/**
 * `automarket services up|down|status|logs [name]`: the local services as Docker containers
 * (Docker mode of the `ServiceRuntime`, engine at `DOCKER_HOST`). `up` leaves the containers
 * running after the command ends; `down` stops and removes the containers of ours (labelled
 * `automarket.managed=true`) and touches no other container.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import Docker from "dockerode"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as DockerRuntime from "../../local/DockerRuntime.js"
import { type ServiceName, ServiceNames } from "../../services/kit/ServerOptions.js"
import { InvalidOptions } from "../Errors.js"
import { table } from "../Format.js"

const name = Args.choice(ServiceNames.map((service) => [service, service] as const), { name: "name" }).pipe(
  Args.withDescription("One service (ffmpeg, tts, stt); all three when absent"),
  Args.optional
)

const chosen = (service: Option.Option<ServiceName>): ReadonlyArray<ServiceName> =>
  Option.match(service, { onNone: () => ServiceNames, onSome: (one) => [one] })

/** `automarket services up [name]`: start the containers (or reuse healthy ones) and leave them running. */
export const up = Command.make(
  "up",
  {
    name,
    timeout: Options.integer("timeout").pipe(Options.withDescription("Seconds to wait for health"), Options.withDefault(120)),
    port: Options.integer("port").pipe(Options.withDescription("Port to serve on (one service only; default its usual port)"), Options.optional),
    memoryMb: Options.integer("memory-mb").pipe(Options.withDescription("Memory limit of a container, MiB"), Options.withDefault(1024)),
    cpus: Options.float("cpus").pipe(Options.withDescription("CPU limit of a container"), Options.withDefault(2))
  },
  ({ cpus, memoryMb, name, port, timeout }) =>
    Effect.scoped(
      Effect.gen(function* () {
        if (Option.isSome(port) && Option.isNone(name)) return yield* new InvalidOptions({ message: "--port needs a service name" })
        const runtime = yield* DockerRuntime.makeDocker({
          keep: true,
          startTimeout: `${timeout} seconds`,
          memoryBytes: memoryMb * 1024 * 1024,
          cpus,
          ...(Option.isSome(port) ? { port: () => port.value } : {})
        })
        for (const service of chosen(name)) {
          const url = yield* runtime.ensure(service)
          yield* Console.log(`${service}\t${url}`)
        }
      })
    )
).pipe(Command.withDescription("Start the local services as Docker containers and leave them running"))

/** `automarket services down [name]`: stop and remove our containers. */
export const down = Command.make("down", { name }, ({ name }) =>
  Effect.gen(function* () {
    const docker = new Docker()
    let removed = 0
    for (const service of chosen(name)) removed += yield* DockerRuntime.removeContainers(docker, service)
    yield* Console.log(`removed ${removed} container${removed === 1 ? "" : "s"}`)
  })
).pipe(Command.withDescription("Stop and remove the containers of the local services"))

/** `automarket services status [name]`: running and healthy, per service. */
export const status = Command.make("status", { name }, ({ name }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const runtime = yield* DockerRuntime.makeDocker()
      const rows = yield* Effect.forEach(chosen(name), runtime.status, { concurrency: "unbounded" })
      yield* Console.log(
        table(
          ["SERVICE", "RUNNING", "HEALTHY", "URL", "ERROR"],
          rows.map((row) => [row.service, row.running ? "yes" : "no", row.healthy ? "yes" : "no", row.url ?? "", row.error ?? ""])
        )
      )
    })
  )
).pipe(Command.withDescription("Show whether each service's container runs and answers its health check"))

/** `automarket services logs [name]`: the last lines of our containers' output. */
export const logs = Command.make(
  "logs",
  { name, tail: Options.integer("tail").pipe(Options.withDescription("Lines per container"), Options.withDefault(100)) },
  ({ name, tail }) =>
    Effect.gen(function* () {
      const docker = new Docker()
      for (const service of chosen(name)) {
        const found = yield* DockerRuntime.listContainers(docker, service)
        if (found.length === 0 && Option.isSome(name)) yield* Console.log(`${service}: no container`)
        for (const info of found) {
          const text = yield* DockerRuntime.containerLogs(docker, service, info.Id, tail)
          yield* Console.log(`== ${service} (${info.Names[0]?.replace(/^\//, "") ?? info.Id.slice(0, 12)}, ${info.State}) ==`)
          if (text.length > 0) yield* Console.log(text.replace(/\n$/, ""))
        }
      }
    })
).pipe(Command.withDescription("Print the last lines of the services' container logs"))

/** `automarket services`: the local services as Docker containers. */
export const services = Command.make("services").pipe(
  Command.withDescription("Run the local services as Docker containers (engine at DOCKER_HOST): up, down, status, logs"),
  Command.withSubcommands([up, down, status, logs])
)
