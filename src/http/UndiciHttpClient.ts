/**
 * The HTTP client `AutoMarket.layer` gives every provider: an Effect `HttpClient` over one
 * keep-alive undici `Agent`, which also carries a lean path for whole-body exchanges.
 *
 * As an `HttpClient` it is `@effect/platform-node`'s undici client (everything composes with
 * `HttpClient` combinators as usual). `Http.make` looks for the lean path with `fastPathOf`
 * on the client it is given, before any wrapping: a client that was mapped or wrapped has none,
 * so whatever the wrapper does is honoured. The lean path sends one request and collects the
 * whole answer (status, headers, body text) in one undici dispatch, without the request/response
 * objects, abort controller, URL parsing and finalizer registration of the general client, which
 * measured at about five times raw undici's CPU a request (see bench/RESULTS.md).
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Agent, type Dispatcher } from "undici"

/** A request of the lean path: everything already resolved. */
export interface LeanRequest {
  readonly method: string
  /** `http(s)://host:port`. */
  readonly origin: string
  /** Path and query. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array | undefined
}

/** A whole answer of the lean path. Header names are lower-case; repeated headers are joined with ", ". */
export interface LeanResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The body as UTF-8 text; "" when reading it failed (`bodyError` says why). */
  readonly text: string
  readonly bodyError: Error | undefined
}

/** How a lean exchange ended: an answer, or a transport failure before the status arrived. */
export type LeanOutcome = { readonly _tag: "Response"; readonly response: LeanResponse } | { readonly _tag: "Failed"; readonly cause: Error }

/**
 * The lean path: start an exchange, get its outcome through `done` exactly once (unless
 * cancelled). Returns a function that cancels the exchange (nothing is reported after it).
 */
export interface LeanPath {
  readonly exchange: (request: LeanRequest, done: (outcome: LeanOutcome) => void) => () => void
}

const leanPathKey = Symbol.for("automarket/UndiciClient/LeanPath")

/** The lean path of a client made by this module; undefined for any other client (or a wrapped one). */
export const fastPathOf = (client: HttpClient.HttpClient): LeanPath | undefined => {
  const value: unknown = (client as unknown as Record<symbol, unknown>)[leanPathKey]
  return value !== undefined && value !== null && typeof value === "object" && "exchange" in value ? (value as LeanPath) : undefined
}

const cancelled = new Error("request cancelled")

const headerValue = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value.join(", ") : value

/** The lean path over a dispatcher. */
export const makeLeanPath = (dispatcher: Dispatcher): LeanPath => ({
  exchange: (request, done) => {
    let controller: Dispatcher.DispatchController | undefined
    let finished = false
    let status = 0
    let headers: Record<string, string | undefined> = {}
    let chunks: Array<Buffer> | undefined
    let first: Buffer | undefined
    const finish = (outcome: LeanOutcome) => {
      if (finished) return
      finished = true
      done(outcome)
    }
    const bodyText = (): string => {
      if (first === undefined) return ""
      if (chunks === undefined) return first.toString("utf8")
      return Buffer.concat(chunks).toString("utf8")
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        if (finished) c.abort(cancelled)
      },
      onResponseStart(_c, statusCode, raw) {
        status = statusCode
        headers = {}
        for (const name in raw) headers[name] = headerValue(raw[name])
      },
      onResponseData(_c, chunk) {
        if (first === undefined) first = chunk
        else (chunks ??= [first]).push(chunk)
      },
      onResponseEnd() {
        finish({ _tag: "Response", response: { status, headers, text: bodyText(), bodyError: undefined } })
      },
      onResponseError(_c, error) {
        // After the status arrived a failure is a body failure (the general client reads "" then);
        // before, it is a transport failure.
        finish(
          status !== 0
            ? { _tag: "Response", response: { status, headers, text: "", bodyError: error } }
            : { _tag: "Failed", cause: error }
        )
      }
    }
    try {
      dispatcher.dispatch(
        {
          origin: request.origin,
          path: request.path,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
          body: request.body ?? null,
          // Timeouts are the caller's (Http.ts bounds each attempt), as in the general client.
          headersTimeout: 60 * 60 * 1000,
          bodyTimeout: 0
        },
        handler
      )
    } catch (error) {
      finish({ _tag: "Failed", cause: error instanceof Error ? error : new Error(String(error)) })
    }
    return () => {
      if (finished) return
      finished = true
      controller?.abort(cancelled)
    }
  }
})

/** A client over `dispatcher`: the general undici `HttpClient`, carrying the lean path. */
export const make = (dispatcher: Dispatcher): HttpClient.HttpClient =>
  Object.assign(NodeHttpClient.makeUndici(dispatcher), { [leanPathKey]: makeLeanPath(dispatcher) })

/** A keep-alive undici Agent, destroyed when the scope closes. */
export const makeDispatcher: Effect.Effect<Dispatcher, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => new Agent({ keepAliveTimeout: 10_000 })),
  (agent) => Effect.promise(() => agent.destroy())
)

/** The client as a layer, with its own Agent (closed with the layer). */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(HttpClient.HttpClient, Effect.map(makeDispatcher, make))
