/**
 * The inputs of an FFmpeg job: the files uploaded with it and the http(s) URLs its spec names.
 *
 * Uploaded files are stored in the request's job directory. Their names are never used as paths:
 * a file is stored as `in-<n>.<ext>` (the extension, when it is plain, helps ffprobe), and a name
 * with a directory in it (`../x`, `/etc/x`, `..\x`) is refused with 400. A spec refers to inputs
 * by the field key they were uploaded under, or by an http(s) URL the service fetches into the
 * job directory, when its `UrlPolicy` allows (by default it allows none).
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Path from "@effect/platform/Path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { BadRequest, Internal, PayloadTooLarge } from "../kit/Errors.js"
import * as Upload from "../kit/Upload.js"

/** A failure answer of the service. */
export const badRequest = (message: string) => new BadRequest({ message })
/** A 413 answer. */
export const tooLarge = (message: string) => new PayloadTooLarge({ message })
/** A 500 answer for a broken service (not an ffmpeg failure). */
export const internal = (message: string) => new Internal({ message })

// ---------------------------------------------------------------------------------------------
// receiving uploads
// ---------------------------------------------------------------------------------------------

/** What a job request carried: its `spec` field, and its files by the key they came under. */
export interface Received {
  readonly spec: string | undefined
  readonly files: ReadonlyMap<string, Upload.Stored>
}

const keyPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/
const maxFiles = 64

