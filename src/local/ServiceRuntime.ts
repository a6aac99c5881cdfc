/**
 * Starting, finding and stopping the local services (FFmpeg, TTS, STT): the `ServiceRuntime`
 * service. Two implementations: process mode (`ProcessRuntime`, the embedded default: child
 * processes on free loopback ports) and Docker mode (`DockerRuntime`: containers through
 * dockerode).
 *
 * @module
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaError } from "../domain/Errors.js"
import type { ServiceName } from "../services/kit/ServerOptions.js"

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
