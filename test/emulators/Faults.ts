/**
 * The fault kit every emulator of a remote API shares: a scoped node:http server on 127.0.0.1
 * (free port) that records each request, and a switch of faults a test arms before a call:
 * an HTTP error status (401, 402/quota, 429 with Retry-After, 500/503, or any status and body),
 * a connection reset, slow headers, a slow body, a malformed JSON body, a truncated SSE stream,
 * and a request that is never answered (`hang`: the process serving it is about to be killed).
 *
 * An emulator is a `handler` given to `serve`; `serve` plays an armed fault instead of (or, for
 * slow headers, slow bodies and truncation, around) the handler. Faults are consumed in the order
 * they were armed, each `times` times (default once), optionally only for paths matching `route`.
 * A request no armed fault matches may still get one from the server's `choose` option: a
 * function of the request itself, for runs where each call carries its own fault (the soak
 * suite's load, where 128 calls are in flight at once and a switch armed in order would hand a
 * fault to whichever request came first).
 *
 * ```ts
 * const server = yield* serve((request, res, play) => json(res, 200, { ok: true }))
 * server.faults.inject(Faults.rateLimited(1), { times: 2 })
 * // ... two 429s with Retry-After: 1, then the normal answer
 * ```
 *
 * Streams: an emulator writes SSE with `writeSse(res, events, play)`; an armed
 * `truncatedStream(n)` makes it stop after `n` events without the final `[DONE]`, either
 * destroying the socket (`cut: "reset"`, default) or ending the body cleanly (`cut: "end"`).
 */
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A fault an emulator plays. */
export type Fault =
  | {
      readonly _tag: "Status"
      readonly status: number
      /** The JSON body, or a function of the request giving it (e.g. to echo its headers). */
      readonly body: unknown | ((request: RecordedRequest) => unknown)
      readonly headers: Readonly<Record<string, string>>
    }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "SlowHeaders"; readonly delayMs: number }
  | { readonly _tag: "SlowBody"; readonly delayMs: number }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "MalformedJson" }
  | { readonly _tag: "TruncatedStream"; readonly afterEvents: number; readonly cut: "reset" | "end" }

/** Any status with a JSON body (or a function of the request giving it) and headers. */
export const status = (
  code: number,
  body: unknown | ((request: RecordedRequest) => unknown) = { error: { message: http.STATUS_CODES[code] ?? "error" } },
  headers: Readonly<Record<string, string>> = {}
): Fault => ({ _tag: "Status", status: code, body, headers })

/** 401 with an OpenAI-style error body. */
export const unauthorized = (message = "Invalid API key provided"): Fault =>
  status(401, { error: { message, type: "invalid_request_error", code: "invalid_api_key" } })

/**
 * Out of credits. OpenRouter answers 402 ("Insufficient credits"); Together answers 429 or 402
 * with a quota message. `errorFromStatus` maps 402, and 429 whose message speaks of quota or
 * credits, to QuotaExceeded.
 */
export const quota = (code: 402 | 429 = 402, message = "Insufficient credits. Add more using https://example.invalid/credits"): Fault =>
  status(code, { error: { message, code } })

/** 429 without a quota message: RateLimited, with `Retry-After: seconds` when given. */
export const rateLimited = (retryAfterSeconds?: number, message = "Rate limit exceeded"): Fault =>
  status(
    429,
    { error: { message, code: 429 } },
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) }
  )

/** 5xx (default 500). */
export const serverError = (code: 500 | 502 | 503 | 504 = 500): Fault =>
  status(code, { error: { message: code === 503 ? "Service temporarily unavailable" : "Internal server error", code } })

/** The connection is destroyed before any answer. */
export const reset: Fault = { _tag: "Reset" }

/** The answer (the normal one) is held back `delayMs` before its headers are written. */
export const slowHeaders = (delayMs: number): Fault => ({ _tag: "SlowHeaders", delayMs })

/**
 * The answer (the normal one) starts at once, its headers and the first half of its body, and
 * the rest follows `delayMs` later: a provider that stalls mid-body.
 */
export const slowBody = (delayMs: number): Fault => ({ _tag: "SlowBody", delayMs })

