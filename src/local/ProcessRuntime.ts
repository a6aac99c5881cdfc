/**
 * Process mode of the `ServiceRuntime` (the embedded default): each local service (FFmpeg, TTS,
 * STT) runs as a child process of ours on a free loopback port, started on first use by this
 * package's own `automarket serve <service>`, found through the line it announces, health-checked,
 * started again when it died, and stopped with everything it started when the layer's scope
 * closes. A child also stops by itself when this process is gone (killed without closing the
 * scope: SIGKILL, a crash), so none is left running.
 *
 * @module
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type MediaError, ServiceNotRunning, Timeout } from "../domain/Errors.js"
import { announcePrefix, type ServiceName, serviceChildVar } from "../services/kit/ServerOptions.js"
import { runtimeParts, ServiceRuntime, type ServiceRuntimeService, type ServiceStatus } from "./ServiceRuntime.js"

/** How process mode starts services. */
export interface ProcessRuntimeOptions {
  /**
   * The command that starts a service and prints the announcement line. Default: this
   * package's `automarket serve <service> --port 0 --host 127.0.0.1` run by the current Node.
   */
  readonly command?: (service: ServiceName) => readonly [string, ...Array<string>]
  /** Deadline for the announcement and the first healthy answer. Default 60 s. */
  readonly startTimeout?: Duration.DurationInput
  /** Extra environment of the child processes. */
  readonly env?: Readonly<Record<string, string>>
}

interface Instance {
  readonly url: string
  readonly process: CommandExecutor.Process
  readonly scope: Scope.CloseableScope
  readonly stderr: Ref.Ref<ReadonlyArray<string>>
}

/** The root folder of this package (holding package.json and bin/). */
export const packageRoot = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = path.join(dir, "package.json")
    if (fs.existsSync(manifest) && fs.existsSync(path.join(dir, "bin", "automarket.mjs"))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error("automarket: package root not found above " + fileURLToPath(import.meta.url))
    dir = parent
  }
}

/** The default command: this package's CLI, `serve`, on a free loopback port. */
export const defaultServeCommand = (service: ServiceName): readonly [string, ...Array<string>] => [
  process.execPath,
  path.join(packageRoot(), "bin", "automarket.mjs"),
  "serve",
  service,
  "--port",
  "0",
  "--host",
  "127.0.0.1"
]

const keepLast = (lines: ReadonlyArray<string>, line: string, max = 20) =>
  lines.length >= max ? [...lines.slice(lines.length - max + 1), line] : [...lines, line]

/**
 * Process mode: each service runs as a child process, started on first use and stopped (with
 * everything it started) when the layer's scope closes. A service that died is started again
 * on the next use.
 */
