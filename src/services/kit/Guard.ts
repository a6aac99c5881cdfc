/**
 * The request guard: the middleware every local service installs in front of its `HttpApi`, the
 * one place where a request is looked at before any route reads it.
 *
 * First the front door, the same in every service (`FrontDoor`, from the service's options): the
 * `Host` header must name this service (so a page of another site that had its name rebound to
 * 127.0.0.1 is refused), a request sent by a page of another origin (`Origin`,
 * `Sec-Fetch-Site`) is refused (a form post needs no CORS preflight, so nothing else stops it),
 * and when the service has a bearer token every route but `/health` requires it. These refusals
 * (403, 401) come before the body is read: nothing is stored, no engine runs.
 *
 * Then the service's own policy: what it refuses from the request line and headers alone
 * (`checks`, in order; the first refusal is the answer, the body is not read), how large a body
 * the HTTP layer may read for it, which of the HTTP layer's own failures are the client's doing
 * and how they are answered (`fromHttpFailure`: FastAPI's 422s for TTS and STT), and how a
 * refusal is written (`respond`, the service's wire encoding).
 *
 * @module
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Http from "node:http"
import * as Net from "node:net"
import { Forbidden, type ServiceError, Unauthorized } from "./Errors.js"
import * as Upload from "./Upload.js"

/** A refusal decided from the request line and headers: the error to answer with, or undefined to let the request in. */
export type Check<E> = (request: HttpServerRequest.HttpServerRequest) => E | undefined

/** What the front door refuses with. */
export type FrontDoorRefusal = Forbidden | Unauthorized

/** Who may come in: the front door of a service, from its options. */
export interface FrontDoor {
  /**
   * Names the `Host` header may give besides the address the request arrived on (and, when it
   * arrived on loopback, `localhost`, `127.0.0.1` and `[::1]`): `name` (with the service's port)
   * or `name:port` (a port mapped in front of the service).
   */
  readonly hosts?: ReadonlyArray<string> | undefined
  /** The bearer token every route but `openPaths` requires; none: no token is asked for. */
  readonly token?: Redacted.Redacted<string> | undefined
  /** Paths answered without the token. Default `["/health"]` (the runtimes' health checks). */
  readonly openPaths?: ReadonlyArray<string>
}

/** What a service's guard refuses, and how it answers. */
export interface GuardPolicy<E extends ServiceError> {
  /** A refusal as a response, in the service's wire encoding (the front door's refusals included). */
  readonly respond: (error: E | FrontDoorRefusal) => HttpServerResponse.HttpServerResponse
  /** The front door. Default: none (every request comes in; `Serve.layer` always sets one). */
  readonly frontDoor?: FrontDoor
  /** Refusals decided before the body is read, in order. */
  readonly checks?: ReadonlyArray<Check<E>>
  /** The largest body the HTTP layer reads for a route (JSON, text, forms). Default: the platform's. */
  readonly maxBodyBytes?: number
  /**
   * The refusal of a body over `maxBodyBytes`. When given, a body of undeclared length (chunked)
   * that the HTTP layer would read is read here first, up to the limit: one over it is answered
   * with this (the rest is read and dropped, so the client gets the answer) instead of the
   * connection being reset under the client's feet. Multipart bodies are left to their route.
   */
  readonly tooLarge?: (maxBodyBytes: number) => E
  /** The HTTP layer's failures that are the client's doing, as refusals; undefined passes the failure on. */
  readonly fromHttpFailure?: (failure: unknown) => E | undefined
}

// ---------------------------------------------------------------------------------------------
// the front door
// ---------------------------------------------------------------------------------------------

/** Where a request arrived: the local address and port of its connection. */
export interface Arrival {
  readonly address: string
  readonly port: number
}

