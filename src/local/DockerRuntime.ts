/**
 * Docker mode of the `ServiceRuntime`: each local service (FFmpeg, TTS, STT) runs in a
 * container of its image (`automarket/<service>:latest`, built by `scripts/docker-images.sh`),
 * driven through dockerode (which reads `DOCKER_HOST`). Containers use host networking and bind
 * 127.0.0.1 on the service's port, run with an init process and memory/CPU limits, and carry the
 * labels `automarket.managed=true`, `automarket.service=<name>` and `automarket.port=<port>`.
 *
 * On first use a healthy container of ours already serving that service and port is reused (and
 * left running when the scope closes: we did not start it); otherwise one is created, started and
 * waited for (health polled on a `Schedule`, within a deadline). A container that died is started
 * again on the next use. Containers this runtime created are stopped and removed when its scope
 * closes, unless `keep` is set (the CLI's `services up`).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import Docker from "dockerode"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { type MediaError, ServiceNotRunning, Timeout } from "../domain/Errors.js"
import { defaultPorts, type ServiceName, ServiceNames } from "../services/kit/ServerOptions.js"
import { runtimeParts, ServiceRuntime, type ServiceRuntimeService, type ServiceStatus } from "./ServiceRuntime.js"

/** The label every container of ours carries (value `"true"`). */
export const managedLabel = "automarket.managed"
/** The label naming the service a container runs. */
export const serviceLabel = "automarket.service"
/** The label holding the port a container's service listens on. */
export const portLabel = "automarket.port"

/** The default image of a service: `automarket/<service>:latest`. */
export const defaultImage = (service: ServiceName): string => `automarket/${service}:latest`

/** How Docker mode runs the services. */
export interface DockerRuntimeOptions {
  /** The dockerode client. Default `new Docker()`, which reads `DOCKER_HOST`. */
  readonly docker?: Docker
  /** The image of a service. Default `automarket/<service>:latest`. */
  readonly image?: (service: ServiceName) => string
  /** The port a service listens on (host networking). Default 8006 (ffmpeg), 8004 (tts), 9000 (stt). */
  readonly port?: (service: ServiceName) => number
  /** Interface the services bind. Default 127.0.0.1. */
  readonly host?: string
  /** Memory limit of a container, in bytes. Default 1 GiB. */
  readonly memoryBytes?: number
  /** CPU limit of a container, in CPUs (may be fractional). Default 2. */
  readonly cpus?: number
  /** Deadline for a container to answer its health check. Default 60 s. */
  readonly startTimeout?: Duration.DurationInput
  /** How often health is polled while waiting. Default every 250 ms. */
  readonly healthSchedule?: Schedule.Schedule<unknown>
  /**
   * The whole command line of a container (replacing the image's entrypoint), e.g. for a
   * stand-in service. Default: the image's `serve <service>` with `--port` and `--host`.
   */
  readonly command?: (service: ServiceName, port: number) => ReadonlyArray<string>
  /** Extra environment of the containers (never logged). */
  readonly env?: Readonly<Record<string, string>>
  /** Leave the containers this runtime started running when its scope closes. Default false. */
  readonly keep?: boolean
}

interface Instance {
  readonly id: string
  readonly url: string
  /** Created by this runtime: stopped and removed when the scope closes. */
  readonly ours: boolean
}

type ContainerInspect = Awaited<ReturnType<Docker.Container["inspect"]>>

const notRunning = (service: ServiceName, why: string) =>
  new ServiceNotRunning({ provider: service, service, detail: `service (docker): ${why}` })

const reason = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return /ENOENT|ECONNREFUSED|EACCES/.test(message)
    ? `no Docker engine answers at ${process.env["DOCKER_HOST"] ?? "/var/run/docker.sock"} (${message})`
    : message
}

const statusCode = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined

/** A Docker Engine call as an effect; failures become ServiceNotRunning naming the step. */
const call = <A>(service: ServiceName, step: string, f: () => Promise<A>): Effect.Effect<A, ServiceNotRunning> =>
  Effect.tryPromise({ try: f, catch: (error) => notRunning(service, `${step}: ${reason(error)}`) })

