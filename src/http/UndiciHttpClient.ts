/**
 * The library's one HTTP client: `layer` offers an Effect `HttpClient` over one keep-alive undici
 * `Agent` (destroyed when the layer's scope closes), and beside it `LeanPath`, a lean way for
 * `Http.make` to send whole-body exchanges over the same Agent.
 *
 * As an `HttpClient` it is `@effect/platform-node`'s undici client: everything composes with the
 * `HttpClient` combinators as usual. The lean path sends one request and collects the whole answer
 * (status, headers, body text) in one undici dispatch, without the general client's request and
 * response objects, abort controller, URL parsing and finalizer registration, which measured at
 * about five times raw undici's CPU a request (see bench/RESULTS.md). It belongs to the client of
 * the same layer: `leanPathOf(client)` finds it only for that very client, so a client that was
 * wrapped or mapped (or another implementation) goes through its `HttpClient`, and whatever the
 * wrapper does is honoured.
 *
 * undici itself is imported when the first request is made, not when the module is loaded or the
 * layer built: importing it costs about 170 ms, which a command that sends nothing (`automarket
 * --help`, which is given this layer too) should not pay.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Undici from "undici"

/** A request of the lean path: everything already resolved. */
export interface LeanRequest {
  readonly method: Undici.Dispatcher.HttpMethod
  /** `http(s)://host:port`. */
  readonly origin: string
  /** Path and query. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array | undefined
  /** The most bytes of a 2xx answer's body read; past it the exchange is aborted (`overflow`). Default: no cap. */
  readonly maxBodyBytes?: number
  /** The same for any other status (an error page need not be read whole to be reported). Default: no cap. */
  readonly maxErrorBodyBytes?: number
}

/** A whole answer of the lean path. Header names are lower-case; repeated headers are joined with ", ". */
export interface LeanResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The body as UTF-8 text; "" when reading it failed (`bodyError` says why); its first bytes only when `overflow`. */
  readonly text: string
  readonly bodyError: Error | undefined
  /** The body went past its cap: `text` is its first `max...BodyBytes` bytes, the rest was not read. */
  readonly overflow: boolean
  /** Bytes of the body received (past the cap included, up to the chunk that crossed it). */
  readonly bytes: number
}

/** How a lean exchange ended: an answer, or a transport failure before the status arrived. */
export type LeanOutcome = { readonly _tag: "Response"; readonly response: LeanResponse } | { readonly _tag: "Failed"; readonly cause: Error }

/** What `LeanPath` offers. */
export interface LeanPathService {
  /** The client this path belongs to (the `HttpClient` that `layer` offers). */
  readonly client: HttpClient.HttpClient
  /**
   * Start an exchange; its outcome arrives through `done` exactly once (unless cancelled).
   * Returns a function that cancels the exchange (nothing is reported after it).
   */
  readonly exchange: (request: LeanRequest, done: (outcome: LeanOutcome) => void) => () => void
}

/**
 * The lean path of `layer`'s client, offered by the same layer. Use it through `leanPathOf`,
 * which checks that the client at hand is the one it belongs to.
 */
export class LeanPath extends Context.Tag("automarket/http/UndiciHttpClient/LeanPath")<LeanPath, LeanPathService>() {}

/**
 * The lean path for `client`: the `LeanPath` in context when `client` is the very client it
 * belongs to; none for any other client (a wrapped or mapped one, another implementation).
 */
export const leanPathOf = (client: HttpClient.HttpClient): Effect.Effect<Option.Option<LeanPathService>> =>
  Effect.map(
    Effect.serviceOption(LeanPath),
    Option.filter((lean) => lean.client === client)
  )

/**
 * A keep-alive undici Agent made on first use (undici is imported then), destroyed when the scope
 * closes. `current` is the Agent once made, for callers that can go on synchronously.
 */
interface LazyAgent {
  readonly current: () => Undici.Dispatcher | undefined
  readonly load: () => Promise<Undici.Dispatcher>
}

const closedError = () => new Error("the HTTP client's scope is closed")

const makeLazyAgent: Effect.Effect<LazyAgent, never, Scope.Scope> = Effect.gen(function* () {
  let agent: Undici.Agent | undefined
  let loading: Promise<Undici.Agent> | undefined
  let closed = false
  const load = () =>
    // undici is CommonJS: its `default` is its exports both under Node and in the CLI's bundle
    // (where a dynamically imported CommonJS module has no named exports).
    (loading ??= import("undici").then(({ default: undici }) => {
      if (closed) throw closedError()
      agent = new undici.Agent({ keepAliveTimeout: 10_000 })
      return agent
    }))
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      closed = true
      await loading?.catch(() => undefined)
      await agent?.destroy()
    })
  )
  return { current: () => agent, load }
})