/** The local address and port the request's connection arrived on; undefined when it did not come over a socket (tests). */
export const arrivalOf = (request: HttpServerRequest.HttpServerRequest): Arrival | undefined => {
  const source = request.source
  if (!(source instanceof Http.IncomingMessage)) return undefined
  const { localAddress, localPort } = source.socket
  return localAddress === undefined || localPort === undefined ? undefined : { address: localAddress, port: localPort }
}

// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`), as the IPv4 address.
const unmapped = (address: string): string => {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return match === null ? address : match[1]!
}

/** Whether `address` (an IP address, or `localhost`) is a loopback address. */
export const isLoopback = (address: string): boolean => {
  const plain = unmapped(address.replace(/^\[|\]$/g, "").toLowerCase())
  if (plain === "localhost" || plain === "::1") return true
  return Net.isIPv4(plain) && plain.startsWith("127.")
}

/** An address as a `Host` header names it: IPv6 in brackets. */
const hostNameOf = (address: string): string => {
  const plain = unmapped(address).toLowerCase()
  return Net.isIPv6(plain) ? `[${plain}]` : plain
}

/** A `Host` header (or an allowed host) split into its name (lower case, IPv6 in brackets) and port. */
export const parseHost = (value: string): { readonly name: string; readonly port: number | undefined } | undefined => {
  const text = value.trim().toLowerCase()
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text)
  if (match === null) return undefined
  const name = match[1]!.replace(/\.$/, "")
  if (name === "" || name === "[]") return undefined
  const port = match[2] === undefined ? undefined : Number(match[2])
  return port !== undefined && port > 65535 ? undefined : { name, port }
}

const loopbackNames = ["localhost", "127.0.0.1", "[::1]"]

/**
 * Whether a `Host` header names this service: a name it answers to (the address the request
 * arrived on; the loopback names when that is a loopback address; `door.hosts`) with the port it
 * arrived on (no port: 80). Without an arrival (no socket) the port is not checked.
 */
export const hostAllowed = (door: FrontDoor, host: string, arrival: Arrival | undefined): boolean => {
  const given = parseHost(host)
  if (given === undefined) return false
  const port = given.port ?? 80
  const samePort = arrival === undefined || port === arrival.port
  const names = arrival === undefined ? loopbackNames : [hostNameOf(arrival.address), ...(isLoopback(arrival.address) ? loopbackNames : [])]
  if (samePort && names.includes(given.name)) return true
  return (door.hosts ?? []).some((entry) => {
    const allowed = parseHost(entry)
    if (allowed === undefined || allowed.name !== given.name) return false
    return allowed.port !== undefined ? allowed.port === port : samePort
  })
}

// Whether an `Origin` header is the origin of the page the service itself serves at `host`.
const sameOrigin = (origin: string, host: string): boolean => {
  try {
    const url = new URL(origin)
    return (url.protocol === "http:" || url.protocol === "https:") && url.host === new URL(`${url.protocol}//${host}`).host
  } catch {
    return false
  }
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Whether `given` is the token, compared in constant time (of equal-length digests, so the length is not told either). */
export const tokenMatches = (given: string, token: Redacted.Redacted<string>): boolean => timingSafeEqual(digest(given), digest(Redacted.value(token)))

const header = (request: { readonly headers: Readonly<Record<string, string | undefined>> }, name: string): string | undefined => request.headers[name]

/**
 * The front door's refusal of a request, or undefined to let it in. In order: a `Host` that does
 * not name the service (403), a request of another origin (403: an `Origin` other than the
 * service's own, or `Sec-Fetch-Site` other than `same-origin`/`none`), a missing or wrong bearer
 * token on a route that needs one (401).
 */
export const frontDoorRefusal = (
  door: FrontDoor,
  request: { readonly url: string; readonly headers: Readonly<Record<string, string | undefined>> },
  arrival: Arrival | undefined
): FrontDoorRefusal | undefined => {
  const host = header(request, "host")
  if (host === undefined || !hostAllowed(door, host, arrival)) {
    return new Forbidden({
      message: `the Host header ${JSON.stringify((host ?? "").slice(0, 100))} does not name this service (to reach it by another name, start it with --allow-host)`
    })
  }
  const origin = header(request, "origin")
  if (origin !== undefined && !sameOrigin(origin, host)) {
    return new Forbidden({ message: "requests from pages of another origin are refused" })
  }
  const site = header(request, "sec-fetch-site")
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return new Forbidden({ message: "requests from pages of another origin are refused" })
  }
  if (door.token === undefined) return undefined
  const path = request.url.split("?")[0] ?? ""
  if ((door.openPaths ?? ["/health"]).includes(path)) return undefined
  const authorization = header(request, "authorization")
  const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
  if (match === null) return new Unauthorized({ message: "this service requires a bearer token (Authorization: Bearer <token>)" })
  return tokenMatches(match[1]!, door.token) ? undefined : new Unauthorized({ message: "the bearer token is not valid" })
}

