/**
 * Starting, finding and stopping the local services (FFmpeg, TTS, STT): the `ServiceRuntime`
 * service. Two implementations: process mode (`ProcessRuntime`, the embedded default: child
 * processes on free loopback ports) and Docker mode (`DockerRuntime`: containers through
 * dockerode).
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { MediaError } from "../domain/Errors.js"
import { type ServiceName, ServiceNames } from "../services/kit/ServerOptions.js"

/** What `status` reports of a service (the original design's `getServiceStatus`). */
export interface ServiceStatus {
  readonly service: ServiceName
  readonly running: boolean
  readonly healthy: boolean
  readonly url?: string | undefined
  readonly error?: string | undefined
}

/** Starts and stops local services. */
export interface ServiceRuntimeService {
  /** Which runtime this is. */
  readonly mode: "process" | "docker"
  /**
   * The base URL of a healthy instance of the service, starting it on first use. Concurrent
   * callers share one start. Fails with ServiceNotRunning (or Timeout when health never came).
   */
  readonly ensure: (service: ServiceName) => Effect.Effect<string, MediaError>
  /** Whether the service runs and answers its health check. Never fails. */
  readonly status: (service: ServiceName) => Effect.Effect<ServiceStatus>
  /** Stop the service if this runtime started it. */
  readonly stop: (service: ServiceName) => Effect.Effect<void>
}

/** The service tag of the runtime of local services. */
export class ServiceRuntime extends Context.Tag("automarket/ServiceRuntime")<ServiceRuntime, ServiceRuntimeService>() {}

/**
 * What both runtimes build on: whether a service at a base URL answers `GET /health` with 200
 * within 2 s (never fails), and one lock a service, so that concurrent `ensure`/`stop` calls of
 * the same service run one at a time (callers share one start).
 */
export const runtimeParts: Effect.Effect<
  {
    readonly healthy: (url: string) => Effect.Effect<boolean>
    readonly serialized: (service: ServiceName) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  },
  never,
  HttpClient.HttpClient
> = Effect.gen(function* () {
  const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const locks = new Map<ServiceName, Effect.Semaphore>()
  for (const name of ServiceNames) locks.set(name, yield* Effect.makeSemaphore(1))
  const healthy = (url: string): Effect.Effect<boolean> =>
    client.get(`${url}/health`).pipe(
      Effect.flatMap((response) => (response.status === 200 ? Effect.void : Effect.fail(`HTTP ${response.status}`))),
      Effect.timeout("2 seconds"),
      Effect.isSuccess
    )
  return { healthy, serialized: (service: ServiceName) => locks.get(service)!.withPermits(1) }
})