const quote = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 97)}...` : text)

/** How this service refuses an upload the receiver could not take. */
const refusals = (maxBodyBytes: number): Upload.UploadRefusals<BadRequest | PayloadTooLarge | Internal> => ({
  malformed: (error) => {
    if (Upload.overLimit(error)) return tooLarge(`the request body is larger than this service accepts (${maxBodyBytes} bytes)`)
    switch (error.reason) {
      case "BodyTooLarge":
      case "FileTooLarge":
        return tooLarge(`the request body is larger than this service accepts (${maxBodyBytes} bytes)`)
      case "FieldTooLarge":
        return tooLarge("a form field is larger than this service accepts")
      case "TooManyParts":
        return badRequest("the request has too many parts")
      case "Parse":
        return badRequest(`the request body is not valid multipart/form-data: ${error.message}`)
      case "InternalError":
        return internal(`receiving the upload failed: ${error.message}`)
    }
  },
  notStored: (reason) => internal(`storing an upload failed: ${reason}`),
  badFileName: (reason) => badRequest(reason)
})

/**
 * Store the parts of a job's multipart body into `dir`: the `spec` field kept as text, each file
 * written as `in-<n>.<ext>`. Refuses (400) unknown fields, repeated keys, unsafe file names and
 * more than 64 files; a body over `maxBodyBytes` is refused with 413.
 */
export const receive = (
  request: HttpServerRequest.HttpServerRequest,
  dir: string,
  maxBodyBytes: number
): Effect.Effect<Received, BadRequest | PayloadTooLarge | Internal, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    let spec: string | undefined
    const keys = new Set<string>()
    const { stored } = yield* Upload.receive(
      request,
      {
        maxBytes: maxBodyBytes,
        field: (part) => {
          if (part.key !== "spec") return Effect.fail(badRequest(`unexpected form field ${quote(part.key)}: only "spec" and files are read`))
          if (spec !== undefined) return Effect.fail(badRequest(`the "spec" field is given twice`))
          spec = part.value
          return Effect.void
        },
        file: (part) => {
          if (!keyPattern.test(part.key) || part.key === "spec") {
            return Effect.fail(badRequest(`invalid file field name ${quote(part.key)}: use letters, digits, "_", "-" and "." (not "spec")`))
          }
          if (!Upload.isSafeFileName(part.name)) {
            return Effect.fail(
              badRequest(`unsafe file name ${quote(part.name)} in field ${quote(part.key)}: a name must not contain "/" or "\\" or be ".."`)
            )
          }
          if (keys.has(part.key)) return Effect.fail(badRequest(`more than one file under the key ${quote(part.key)}`))
          if (keys.size >= maxFiles) return Effect.fail(badRequest(`more than ${maxFiles} files`))
          const stored = path.join(dir, `in-${keys.size}${Upload.safeExtension(part.name)}`)
          keys.add(part.key)
          return Effect.succeed(stored)
        }
      },
      refusals(maxBodyBytes)
    )
    return { spec, files: new Map(stored.map((file) => [file.key, file])) }
  })

// ---------------------------------------------------------------------------------------------
// the URL inputs a service fetches
// ---------------------------------------------------------------------------------------------

/**
 * Which URL inputs the service fetches. None unless hosts are named: a service that fetches
 * what a request names would fetch for whoever can send it a request (its loopback neighbours,
 * the machine's private network, the cloud's metadata address) and say by its errors what
 * answered. With hosts named, a URL's host must be one of them, and every address its name
 * resolves to must be a public one: loopback, private (RFC 1918, `fc00::/7`), link-local
 * (`169.254/16`, `fe80::/10`), unspecified, multicast and other special ranges are refused after
 * resolution, and the connection is made to the address that was checked (the lookup that checks
 * is the one the connection uses, so a second answer of the name server cannot swap it).
 * Redirects are followed (at most 5) only to URLs that pass the same checks.
 */
export interface UrlPolicy {
  /** Hosts URLs may name: `example.com`, `*.example.com` (its subdomains), `*` (any host). Empty: URL inputs are refused. */
  readonly hosts: ReadonlyArray<string>
  /**
   * Addresses let through although they are in a refused range. For tests (which have only
   * loopback) and embedders with a reason; the command line has no option for it.
   */
  readonly trustedAddresses?: ReadonlyArray<string>
}

/** Whether a URL's host (as `URL.hostname` gives it) is among `hosts`. */
export const hostListed = (hosts: ReadonlyArray<string>, hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/\.$/, "")
  return hosts.some((entry) => {
    const allowed = entry.trim().toLowerCase().replace(/\.$/, "")
    if (allowed === "*") return true
    if (allowed.startsWith("*.")) return host.endsWith(allowed.slice(1)) && host.length > allowed.length - 1
    return allowed === host
  })
}

// The 16 bytes of an IPv6 address, or undefined when it is not one.
const ipv6Bytes = (address: string): Uint8Array | undefined => {
  if (!Net.isIPv6(address)) return undefined
  let text = address.toLowerCase().split("%")[0]!
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number)
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined]
  const left = head === "" || head === undefined ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
  const bytes = new Uint8Array(16)
  groups.forEach((group, i) => {
    const value = parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}

const refusedV4 = new Net.BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (carrier NAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4] // reserved, broadcast
] as const) {
  refusedV4.addSubnet(network, prefix, "ipv4")
}

const refusedV6 = new Net.BlockList()
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["::", 96], // IPv4-compatible (deprecated)
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (private)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8] // multicast
] as const) {
  refusedV6.addSubnet(network, prefix, "ipv6")
}

/**
 * Whether an address is one URL inputs may not reach: loopback, private, link-local,
 * unspecified, multicast, reserved or documentation ranges, IPv4 ones also when written inside
 * IPv6 (`::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Not an address at all: refused.
 */
export const addressRefused = (address: string): boolean => {
  const plain = address.replace(/^\[|\]$/g, "")
  if (Net.isIPv4(plain)) return refusedV4.check(plain, "ipv4")
  const bytes = ipv6Bytes(plain)
  if (bytes === undefined) return true
  const v4 = (offset: number) => `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((byte) => byte === 0)
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return refusedV4.check(v4(12), "ipv4")
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return refusedV4.check(v4(12), "ipv4")
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return refusedV4.check(v4(2), "ipv4")
  return refusedV6.check(plain.split("%")[0]!, "ipv6")
}

// The error the checking lookup fails a connection with; never shown to the client as such.
const refusedByPolicy = (hostname: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${hostname} resolves to an address URL inputs may not reach`), { code: "EADDRREFUSED" })