// ---------------------------------------------------------------------------------------------
// the guard
// ---------------------------------------------------------------------------------------------

// A refusal answered before the body is read: the body is drained (not parsed, not stored) so
// the client reads the answer instead of a reset connection.
const refuse = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
  Effect.as(Upload.dropBody(request), response)

// A body the HTTP layer would read whose length is not declared (chunked), other than multipart.
const undeclaredBody = (request: HttpServerRequest.HttpServerRequest): boolean =>
  request.headers["content-length"] === undefined &&
  request.headers["transfer-encoding"] !== undefined &&
  !(request.headers["content-type"] ?? "").toLowerCase().includes("multipart/")

// The request again, its body the bytes already read (headers of the transfer dropped).
const replay = (request: HttpServerRequest.HttpServerRequest, body: Uint8Array): HttpServerRequest.HttpServerRequest => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) {
    if (name !== "transfer-encoding" && name !== "connection" && name !== "keep-alive") headers.set(name, value)
  }
  headers.set("content-length", String(body.length))
  const host = request.headers["host"] ?? "localhost"
  return HttpServerRequest.fromWeb(new Request(`http://${host}${request.url}`, { method: request.method, headers, body }))
}

/** The guard of `policy`, as an `HttpApi` middleware: the app it guards keeps its own failures. */
export const make =
  <G extends ServiceError>(policy: GuardPolicy<G>) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (policy.frontDoor !== undefined) {
        const refusal = frontDoorRefusal(policy.frontDoor, request, arrivalOf(request))
        if (refusal !== undefined) {
          const response = policy.respond(refusal)
          return yield* refuse(
            request,
            refusal._tag === "Unauthorized" ? HttpServerResponse.setHeader(response, "www-authenticate", 'Bearer realm="automarket"') : response
          )
        }
      }
      for (const check of policy.checks ?? []) {
        const refusal = check(request)
        if (refusal !== undefined) return policy.respond(refusal)
      }
      let guarded = app
      const { maxBodyBytes, tooLarge } = policy
      if (maxBodyBytes !== undefined && tooLarge !== undefined && undeclaredBody(request)) {
        const read = yield* Upload.readBounded(request, maxBodyBytes).pipe(Effect.either)
        // A body that could not be read is left to the HTTP layer to fail on, as before.
        if (read._tag === "Right") {
          if (read.right === undefined) return policy.respond(tooLarge(maxBodyBytes))
          guarded = Effect.provideService(app, HttpServerRequest.HttpServerRequest, replay(request, read.right))
        }
      }
      const bounded = maxBodyBytes === undefined ? guarded : HttpIncomingMessage.withMaxBodySize(guarded, Option.some(maxBodyBytes))
      const fromHttpFailure = policy.fromHttpFailure
      if (fromHttpFailure === undefined) return yield* bounded
      return yield* Effect.catchAllCause(bounded, (cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        const refusal = fromHttpFailure(Cause.squash(cause))
        return refusal === undefined ? Effect.failCause(cause) : Effect.succeed(policy.respond(refusal))
      })
    })