/**
 * The request is never answered: the connection stays open until the client gives up or the
 * server closes. What a provider whose process is about to die looks like from outside.
 */
export const hang: Fault = { _tag: "Hang" }

/** 200 with `content-type: application/json` and a body that is not JSON. */
export const malformedJson: Fault = { _tag: "MalformedJson" }

/** An SSE answer stopped after `afterEvents` events, without `[DONE]`. */
export const truncatedStream = (afterEvents = 1, cut: "reset" | "end" = "reset"): Fault => ({
  _tag: "TruncatedStream",
  afterEvents,
  cut
})

/** When an armed fault applies. */
export interface FaultOptions {
  /** How many requests it applies to. Default 1; `Infinity` for every one. */
  readonly times?: number
  /** Only requests whose path (with query) matches; default every request. */
  readonly route?: string | RegExp
}

/** The armed faults of one server. */
export interface FaultSwitch {
  /** Arm a fault (after those armed before). */
  readonly inject: (fault: Fault, options?: FaultOptions) => void
  /** Disarm every fault. */
  readonly clear: () => void
  /** The fault the next request to `path` gets, consuming one use of it. */
  readonly take: (path: string) => Fault | undefined
  /** How many faults are still armed. */
  readonly pending: () => number
}

/** A switch of faults. */
export const makeFaultSwitch = (): FaultSwitch => {
  const armed: Array<{ fault: Fault; left: number; route: string | RegExp | undefined }> = []
  const matches = (route: string | RegExp | undefined, path: string) =>
    route === undefined ? true : typeof route === "string" ? path.startsWith(route) : route.test(path)
  return {
    inject: (fault, options = {}) => {
      armed.push({ fault, left: options.times ?? 1, route: options.route })
    },
    clear: () => {
      armed.length = 0
    },
    take: (path) => {
      const at = armed.findIndex((entry) => matches(entry.route, path))
      if (at === -1) return undefined
      const entry = armed[at]!
      entry.left -= 1
      if (entry.left <= 0) armed.splice(at, 1)
      return entry.fault
    },
    pending: () => armed.length
  }
}

/** A request as the emulator received it. */
export interface RecordedRequest {
  readonly method: string
  /** Path with query, e.g. `/v1/models?x=1`. */
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** The body as UTF-8. */
  readonly text: string
  /** The body parsed as JSON, undefined when it is not JSON. */
  readonly json: unknown
  /** `Date.now()` when the request arrived. */
  readonly at: number
}

/** What the handler may still have to play: a stream truncation. */
export interface Play {
  readonly truncate: Extract<Fault, { _tag: "TruncatedStream" }> | undefined
}

/** An emulator's request handler. */
export type Handler = (request: RecordedRequest, res: http.ServerResponse, play: Play) => void

/** A running emulator. */
export interface EmulatorServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  /** Every request, in arrival order (faulted ones included). */
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly faults: FaultSwitch
  /** How many requests reached a path starting with `prefix`. */
  readonly count: (prefix?: string) => number
}