export const makeProcess = (
  options: ProcessRuntimeOptions = {}
): Effect.Effect<ServiceRuntimeService, never, CommandExecutor.CommandExecutor | HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const layerScope = yield* Effect.scope
    const executor = yield* CommandExecutor.CommandExecutor
    const { healthy, serialized } = yield* runtimeParts
    const deadline = Duration.decode(options.startTimeout ?? "60 seconds")
    const commandOf = options.command ?? defaultServeCommand
    const instances = yield* Ref.make(new Map<ServiceName, Instance>())

    const notRunning = (service: ServiceName, why: string) =>
      new ServiceNotRunning({ provider: service, service, detail: `service: ${why}` })

    const start = (service: ServiceName): Effect.Effect<Instance, MediaError> =>
      Effect.gen(function* () {
        const scope = yield* Scope.fork(layerScope, ExecutionStrategy.sequential)
        const [cmd, ...args] = commandOf(service)
        const command = Command.make(cmd, ...args).pipe(
          Command.env({ ...options.env, [serviceChildVar]: "1" })
        )
        const child = yield* Command.start(command).pipe(
          Effect.provideService(CommandExecutor.CommandExecutor, executor),
          Scope.extend(scope),
          Effect.mapError((error) => notRunning(service, `could not start ${cmd}: ${error.message}`))
        )
        const stderr = yield* Ref.make<ReadonlyArray<string>>([])
        const announced = yield* Deferred.make<{ readonly host: string; readonly port: number }>()
        yield* child.stderr.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) => Ref.update(stderr, (lines) => keepLast(lines, line))),
          Effect.ignore,
          Effect.forkIn(scope)
        )
        yield* child.stdout.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) => {
            const address = line.startsWith(announcePrefix) ? parseAddress(line.slice(announcePrefix.length)) : undefined
            return address !== undefined ? Deferred.succeed(announced, address) : Effect.void
          }),
          Effect.ignore,
          Effect.forkIn(scope)
        )
        const died = Effect.flatMap(Effect.either(child.exitCode), (code) =>
          Effect.flatMap(Ref.get(stderr), (lines) =>
            Effect.fail(
              notRunning(
                service,
                `exited (${code._tag === "Right" ? `code ${code.right}` : "unknown code"}) before it was healthy${lines.length > 0 ? `: ${lines.slice(-5).join(" | ")}` : ""}`
              )
            )
          )
        )
        const waitHealthy = Effect.gen(function* () {
          const address = yield* Deferred.await(announced)
          const url = `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
          yield* Effect.repeat(healthy(url), { until: (ok) => ok, schedule: Schedule.spaced("100 millis") })
          return url
        })
        const url = yield* Effect.raceFirst(waitHealthy, died).pipe(
          Effect.timeoutFail({
            duration: deadline,
            onTimeout: () =>
              new Timeout({ provider: service, after: deadline, detail: `service: not healthy within ${Duration.format(deadline)}` })
          }),
          Effect.tapError(() => Scope.close(scope, Exit.void))
        )
        return { url, process: child, scope, stderr }
      })

    const running = (instance: Instance) => Effect.orElseSucceed(instance.process.isRunning, () => false)

    const ensure = (service: ServiceName): Effect.Effect<string, MediaError> =>
      serialized(service)(
        Effect.gen(function* () {
          const current = (yield* Ref.get(instances)).get(service)
          if (current !== undefined) {
            if (yield* running(current)) return current.url
            yield* Scope.close(current.scope, Exit.void)
          }
          const instance = yield* start(service)
          yield* Ref.update(instances, (map) => new Map(map).set(service, instance))
          return instance.url
        })
      )

    const status = (service: ServiceName): Effect.Effect<ServiceStatus> =>
      Effect.gen(function* () {
        const current = (yield* Ref.get(instances)).get(service)
        if (current === undefined) return { service, running: false, healthy: false }
        const isRunning = yield* running(current)
        const isHealthy = isRunning && (yield* healthy(current.url))
        const lines = yield* Ref.get(current.stderr)
        return {
          service,
          running: isRunning,
          healthy: isHealthy,
          url: current.url,
          ...(!isHealthy && lines.length > 0 ? { error: lines[lines.length - 1] } : {})
        }
      })

    const stop = (service: ServiceName): Effect.Effect<void> =>
      serialized(service)(
        Effect.gen(function* () {
          const current = (yield* Ref.get(instances)).get(service)
          if (current === undefined) return
          yield* Scope.close(current.scope, Exit.void)
          yield* Ref.update(instances, (map) => {
            const next = new Map(map)
            next.delete(service)
            return next
          })
        })
      )

    return { mode: "process", ensure, status, stop }
  })

const parseAddress = (text: string): { readonly host: string; readonly port: number } | undefined => {
  try {
    const u: unknown = JSON.parse(text)
    return typeof u === "object" && u !== null && "host" in u && "port" in u && typeof u.host === "string" && typeof u.port === "number"
      ? { host: u.host, port: u.port }
      : undefined
  } catch {
    return undefined
  }
}

/** Process mode as a layer. */
export const layerProcess = (
  options?: ProcessRuntimeOptions
): Layer.Layer<ServiceRuntime, never, CommandExecutor.CommandExecutor | HttpClient.HttpClient> =>
  Layer.scoped(ServiceRuntime, makeProcess(options))