/** Like `call`, with a 404 (no such image or container) as `undefined`. */
const callOrMissing = <A>(service: ServiceName, step: string, f: () => Promise<A>): Effect.Effect<A | undefined, ServiceNotRunning> =>
  Effect.tryPromise({ try: f, catch: (error) => error }).pipe(
    Effect.catchAll((error) => (statusCode(error) === 404 ? Effect.succeed(undefined) : Effect.fail(notRunning(service, `${step}: ${reason(error)}`))))
  )

/**
 * The text of a container log as returned without a TTY: frames of an 8-byte header (stream,
 * 0, 0, 0, big-endian length) and a payload. Anything that is not framed is taken as text.
 */
export const demuxLogs = (buffer: Buffer): string => {
  const parts: Array<Buffer> = []
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset]
    const length = buffer.readUInt32BE(offset + 4)
    if ((stream !== 0 && stream !== 1 && stream !== 2) || offset + 8 + length > buffer.length) return buffer.toString("utf8")
    parts.push(buffer.subarray(offset + 8, offset + 8 + length))
    offset += 8 + length
  }
  return offset === buffer.length ? Buffer.concat(parts).toString("utf8") : buffer.toString("utf8")
}

/** Whether nothing listens on `host:port` (we can bind it ourselves). */
export const portFree = (host: string, port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const server = net.createServer()
    server.once("error", () => resume(Effect.succeed(false)))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resume(Effect.succeed(true))))
  })

/** The containers of ours (label `automarket.managed=true`), optionally of one service, running or not. */
export const listContainers = (
  docker: Docker,
  service?: ServiceName
): Effect.Effect<ReadonlyArray<Docker.ContainerInfo>, ServiceNotRunning> =>
  call(service ?? "ffmpeg", "listing containers", () =>
    docker.listContainers({
      all: true,
      filters: { label: [`${managedLabel}=true`, ...(service === undefined ? [] : [`${serviceLabel}=${service}`])] }
    })
  )

/** The last `tail` lines of a container's output (stdout and stderr). */
export const containerLogs = (docker: Docker, service: ServiceName, id: string, tail = 100): Effect.Effect<string, ServiceNotRunning> =>
  Effect.map(
    call(service, "reading logs", () => docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })),
    demuxLogs
  )

/** Stop and remove containers of ours (of one service, or all); returns how many. Containers of others are never touched. */
export const removeContainers = (docker: Docker, service?: ServiceName): Effect.Effect<number, ServiceNotRunning> =>
  Effect.gen(function* () {
    const found = yield* listContainers(docker, service)
    yield* Effect.forEach(
      found,
      (info) => {
        const name = ServiceNames.find((s) => s === info.Labels[serviceLabel]) ?? "ffmpeg"
        return callOrMissing(name, `removing container ${info.Id.slice(0, 12)}`, () => docker.getContainer(info.Id).remove({ force: true }))
      },
      { concurrency: "unbounded", discard: true }
    )
    return found.length
  })

/**
 * Docker mode: services as containers, created (or reused) on first use, health-checked,
 * started again when they died, and removed when the scope closes (those we created).
 */