const parseJson = (text: string): unknown => {
  try {
    return text === "" ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Reply with JSON. */
export const json = (res: http.ServerResponse, code: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void => {
  res.writeHead(code, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const play = (fault: Fault, request: RecordedRequest, res: http.ServerResponse): boolean => {
  switch (fault._tag) {
    case "Status": {
      const body: unknown = typeof fault.body === "function" ? fault.body(request) : fault.body
      json(res, fault.status, body, fault.headers)
      return true
    }
    case "Reset":
      res.socket?.destroy()
      return true
    case "MalformedJson":
      res.writeHead(200, { "content-type": "application/json" })
      res.end('{"id": "cmpl-1", "choices": [{"message": ')
      return true
    case "Hang":
      return true
    case "SlowHeaders":
    case "SlowBody":
    case "TruncatedStream":
      return false
  }
}

/**
 * Hold back the body the handler writes on `res`: once it ends, the headers and the first half go
 * out, the rest `delayMs` later (its timer in `timers`, so that closing the server clears it).
 * The methods are replaced on this one response object, so every handler gets it for free.
 */
const holdBody = (res: http.ServerResponse, delayMs: number, timers: Set<NodeJS.Timeout>): void => {
  const write = res.write.bind(res)
  const end = res.end.bind(res)
  const held: Array<Buffer> = []
  const keep = (chunk: unknown) => {
    if (typeof chunk === "string") held.push(Buffer.from(chunk, "utf8"))
    else if (chunk instanceof Uint8Array) held.push(Buffer.from(chunk))
  }
  Object.defineProperty(res, "write", {
    configurable: true,
    value: (chunk: unknown) => {
      keep(chunk)
      return true
    }
  })
  Object.defineProperty(res, "end", {
    configurable: true,
    value: (chunk?: unknown) => {
      keep(chunk)
      const body = Buffer.concat(held)
      const cut = Math.floor(body.length / 2)
      res.flushHeaders()
      if (cut > 0) write(body.subarray(0, cut))
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!res.destroyed) end(body.subarray(cut))
      }, delayMs)
      timers.add(timer)
      return res
    }
  })
}

/**
 * Write a server-sent-event answer: each of `events` as a `data:` line (objects as JSON), then
 * `data: [DONE]`. `comments` are written first as `: comment` lines (OpenRouter's keep-alives).
 * A `play.truncate` stops after that many events, without `[DONE]`.
 */
export const writeSse = (
  res: http.ServerResponse,
  events: ReadonlyArray<unknown>,
  play: Play,
  options: { readonly comments?: ReadonlyArray<string> } = {}
): void => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
  for (const comment of options.comments ?? []) res.write(`: ${comment}\n\n`)
  const limit = play.truncate?.afterEvents ?? Number.POSITIVE_INFINITY
  let written = 0
  for (const event of events) {
    if (written >= limit) break
    res.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`)
    written += 1
  }
  if (play.truncate === undefined) {
    res.end("data: [DONE]\n\n")
    return
  }
  if (play.truncate.cut === "end") {
    res.end()
    return
  }
  // Let the written events reach the client before the connection is cut.
  setTimeout(() => res.socket?.destroy(), 20)
}

/** How `serve` runs an emulator. */
export interface ServeOptions {
  /**
   * The fault a request gets when no armed fault matches it, decided from the request itself;
   * undefined for the normal answer. Called once per request, in arrival order.
   */
  readonly choose?: (request: RecordedRequest) => Fault | undefined
}

/** Start an emulator on a free loopback port; closed (connections too) when the scope closes. */
export const serve = (handler: Handler, options: ServeOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; info: EmulatorServer; timers: Set<NodeJS.Timeout> }>((resume) => {
      const requests: Array<RecordedRequest> = []
      const faults = makeFaultSwitch()
      const timers = new Set<NodeJS.Timeout>()
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const body = Buffer.concat(chunks)
          const text = body.toString("utf8")
          const request: RecordedRequest = {
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            body,
            text,
            json: parseJson(text),
            at: Date.now()
          }
          requests.push(request)
          const fault = faults.take(request.path) ?? options.choose?.(request)
          if (fault !== undefined && play(fault, request, res)) return
          if (fault?._tag === "SlowBody") holdBody(res, fault.delayMs, timers)
          const run = () => {
            try {
              handler(request, res, { truncate: fault?._tag === "TruncatedStream" ? fault : undefined })
            } catch (error) {
              if (!res.headersSent) json(res, 500, { error: { message: `emulator error: ${String(error)}` } })
              else res.end()
            }
          }
          if (fault?._tag === "SlowHeaders") {
            const timer = setTimeout(() => {
              timers.delete(timer)
              run()
            }, fault.delayMs)
            timers.add(timer)
          } else run()
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(
          Effect.succeed({
            server,
            timers,
            info: {
              url: `http://127.0.0.1:${port}`,
              requests,
              faults,
              count: (prefix = "") => requests.filter((r) => r.path.startsWith(prefix)).length
            }
          })
        )
      })
    }),
    ({ server, timers }) =>
      Effect.async<void>((resume) => {
        for (const timer of timers) clearTimeout(timer)
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ info }) => info))

/** The bearer token of a request, or undefined. */
export const bearerOf = (request: RecordedRequest): string | undefined => {
  const header = request.headers.authorization
  return header?.startsWith("Bearer ") === true ? header.slice("Bearer ".length) : undefined
}
