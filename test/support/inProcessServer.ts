/**
 * Running one of our service layers in the test process: build the layer (which binds a port),
 * read the bound address from the `HttpServer` it exposes, and dispose it (closing the layer's
 * scope: jobs interrupted, engine processes killed, work files removed) when the test is done.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"

/** A started service. */
export interface RunningServer {
  readonly url: string
  /** Close the service's scope and wait for it to finish. */
  readonly stop: () => Promise<void>
}

/** Start a server layer (bind it to port 0 to get a free port). */
export const startServer = async <E>(layer: Layer.Layer<HttpServer.HttpServer, E>): Promise<RunningServer> => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const address = await runtime.runPromise(HttpServer.HttpServer.pipe(Effect.map((server) => server.address)))
    if (address._tag !== "TcpAddress") throw new Error(`expected a TCP address, got ${address._tag}`)
    return { url: `http://127.0.0.1:${address.port}`, stop: () => runtime.dispose() }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}