export const makeDocker = (
  options: DockerRuntimeOptions = {}
): Effect.Effect<ServiceRuntimeService, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const docker = options.docker ?? new Docker()
    const { healthy, serialized } = yield* runtimeParts
    const host = options.host ?? "127.0.0.1"
    const deadline = Duration.decode(options.startTimeout ?? "60 seconds")
    const schedule = options.healthSchedule ?? Schedule.spaced("250 millis")
    const imageOf = options.image ?? defaultImage
    const portOf = options.port ?? ((service: ServiceName) => defaultPorts[service])
    const urlOf = (port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`
    const instances = yield* Ref.make(new Map<ServiceName, Instance>())

    const inspect = (service: ServiceName, id: string): Effect.Effect<ContainerInspect | undefined, ServiceNotRunning> =>
      callOrMissing(service, "inspecting its container", () => docker.getContainer(id).inspect())

    const lastLines = (service: ServiceName, id: string, n: number) =>
      containerLogs(docker, service, id, n).pipe(
        Effect.map((text) => text.split("\n").map((line) => line.trim()).filter((line) => line.length > 0).slice(-n)),
        Effect.orElseSucceed((): ReadonlyArray<string> => [])
      )

    const exited = (service: ServiceName, id: string, info: ContainerInspect) =>
      Effect.flatMap(lastLines(service, id, 5), (lines) =>
        Effect.fail(
          notRunning(
            service,
            `container ${id.slice(0, 12)} exited (code ${info.State.ExitCode}${info.State.OOMKilled ? ", out of memory" : ""}) before it was healthy${lines.length > 0 ? `: ${lines.join(" | ")}` : ""}`
          )
        )
      )

    /** Poll until healthy; fail when the container stops, or with Timeout at the deadline. */
    const waitHealthy = (service: ServiceName, id: string, url: string): Effect.Effect<void, MediaError> => {
      const probe = Effect.gen(function* () {
        const info = yield* inspect(service, id)
        if (info === undefined) return yield* notRunning(service, `container ${id.slice(0, 12)} disappeared`)
        if (!info.State.Running) return yield* exited(service, id, info)
        return yield* healthy(url)
      })
      // Ends when healthy (or when a finite `healthSchedule` gives up: then the last probe decides).
      return Effect.repeat(probe, { schedule, until: (ok) => ok }).pipe(
        Effect.zipRight(probe),
        Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail(notRunning(service, "health polling ended before the service was healthy")))),
        Effect.timeoutFail({
          duration: deadline,
          onTimeout: () =>
            new Timeout({
              provider: service,
              after: deadline,
              detail: `service (docker): container ${id.slice(0, 12)} not healthy at ${url}/health within ${Duration.format(deadline)}`
            })
        })
      )
    }

    const remove = (service: ServiceName, id: string) =>
      callOrMissing(service, "removing its container", () => docker.getContainer(id).remove({ force: true })).pipe(Effect.ignore)

    const create = (service: ServiceName, port: number): Effect.Effect<Instance, MediaError> =>
      Effect.gen(function* () {
        const image = imageOf(service)
        const found = yield* callOrMissing(service, `looking up image ${image}`, () => docker.getImage(image).inspect())
        if (found === undefined) {
          return yield* notRunning(service, `image ${image} not found: build it with scripts/docker-images.sh (or docker build -f src/services/${service}/Dockerfile .)`)
        }
        if (!(yield* portFree(host, port))) {
          return yield* notRunning(service, `port ${host}:${port} is already in use by another process (not a container of ours); free it or choose another port`)
        }
        const command = options.command?.(service, port)
        const container = yield* call(service, `creating a container of ${image}`, () =>
          docker.createContainer({
            Image: image,
            name: `automarket-${service}-${port}`,
            ...(command !== undefined ? { Entrypoint: [...command], Cmd: [] } : { Cmd: ["--port", String(port), "--host", host] }),
            Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
            Labels: { [managedLabel]: "true", [serviceLabel]: service, [portLabel]: String(port) },
            HostConfig: {
              NetworkMode: "host",
              Init: true,
              Memory: options.memoryBytes ?? 1024 * 1024 * 1024,
              NanoCpus: Math.round((options.cpus ?? 2) * 1e9)
            }
          })
        )
        const url = urlOf(port)
        yield* call(service, `starting container ${container.id.slice(0, 12)}`, () => container.start()).pipe(
          Effect.zipRight(waitHealthy(service, container.id, url)),
          Effect.tapError(() => remove(service, container.id))
        )
        return { id: container.id, url, ours: true }
      })

    /** A container of ours for this service and port made by someone else (or a previous run). */
    const adopt = (service: ServiceName, port: number): Effect.Effect<Instance | undefined, MediaError> =>
      Effect.gen(function* () {
        const found = (yield* listContainers(docker, service)).filter((info) => info.Labels[portLabel] === String(port))
        for (const info of found) {
          if (info.State !== "running") {
            // A dead leftover of ours would hold the name: replace it with a fresh container.
            yield* remove(service, info.Id)
            continue
          }
          const url = urlOf(port)
          yield* waitHealthy(service, info.Id, url)
          return { id: info.Id, url, ours: false }
        }
        return undefined
      })

    const ensure = (service: ServiceName): Effect.Effect<string, MediaError> =>
      serialized(service)(
        Effect.gen(function* () {
          const current = (yield* Ref.get(instances)).get(service)
          if (current !== undefined) {
            const info = yield* inspect(service, current.id)
            if (info?.State.Running === true) return current.url
            if (info !== undefined) {
              // It died (killed, crashed, out of memory): start the same container again.
              yield* call(service, `restarting container ${current.id.slice(0, 12)}`, () => docker.getContainer(current.id).start())
              yield* waitHealthy(service, current.id, current.url)
              return current.url
            }
            yield* Ref.update(instances, (map) => {
              const next = new Map(map)
              next.delete(service)
              return next
            })
          }
          const port = portOf(service)
          const instance = (yield* adopt(service, port)) ?? (yield* create(service, port))
          yield* Ref.update(instances, (map) => new Map(map).set(service, instance))
          return instance.url
        })
      )

    const status = (service: ServiceName): Effect.Effect<ServiceStatus> =>
      Effect.gen(function* () {
        const port = portOf(service)
        const known = (yield* Ref.get(instances)).get(service)
        // Not started here: a container of ours for this service, on its port if there is one.
        const found = known === undefined ? yield* listContainers(docker, service) : []
        const other = found.find((info) => info.Labels[portLabel] === String(port)) ?? found[0]
        const id = known?.id ?? other?.Id
        if (id === undefined) return { service, running: false, healthy: false }
        const url = known?.url ?? urlOf(Number(other?.Labels[portLabel] ?? port))
        const info = yield* inspect(service, id)
        if (info === undefined) return { service, running: false, healthy: false, url, error: "container removed" }
        const isHealthy = info.State.Running && (yield* healthy(url))
        if (isHealthy) return { service, running: true, healthy: true, url }
        const lines = yield* lastLines(service, id, 1)
        const why = info.State.Running ? "not answering /health" : `exited (code ${info.State.ExitCode})`
        return { service, running: info.State.Running, healthy: false, url, error: lines.length > 0 ? `${why}: ${lines[0]}` : why }
      }).pipe(Effect.catchAll((error) => Effect.succeed({ service, running: false, healthy: false, error: error.message })))

    const release = (service: ServiceName, instance: Instance) =>
      instance.ours && options.keep !== true
        ? call(service, "stopping its container", () => docker.getContainer(instance.id).stop({ t: 5 })).pipe(
            Effect.ignore,
            Effect.zipRight(remove(service, instance.id))
          )
        : Effect.void

    const stop = (service: ServiceName): Effect.Effect<void> =>
      serialized(service)(
        Effect.gen(function* () {
          const current = (yield* Ref.get(instances)).get(service)
          if (current === undefined) return
          yield* release(service, current)
          yield* Ref.update(instances, (map) => {
            const next = new Map(map)
            next.delete(service)
            return next
          })
        })
      )

    yield* Effect.addFinalizer(() => Effect.forEach(ServiceNames, stop, { concurrency: "unbounded", discard: true }))

    return { mode: "docker", ensure, status, stop }
  })

/** Docker mode as a layer: the containers it created are removed when the layer's scope closes. */
export const layerDocker = (options?: DockerRuntimeOptions): Layer.Layer<ServiceRuntime, never, HttpClient.HttpClient> =>
  Layer.scoped(ServiceRuntime, makeDocker(options))