/**
 * The DNS lookup of URL-input connections: resolves the name, and refuses the connection when
 * any of its addresses is refused (`addressRefused`, unless trusted); the connection then goes
 * to the addresses it returned, the ones that were checked.
 */
export const checkingLookup =
  (trusted: ReadonlyArray<string>): Net.LookupFunction =>
  (hostname, options, callback) => {
    Dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, [])
      const refused = addresses.length === 0 || addresses.some((entry) => addressRefused(entry.address) && !trusted.includes(entry.address))
      if (refused) return callback(refusedByPolicy(hostname), [])
      if (options.all === true) return callback(null, addresses)
      const first = addresses[0]!
      callback(null, first.address, first.family)
    })
  }

/**
 * The HTTP client URL inputs are fetched with: Node's, over an agent whose every connection
 * goes through `checkingLookup` (a name that resolves to a refused address is not connected to),
 * without keep-alive (each fetch resolves afresh).
 */
export const fetchClientLayer = (policy: UrlPolicy): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerWithoutAgent.pipe(
    Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false, lookup: checkingLookup(policy.trustedAddresses ?? []) }))
  )

/** The bytes all the URL inputs of one request may add up to, counted as they arrive. */
export interface ByteBudget {
  readonly limit: number
  /** Count `bytes` more; false when that goes over the limit. */
  readonly take: (bytes: number) => boolean
  /** What is left. */
  readonly left: () => number
}

/** A fresh budget of `limit` bytes, for one request's URL inputs together. */
export const byteBudget = (limit: number): ByteBudget => {
  let used = 0
  return {
    limit,
    take: (bytes) => (used += bytes) <= limit,
    left: () => Math.max(0, limit - used)
  }
}

const urlExtension = (url: string): string => {
  try {
    return Upload.safeExtension(new URL(url).pathname)
  } catch {
    return ""
  }
}

/** Whether a spec's `src` is a URL for the service to fetch. */
export const isUrl = (src: string): boolean => /^https?:\/\//i.test(src)

const maxRedirects = 5