const cancelled = new Error("request cancelled")

const headerValue = (value: string | Array<string> | undefined): string | undefined => (Array.isArray(value) ? value.join(", ") : value)

/** The lean exchange over an Agent that may still have to be made. */
const makeExchange =
  (agent: LazyAgent): LeanPathService["exchange"] =>
  (request, done) => {
    let controller: Undici.Dispatcher.DispatchController | undefined
    let finished = false
    let status = 0
    let headers: Record<string, string | undefined> = {}
    let chunks: Array<Buffer> | undefined
    let first: Buffer | undefined
    let received = 0
    let limit = Infinity
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
    const handler: Undici.Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        if (finished) c.abort(cancelled)
      },
      onResponseStart(_c, statusCode, raw) {
        status = statusCode
        limit = (statusCode >= 200 && statusCode < 300 ? request.maxBodyBytes : request.maxErrorBodyBytes) ?? Infinity
        headers = {}
        for (const name in raw) headers[name] = headerValue(raw[name])
      },
      onResponseData(c, chunk) {
        if (finished) return
        received += chunk.length
        if (received > limit) {
          // Past the cap: what fits is kept, the rest is not read (the request is aborted).
          const kept = Buffer.concat([...(chunks ?? (first !== undefined ? [first] : [])), chunk]).subarray(0, limit)
          finish({ _tag: "Response", response: { status, headers, text: kept.toString("utf8"), bodyError: undefined, overflow: true, bytes: received } })
          c.abort(cancelled)
          return
        }
        if (first === undefined) first = chunk
        else (chunks ??= [first]).push(chunk)
      },
      onResponseEnd() {
        finish({ _tag: "Response", response: { status, headers, text: bodyText(), bodyError: undefined, overflow: false, bytes: received } })
      },
      onResponseError(_c, error) {
        // After the status arrived a failure is a body failure (the general client reads "" then);
        // before, it is a transport failure.
        finish(status !== 0 ? { _tag: "Response", response: { status, headers, text: "", bodyError: error, overflow: false, bytes: received } } : { _tag: "Failed", cause: error })
      }
    }
    const failed = (error: unknown) => finish({ _tag: "Failed", cause: error instanceof Error ? error : new Error(String(error)) })
    const start = (dispatcher: Undici.Dispatcher) => {
      try {
        dispatcher.dispatch(
          {
            origin: request.origin,
            path: request.path,
            method: request.method,
            headers: request.headers,
            body: request.body ?? null,
            // Timeouts are the caller's (Http.ts bounds each attempt), as in the general client.
            headersTimeout: 60 * 60 * 1000,
            bodyTimeout: 0
          },
          handler
        )
      } catch (error) {
        failed(error)
      }
    }
    const ready = agent.current()
    if (ready !== undefined) start(ready)
    else
      agent.load().then(
        (dispatcher) => {
          if (!finished) start(dispatcher)
        },
        failed
      )
    return () => {
      if (finished) return
      finished = true
      controller?.abort(cancelled)
    }
  }

/**
 * The general client over the Agent: `@effect/platform-node`'s undici client, made (with the
 * Agent) by the first request; every request after goes straight to it.
 */
const makeClient = (agent: LazyAgent): HttpClient.HttpClient => {
  let platform: HttpClient.HttpClient | undefined
  const load = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.tryPromise({
      try: () =>
        Promise.all([agent.load(), import("@effect/platform-node/NodeHttpClient")]).then(
          ([dispatcher, NodeHttpClient]) => (platform ??= NodeHttpClient.makeUndici(dispatcher))
        ),
      catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
    })
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (prepared) =>
      Effect.flatMap(prepared, (request) =>
        platform !== undefined ? platform.execute(request) : Effect.flatMap(load(request), (client) => client.execute(request))
      ),
    Effect.succeed
  )
}

/** The client and its lean path over one Agent, destroyed when the scope closes. */
export const make: Effect.Effect<Context.Context<HttpClient.HttpClient | LeanPath>, never, Scope.Scope> = Effect.map(makeLazyAgent, (agent) => {
  const client = makeClient(agent)
  return Context.make(HttpClient.HttpClient, client).pipe(Context.add(LeanPath, { client, exchange: makeExchange(agent) }))
})

/** The client (`HttpClient`) and its `LeanPath`, over one keep-alive Agent closed with the layer. */
export const layer: Layer.Layer<HttpClient.HttpClient | LeanPath> = Layer.scopedContext(make)