// A URL the policy lets the service fetch, or the refusal (which says nothing of the network).
const allowedUrl = (text: string, policy: UrlPolicy): Either.Either<URL, BadRequest> => {
  if (policy.hosts.length === 0) {
    return Either.left(
      badRequest(
        `URL inputs are disabled on this service (${quote(text)}): upload the file instead, or start the service with --allow-url-host naming the hosts it may fetch from`
      )
    )
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left(badRequest(`${quote(text)} is not a valid URL`))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return Either.left(badRequest(`${quote(text)} is not an http(s) URL`))
  if (!hostListed(policy.hosts, url.hostname)) {
    return Either.left(badRequest(`${quote(text)}: this service does not fetch from ${quote(url.hostname)} (see --allow-url-host)`))
  }
  // An address written in the URL is connected to without a lookup: check it here.
  const literal = url.hostname.replace(/^\[|\]$/g, "")
  if (Net.isIP(literal) !== 0 && addressRefused(literal) && !(policy.trustedAddresses ?? []).includes(literal)) {
    return Either.left(unreachable(text))
  }
  return Either.right(url)
}

// One message for every way of not getting an answer, a refused address included: the service
// does not tell a closed port from a refused one.
const unreachable = (url: string) => badRequest(`could not fetch ${quote(url)}: no answer from its host (unreachable, or not one this service may reach)`)

/**
 * Fetch an http(s) URL into `dest`, streaming, as `policy` allows, its bytes counted against
 * `budget` (shared by the request's URL inputs). Failures are answered 400 (the caller gave a
 * URL the service could not or may not use) or 413 (too big).
 */
export const fetchInto = (
  url: string,
  dest: string,
  policy: UrlPolicy,
  budget: ByteBudget,
  timeout: Duration.DurationInput
): Effect.Effect<void, BadRequest | PayloadTooLarge, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const client = yield* HttpClient.HttpClient
    const overBudget = () => tooLarge(`the URL inputs of this request are larger together than this service accepts (${budget.limit} bytes)`)
    let target = yield* allowedUrl(url, policy)
    let response = yield* client.execute(HttpClientRequest.get(target)).pipe(Effect.mapError(() => unreachable(url)))
    for (let hop = 0; response.status >= 300 && response.status < 400 && response.headers["location"] !== undefined; hop++) {
      if (hop === maxRedirects) return yield* Effect.fail(badRequest(`could not fetch ${quote(url)}: more than ${maxRedirects} redirects`))
      const next = yield* Effect.try({ try: () => new URL(response.headers["location"]!, target).href, catch: () => unreachable(url) })
      target = yield* allowedUrl(next, policy).pipe(Either.mapLeft(() => unreachable(url)))
      response = yield* client.execute(HttpClientRequest.get(target)).pipe(Effect.mapError(() => unreachable(url)))
    }
    if (response.status < 200 || response.status >= 300) {
      return yield* Effect.fail(badRequest(`could not fetch ${quote(url)}: HTTP ${response.status}`))
    }
    const declared = Number(response.headers["content-length"])
    if (Number.isFinite(declared) && declared > budget.left()) return yield* Effect.fail(overBudget())
    yield* response.stream.pipe(
      Stream.mapError(() => badRequest(`could not fetch ${quote(url)}: the connection broke`)),
      Stream.mapEffect((chunk) => (budget.take(chunk.length) ? Effect.succeed(chunk) : Effect.fail(overBudget()))),
      Stream.run(fs.sink(dest)),
      Effect.catchTags({
        SystemError: (error) => Effect.fail(badRequest(`could not store ${quote(url)}: ${error.message}`)),
        BadArgument: (error) => Effect.fail(badRequest(`could not store ${quote(url)}: ${error.message}`))
      })
    )
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: timeout, onTimeout: () => badRequest(`fetching ${quote(url)} took too long`) })
  )

// ---------------------------------------------------------------------------------------------
// resolving the inputs a spec names
// ---------------------------------------------------------------------------------------------

/**
 * The local file of each `src`: an uploaded file's key, or a URL fetched into `dir` as `policy`
 * allows, all of a request's URLs within one budget of `maxBytes`. A `src` that is neither is
 * answered 400, naming it.
 */
export const resolveSources = (
  sources: ReadonlyArray<string>,
  received: Received,
  dir: string,
  options: { readonly policy: UrlPolicy; readonly maxBytes: number; readonly fetchTimeout: Duration.DurationInput }
): Effect.Effect<ReadonlyMap<string, string>, BadRequest | PayloadTooLarge, HttpClient.HttpClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const resolved = new Map<string, string>()
    const budget = byteBudget(options.maxBytes)
    let fetched = 0
    for (const src of sources) {
      const upload = received.files.get(src)
      if (upload !== undefined) {
        resolved.set(src, upload.path)
      } else if (isUrl(src)) {
        if (resolved.has(src)) continue
        const dest = path.join(dir, `url-${fetched++}${urlExtension(src)}`)
        yield* fetchInto(src, dest, options.policy, budget, options.fetchTimeout)
        resolved.set(src, dest)
      } else {
        const keys = [...received.files.keys()]
        return yield* Effect.fail(
          badRequest(
            `the spec names ${quote(src)} but no file was uploaded under that key` +
              (keys.length > 0 ? ` (uploaded: ${keys.map(quote).join(", ")})` : " (no files were uploaded)")
          )
        )
      }
    }
    return resolved
  })
