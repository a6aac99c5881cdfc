/**
 * Streaming download of a result file (a generated image, video or sound) to disk.
 *
 * What `download` guarantees:
 * - **Never whole in memory**: the request goes through the `HttpClient` in context
 *   (`UndiciHttpClient.layer` in `AutoMarket.layer`; tests give an in-memory emulator instead, as
 *   for every other request) and the body is written as it comes, at most about 1 MiB waiting for
 *   the disk before the body is paused, so memory stays flat whatever the size
 *   (bench/download.ts measures a 1 GiB file). undici's body is piped to the file as a Node stream,
 *   with no Effect work per chunk (which is what held it to a fraction of `curl`'s speed); another
 *   client's body is pulled through its Effect stream.
 * - **Atomic**: bytes go to a hidden temp file in the target's directory
 *   (`.<name>.<random>.part`), renamed onto `to` only when complete. A failed, interrupted or
 *   truncated download removes the temp file: `to` is either the whole file or untouched.
 * - **Bounded**: `maxBytes` (default 2 GiB) caps both the announced `content-length` (refused
 *   before reading) and the bytes actually received (stopped as soon as they exceed it).
 * - **Checked**: `expect` lists the acceptable content types (`"image/*"`, `"video/mp4"` ...); an
 *   answer of another type fails before anything is written. A generic type
 *   (`application/octet-stream`, `binary/octet-stream`) or none is accepted: it says nothing.
 * - **Resumable**: when the connection drops mid-body (or the body ends short of its
 *   `content-length`), the next attempt asks for the rest with `Range: bytes=N-` (and `If-Range`
 *   with the ETag or Last-Modified) if the server announced `Accept-Ranges: bytes`; a `206` with the
 *   matching `Content-Range` continues the file, anything else restarts it from zero. Up to
 *   `attempts` attempts (default 4), 5xx answers included.
 * - **Secure by default**: only `https:` URLs to public hosts (and `data:` URLs, decoded locally).
 *   Loopback hosts (127.0.0.0/8, `::1`, `localhost`, also IPv4-mapped), over `http:` or `https:`,
 *   only when `allowLoopbackHttp` is set or the environment has `AUTOMARKET_ALLOW_LOOPBACK_HTTP=1`
 *   (tests, local emulators); private, link-local and unspecified addresses only with
 *   `allowPrivateHosts`. Addresses are judged as the URL writes them (names are not resolved).
 * - **Redirects under the same rule**: up to `maxRedirects` (5) are followed, each target checked
 *   as the first URL is (so `https:` never leads to plain `http:`, nor to loopback without the
 *   allowance, nor to `data:`); a sixth is refused. The caller's `headers` (an authorization the
 *   file host needs) go only to the origin of `url`: after a redirect to another origin only
 *   `user-agent`, `accept` and `accept-language` follow. Redirects are decided here, not by the
 *   `HttpClient` (a fetch-based client is told `redirect: "manual"`).
 * - **Nothing read that is not kept**: the body of an error status, of a redirect, of a refused
 *   content type or size is not read; the request is aborted when the attempt ends.
 * - **Observable**: `Progress.JobEvent.Downloading` events (bytes so far, total when known) are
 *   reported to the `ProgressReporter` in context, at most about once per percent (or per MiB when
 *   the size is unknown), plus the first and the last.
 *
 * Every failure is a `DownloadFailed` naming the provider and the URL (without its query string,
 * which may hold a signature); its `detail` starts with what went wrong: `too large`,
 * `unexpected content type`, `refused` (a URL or redirect the rules above refuse, or too many
 * redirects), `HTTP <status>`, `truncated`, `connection lost`, `connection failed`, `stalled`,
 * `write error` (the last attempt's reason when the attempts ran out).
 *
 * ```ts
 * const file = yield* Download.download({
 *   url: "https://v3.fal.media/files/abc/out.png",
 *   to: "/tmp/out.png",
 *   expect: ["image/*"],
 *   maxBytes: 50 * 1024 * 1024,
 *   provider: "falai",
 *   model: "fal-ai/flux-pro"
 * })
 * // file: { path: "/tmp/out.png", bytes: 123456, contentType: "image/png", resumed: 0 }
 * ```
 *
 * @module
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { pipeline, Readable, Writable } from "node:stream"
import { DownloadFailed } from "../domain/Errors.js"
import * as Progress from "../domain/Progress.js"
import { extensionOf, mediaTypeOf, mediaTypeOfExtension } from "../media/MediaTypes.js"

export { extensionOf, mediaTypeOf, mediaTypeOfExtension }

/** The environment switch that allows plain-http downloads from loopback hosts (`1`/`true`). */
export const allowLoopbackHttpVar = "AUTOMARKET_ALLOW_LOOPBACK_HTTP"

/** Default size cap: 2 GiB. */
export const defaultMaxBytes = 2 * 1024 * 1024 * 1024

/** Redirects followed at most; one more is refused. */
export const maxRedirects = 5

/** What to download, where, and under which rules. */
export interface DownloadOptions {
  /** The result's URL: `https:` (or `http:` to a loopback host when allowed, or `data:`). */
  readonly url: string
  /** The final path. Its directory is created if needed; an existing file is replaced. */
  readonly to: string
  /** Acceptable content types: exact (`"image/png"`) or a family (`"image/*"`). Default: any. */
  readonly expect?: ReadonlyArray<string>
  /** Largest accepted size in bytes. Default `defaultMaxBytes` (2 GiB). */
  readonly maxBytes?: number
  /** Attempts in all, resumptions and restarts included. Default 4. */
  readonly attempts?: number
  /** Longest wait for the answer's headers or for the next chunk. Default 60 s. */
  readonly idleTimeout?: Duration.DurationInput
  /** Allow loopback hosts (`http:` or `https:`). Default: the `AUTOMARKET_ALLOW_LOOPBACK_HTTP` environment variable. */
  readonly allowLoopbackHttp?: boolean
  /**
   * Allow `https:` to private, link-local and unspecified addresses (10/8, 192.168/16,
   * 169.254/16, fc00::/7 ...), on the first URL and on redirects. Default `false`: a remote
   * provider's result is on a public host, and such an address in its place (or in a redirect)
   * points into the local network.
   */
  readonly allowPrivateHosts?: boolean
  /**
   * Extra request headers (e.g. an authorization the file host needs), sent only to the origin
   * of `url` (after a redirect elsewhere, only `user-agent`, `accept` and `accept-language`).
   */
  readonly headers?: Readonly<Record<string, string>>
  /** The provider the file comes from, named in errors and progress events. Default `"download"`. */
  readonly provider?: string
  /** The model that made the file, named in progress events. Default `""`. */
  readonly model?: string
}

/** A completed download. */
export interface Downloaded {
  /** Where the file is (the `to` path). */
  readonly path: string
  /** Its size in bytes. */
  readonly bytes: number
  /** The content type the server announced (parameters stripped), when it did. */
  readonly contentType: string | undefined
  /** How many times the transfer continued from a byte offset after a dropped connection. */
  readonly resumed: number
}

/** Whether `host` (a URL's hostname, as `URL` normalises it) is a loopback address. */
export const isLoopbackHost = (host: string): boolean => {
  const h = unbracket(host)
  if (h === "localhost" || h.endsWith(".localhost") || h === "::1") return true
  const v4 = ipv4Of(h)
  return v4 !== undefined && v4[0] === 127
}

/**
 * Whether `host` (a URL's hostname, as `URL` normalises it) is an address of no public host:
 * private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local (169.254/16, fe80::/10,
 * where cloud metadata services answer) or unspecified (0.0.0.0/8, `::`). Names are not resolved:
 * this judges the URL as written.
 */
export const isPrivateHost = (host: string): boolean => {
  const h = unbracket(host)
  const v4 = ipv4Of(h)
  if (v4 !== undefined) {
    const [a, b] = v4
    return a === 0 || a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b < 128)
  }
  if (!h.includes(":")) return false
  return h === "::" || /^f[cd][0-9a-f]{0,2}:/.test(h) || /^fe[89ab][0-9a-f]?:/.test(h)
}

const unbracket = (host: string): string => host.replace(/^\[|\]$/g, "").toLowerCase()

// The four bytes of a dotted IPv4 address, or of an IPv4-mapped IPv6 one (`::ffff:7f00:1`, as
// `URL` writes `::ffff:127.0.0.1`); undefined for anything else.
const ipv4Of = (h: string): readonly [number, number, number, number] | undefined => {
  const dotted = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h.startsWith("::ffff:") ? h.slice(7) : h)
  if (dotted !== null) return [Number(dotted[1]), Number(dotted[2]), Number(dotted[3]), Number(dotted[4])]
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h)
  if (mapped === null) return undefined
  const hi = parseInt(mapped[1]!, 16)
  const lo = parseInt(mapped[2]!, 16)
  return [hi >> 8, hi & 255, lo >> 8, lo & 255]
}

/**
 * Whether a URL may be fetched: `https:` to a public host and `data:` always; a loopback host
 * (over `http:` or `https:`) only when `allowLoopbackHttp`; a private, link-local or unspecified
 * address only when `allowPrivateHosts`; plain `http:` to no other host. Returns the reason when
 * refused.
 */
export const checkUrl = (
  url: string,
  allowLoopbackHttp: boolean,
  allowPrivateHosts = false
): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, reason: "not a valid URL" }
  }
  if (parsed.protocol === "data:") return { ok: true }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { ok: false, reason: `scheme ${parsed.protocol} is not allowed (https only)` }
  }
  if (isLoopbackHost(parsed.hostname)) {
    return allowLoopbackHttp ? { ok: true } : { ok: false, reason: `${parsed.protocol === "http:" ? "plain http" : "https"} to a loopback host needs ${allowLoopbackHttpVar}=1` }
  }
  if (parsed.protocol === "http:") return { ok: false, reason: "plain http is refused (https only)" }
  if (isPrivateHost(parsed.hostname) && !allowPrivateHosts) return { ok: false, reason: "a private or link-local address (allowPrivateHosts is off)" }
  return { ok: true }
}

/**
 * Whether a redirect's target may be followed: the same rule as `checkUrl` for the first URL,
 * except that a `data:` target is refused (a server has no business answering with one).
 */
export const checkRedirect = (
  url: string,
  allowLoopbackHttp: boolean,
  allowPrivateHosts = false
): { readonly ok: true } | { readonly ok: false; readonly reason: string } =>
  /^data:/i.test(url) ? { ok: false, reason: "a redirect to a data: URL" } : checkUrl(url, allowLoopbackHttp, allowPrivateHosts)

// Headers that say nothing about who asks: they follow a redirect to another origin.
const portableHeaders: ReadonlySet<string> = new Set(["user-agent", "accept", "accept-language"])

/** The caller's headers that may be sent to `url`: all of them on the origin they were given for, the portable ones elsewhere. */
export const headersFor = (
  url: string,
  givenFor: string,
  headers: Readonly<Record<string, string>> | undefined
): Record<string, string> => {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  const same = originOf(url) !== undefined && originOf(url) === originOf(givenFor)
  for (const name in headers) {
    if (same || portableHeaders.has(name.toLowerCase())) out[name] = headers[name]!
  }
  return out
}

const originOf = (url: string): string | undefined => {
  try {
    const origin = new URL(url).origin
    // An opaque origin ("null": data:, file: ...) is nobody's.
    return origin === "null" ? undefined : origin
  } catch {
    return undefined
  }
}

const genericTypes: ReadonlySet<string> = new Set(["application/octet-stream", "binary/octet-stream", "application/binary"])

/**
 * Whether a content type is acceptable under `expect` (exact types or `family/*`). No `expect`,
 * no content type, or a generic binary type is accepted.
 */
export const contentTypeAccepted = (contentType: string | undefined, expect: ReadonlyArray<string> | undefined): boolean => {
  if (expect === undefined || expect.length === 0) return true
  if (contentType === undefined || genericTypes.has(contentType)) return true
  return expect.some((pattern) => {
    const p = pattern.toLowerCase()
    return p.endsWith("/*") ? contentType.startsWith(p.slice(0, -1)) : contentType === p
  })
}

/** A `Content-Range: bytes start-end/total` header, parsed. */
export const parseContentRange = (
  header: string | undefined
): { readonly start: number; readonly end: number; readonly total: number | undefined } | undefined => {
  const match = header === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim())
  if (match === null) return undefined
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? undefined : Number(match[3]) }
}

/**
 * A `data:` URL's bytes and media type (parameters stripped; undefined when it names none), or
 * undefined when the URL is malformed.
 */
export const decodeDataUrl = (url: string): { readonly bytes: Uint8Array; readonly contentType: string | undefined } | undefined => {
  const match = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/s.exec(url)
  if (match === null) return undefined
  const payload = match[4] ?? ""
  try {
    const bytes = match[3] !== undefined ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8")
    return { bytes, contentType: mediaTypeOf(match[1]) }
  } catch {
    // A broken percent-escape.
    return undefined
  }
}

/** The URL as it may appear in an error: without query or fragment (they may carry signatures). */
export const displayUrl = (url: string): string => {
  if (url.startsWith("data:")) return `${url.slice(0, 30)}...`
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return url.slice(0, 100)
  }
}

// Why an attempt ended early: `retry` may continue (from `written` when the server allows ranges).
type AttemptEnd =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Retry"; readonly reason: string; readonly restart: boolean }

class Fatal {
  readonly _tag = "Fatal"
  constructor(readonly error: DownloadFailed) {}
}

/**
 * Stream `options.url` to `options.to`. See the module comment for the rules. Fails only with
 * `DownloadFailed`; interruption stops the transfer and removes the temp file.
 */
export const download = (options: DownloadOptions): Effect.Effect<Downloaded, DownloadFailed, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const provider = options.provider ?? "download"
    const model = options.model ?? ""
    const shown = displayUrl(options.url)
    const fail = (message: string) => new DownloadFailed({ provider, url: shown, detail: `${message} (${shown})` })
    const allowHttp =
      options.allowLoopbackHttp ??
      (yield* Config.boolean(allowLoopbackHttpVar).pipe(Config.withDefault(false), Effect.orElseSucceed(() => false)))
    const allowPrivate = options.allowPrivateHosts ?? false
    const allowed = checkUrl(options.url, allowHttp, allowPrivate)
    if (!allowed.ok) return yield* Effect.fail(fail(`refused: ${allowed.reason}`))

    const maxBytes = options.maxBytes ?? defaultMaxBytes
    const target = path.resolve(options.to)
    const dir = path.dirname(target)
    const temp = path.join(dir, `.${path.basename(target)}.${randomUUID().slice(0, 8)}.part`)
    yield* Effect.tryPromise({ try: () => fs.mkdir(dir, { recursive: true }), catch: (e) => fail(`write error: ${String(e)}`) })

    const transfer: Effect.Effect<Downloaded, DownloadFailed, HttpClient.HttpClient> = options.url.startsWith("data:")
      ? writeDataUrl(options, temp, maxBytes, fail)
      : fetchToFile(options, temp, maxBytes, fail, provider, model, allowHttp, allowPrivate)

    return yield* transfer.pipe(
      Effect.flatMap((done) =>
        Effect.as(
          Effect.tryPromise({ try: () => fs.rename(temp, target), catch: (e) => fail(`write error: ${String(e)}`) }),
          { ...done, path: target }
        )
      ),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.promise(() => fs.rm(temp, { force: true }).catch(() => undefined))))
    )
  })

const writeDataUrl = (
  options: DownloadOptions,
  temp: string,
  maxBytes: number,
  fail: (message: string) => DownloadFailed
): Effect.Effect<Downloaded, DownloadFailed> =>
  Effect.gen(function* () {
    const decoded = decodeDataUrl(options.url)
    if (decoded === undefined) return yield* Effect.fail(fail("refused: malformed data URL"))
    const { bytes, contentType } = decoded
    if (!contentTypeAccepted(contentType, options.expect)) {
      return yield* Effect.fail(fail(`unexpected content type ${contentType} (expected ${options.expect?.join(" or ")})`))
    }
    if (bytes.length > maxBytes) return yield* Effect.fail(fail(`too large: ${bytes.length} bytes, the cap is ${maxBytes}`))
    yield* Effect.tryPromise({ try: () => fs.writeFile(temp, bytes), catch: (e) => fail(`write error: ${String(e)}`) })
    return { path: temp, bytes: bytes.length, contentType, resumed: 0 }
  })

const fetchToFile = (
  options: DownloadOptions,
  temp: string,
  maxBytes: number,
  fail: (message: string) => DownloadFailed,
  provider: string,
  model: string,
  allowHttp: boolean,
  allowPrivate: boolean
): Effect.Effect<Downloaded, DownloadFailed, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const fetch: Fetch = fetchWith(yield* HttpClient.HttpClient, { allowHttp, allowPrivate, given: options.url, headers: options.headers, fail })
    const attempts = Math.max(1, options.attempts ?? 4)
    const idle = Duration.decode(options.idleTimeout ?? "60 seconds")

    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => fs.open(temp, "w"), catch: (e) => fail(`write error: ${String(e)}`) }),
      (handle) =>
        Effect.gen(function* () {
          let written = 0
          let total: number | undefined
          let contentType: string | undefined
          let validator: string | undefined
          let rangesAllowed = false
          let resumed = 0
          let lastReported = -1
          const step = () => Math.max(1024 * 1024, total !== undefined ? Math.floor(total / 100) : 0)
          const reportProgress = (force: boolean) => {
            if (!force && written - lastReported < step()) return Effect.void
            lastReported = written
            return Progress.report(Progress.JobEvent.Downloading({ provider, model, received: written, total }))
          }

          // The body of a client that gives no Node stream, pulled through Effect's: the network
          // reads ahead (at most `readAhead` chunks) while the disk writes what came before, in
          // batches of `writeBatch` chunks, one call each. Undefined when the body ended, else
          // the reason it stopped short.
          const streamToFile = (body: Stream.Stream<Uint8Array, string>): Effect.Effect<string | undefined, Fatal> =>
            body.pipe(
              Stream.timeoutFail(() => "stalled: no data", idle),
              Stream.buffer({ capacity: readAhead }),
              Stream.rechunk(writeBatch),
              Stream.runForEachChunk((chunks) => {
                const buffers = Chunk.toReadonlyArray(chunks)
                let size = 0
                for (const buffer of buffers) size += buffer.length
                if (written + size > maxBytes) {
                  return Effect.fail(new Fatal(fail(`too large: more than ${maxBytes} bytes received`)))
                }
                const at = written
                return Effect.flatMap(
                  Effect.tryPromise({
                    try: () => handle.writev(buffers, at),
                    catch: (e) => new Fatal(fail(`write error: ${String(e)}`))
                  }),
                  () => {
                    written += size
                    return reportProgress(false)
                  }
                )
              }),
              Effect.matchEffect({
                onFailure: (reason) => (reason instanceof Fatal ? Effect.fail(reason) : Effect.succeed(reason)),
                onSuccess: () => Effect.succeed(undefined)
              })
            )

          // Each attempt in its own scope: whatever it left unread is aborted when it ends.
          const attempt = (index: number): Effect.Effect<AttemptEnd, Fatal> =>
            Effect.scoped(Effect.gen(function* () {
              const resuming = written > 0 && rangesAllowed
              if (written > 0 && !resuming) {
                yield* Effect.tryPromise({ try: () => handle.truncate(0), catch: (e) => new Fatal(fail(`write error: ${String(e)}`)) })
                written = 0
              }
              const ranged: Record<string, string> = {}
              if (resuming) {
                ranged["range"] = `bytes=${written}-`
                if (validator !== undefined) ranged["if-range"] = validator
              }
              const answer = yield* fetch(options.url, ranged).pipe(
                Effect.timeoutFail({ duration: idle, onTimeout: () => "stalled: no answer" }),
                Effect.either
              )
              if (answer._tag === "Left") {
                if (answer.left instanceof Fatal) return yield* Effect.fail(answer.left)
                return { _tag: "Retry", reason: answer.left, restart: false } as const
              }
              const response = answer.right
              const status = response.status
              if (status >= 500 || status === 429 || status === 408) {
                yield* response.discard
                return { _tag: "Retry", reason: `HTTP ${status}`, restart: false } as const
              }
              if (status === 416 && resuming && total !== undefined && written === total) {
                yield* response.discard
                return { _tag: "Done" } as const
              }
              if (status !== 200 && status !== 206) {
                yield* response.discard
                return yield* Effect.fail(new Fatal(fail(`HTTP ${status}`)))
              }
              const type = mediaTypeOf(response.header("content-type"))
              if (!contentTypeAccepted(type, options.expect)) {
                yield* response.discard
                return yield* Effect.fail(new Fatal(fail(`unexpected content type ${type} (expected ${options.expect?.join(" or ")})`)))
              }
              contentType = type ?? contentType
              rangesAllowed = rangesAllowed || (response.header("accept-ranges") ?? "").toLowerCase().includes("bytes")
              validator = response.header("etag") ?? response.header("last-modified") ?? validator
              const length = lengthOf(response.header("content-length"))
              if (status === 206) {
                const range = parseContentRange(response.header("content-range"))
                if (!resuming || range === undefined || range.start !== written) {
                  yield* response.discard
                  // Not the part asked for: start again from zero, without a range.
                  rangesAllowed = false
                  return { _tag: "Retry", reason: "unusable partial answer", restart: true } as const
                }
                resumed += 1
                total = range.total ?? (length !== undefined ? written + length : total)
              } else {
                if (written > 0) {
                  // The server ignored the range: the whole file again.
                  yield* Effect.tryPromise({ try: () => handle.truncate(0), catch: (e) => new Fatal(fail(`write error: ${String(e)}`)) })
                  written = 0
                }
                total = length
              }
              if (total !== undefined && total > maxBytes) {
                yield* response.discard
                return yield* Effect.fail(new Fatal(fail(`too large: ${total} bytes announced, the cap is ${maxBytes}`)))
              }
              if (index === 0 || lastReported < 0) yield* reportProgress(true)

              // undici's body goes straight to the file (see `pipeToFile`); another client's body
              // (an in-memory one in tests) through its Effect stream.
              const stopped = response.nodeBody !== undefined
                ? yield* pipeToFile(response.nodeBody, handle.fd, {
                  maxBytes,
                  idleMs: Duration.toMillis(idle),
                  position: () => written,
                  wrote: (bytes) => {
                    written += bytes
                  },
                  due: () => written - lastReported >= step(),
                  report: Effect.suspend(() => reportProgress(false)),
                  fail
                })
                : yield* streamToFile(response.body)
              if (stopped !== undefined) return { _tag: "Retry", reason: stopped, restart: false } as const
              if (total !== undefined && written < total) {
                return { _tag: "Retry", reason: `truncated: ${written} of ${total} bytes`, restart: false } as const
              }
              return { _tag: "Done" } as const
            }))

          const loop = (index: number, reasons: ReadonlyArray<string>): Effect.Effect<void, Fatal> =>
            Effect.flatMap(attempt(index), (end) => {
              if (end._tag === "Done") return Effect.void
              const seen = [...reasons, end.reason]
              if (index + 1 >= attempts) {
                return Effect.fail(new Fatal(fail(`${end.reason} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${seen.join("; ")})`)))
              }
              if (end.restart) {
                return Effect.flatMap(
                  Effect.tryPromise({ try: () => handle.truncate(0), catch: (e) => new Fatal(fail(`write error: ${String(e)}`)) }),
                  () => {
                    written = 0
                    return loop(index + 1, seen)
                  }
                )
              }
              // A short pause before the next attempt: a struggling server gets a moment.
              return Effect.zipRight(Effect.sleep(Duration.millis(Math.min(2000, 100 * 2 ** index))), loop(index + 1, seen))
            })

          yield* Effect.mapError(loop(0, []), (fatal) => fatal.error)
          yield* reportProgress(true)
          return { path: temp, bytes: written, contentType, resumed }
        }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )
  })

// Chunks read ahead of the disk, and chunks written by one call (the Effect stream's path).
const readAhead = 32
const writeBatch = 16

// What `pipeToFile` holds in memory while a write is under way before the body is paused: about
// 16 of undici's 64 KiB chunks, all written by the next call.
const fileBuffer = 1024 * 1024

/**
 * The Node stream behind a response of `@effect/platform-node`'s undici client (its `source` is
 * undici's answer, whose `body` is a `Readable`); undefined for any other response, whose body is
 * then read through its Effect stream.
 */
const nodeBodyOf = (response: HttpClientResponse.HttpClientResponse): Readable | undefined => {
  const source: unknown = "source" in response ? response.source : undefined
  return typeof source === "object" && source !== null && "body" in source && source.body instanceof Readable ? source.body : undefined
}

/** How `pipeToFile` writes the body into the temp file and tells the transfer loop about it. */
interface FileSink {
  readonly maxBytes: number
  /** The longest wait for the next bytes; past it the body is dropped as stalled. */
  readonly idleMs: number
  /** Where the next bytes go: the bytes already in the file. */
  readonly position: () => number
  /** Bytes that reached the file (the call that wrote them returned). */
  readonly wrote: (bytes: number) => void
  /** Whether a progress event is due; the body then waits until `report` has run. */
  readonly due: () => boolean
  readonly report: Effect.Effect<void>
  readonly fail: (message: string) => DownloadFailed
}

// Why the pipe stopped, told apart from the body's own errors (which are "connection lost").
class Overflow extends Error {}
class Stalled extends Error {}
class WriteFailed extends Error {}

/**
 * Pipe a Node body into the file `fd` at `sink.position()`: undici's chunks go through
 * `stream.pipeline` to a `Writable` over plain `fs.write`/`fs.writev` calls, so there is no Effect
 * work per chunk, and chunks that come while a write is under way are written by the next call
 * (at most `fileBuffer` of them wait; past that the body, and so the socket, is paused). Bytes
 * are counted as they reach the file, so after a dropped connection the position to resume from
 * is exact. Only progress events go through Effect: the body waits while one is reported.
 *
 * Succeeds with undefined when the body ended, or with the reason it stopped short (`connection
 * lost: ...`, `stalled: no data`), which the loop may retry on; fails with `Fatal` past the cap or
 * on a write error. Interrupted, it destroys the pipe and returns once no write is under way, so
 * the file may be closed and removed at once.
 */
const pipeToFile = (body: Readable, fd: number, sink: FileSink): Effect.Effect<string | undefined, Fatal> =>
  Effect.suspend(() => {
    // What the pipe tells the loop: a progress event is due, or the pipe ended (with its error).
    type Signal = { readonly _tag: "Progress" } | { readonly _tag: "End"; readonly error: unknown }
    let pending: Signal | undefined
    let waiting: ((signal: Signal) => void) | undefined
    const signal = (next: Signal) => {
      const resume = waiting
      waiting = undefined
      if (resume !== undefined) resume(next)
      else pending = next
    }
    // The write callback held back while a progress event is reported.
    let held: (() => void) | undefined
    let writing = false
    let closed: (() => void) | undefined
    let destroyed = false

    const put = (buffers: ReadonlyArray<Uint8Array>, callback: (error?: Error | null) => void) => {
      let size = 0
      for (const buffer of buffers) size += buffer.length
      if (sink.position() + size > sink.maxBytes) return callback(new Overflow())
      idle?.refresh()
      writing = true
      writeAll(fd, buffers, sink.position(), sink.wrote, (error) => {
        writing = false
        if (destroyed) {
          // Destroyed during the write: the stream waits for this call to return before it closes.
          const close = closed
          closed = undefined
          return close?.()
        }
        if (error !== null) return callback(new WriteFailed(String(error)))
        if (!sink.due()) return callback()
        held = () => callback()
        signal({ _tag: "Progress" })
      })
    }
    const file = new Writable({
      highWaterMark: fileBuffer,
      write(chunk, _encoding, callback) {
        put([chunk], callback)
      },
      writev(chunks, callback) {
        const buffers: Array<Uint8Array> = []
        for (const { chunk } of chunks) buffers.push(chunk)
        put(buffers, callback)
      },
      destroy(error, callback) {
        destroyed = true
        held = undefined
        if (writing) closed = () => callback(error)
        else callback(error)
      }
    })
    // A timer of more than about 24.8 days would fire at once: such a wait is no limit at all. The
    // body held back for a progress listener is not stalled: it waits on us.
    const stall = () => (held !== undefined ? idle?.refresh() : body.destroy(new Stalled()))
    // Unref'd: the transfer's socket keeps the process alive while it runs, the timer never should.
    const idle = sink.idleMs > 0 && sink.idleMs <= 2 ** 31 - 1 ? setTimeout(stall, sink.idleMs).unref() : undefined
    let ended = false
    pipeline(body, file, (error) => {
      ended = true
      if (idle !== undefined) clearTimeout(idle)
      // The end is told once the file stream is closed, that is once no write is under way.
      if (file.closed) signal({ _tag: "End", error })
      else file.once("close", () => signal({ _tag: "End", error }))
    })

    const next = Effect.async<Signal>((resume) => {
      const ready = pending
      pending = undefined
      if (ready !== undefined) return resume(Effect.succeed(ready))
      waiting = (value) => resume(Effect.succeed(value))
      return Effect.sync(() => {
        waiting = undefined
      })
    })
    const release = Effect.sync(() => {
      const callback = held
      held = undefined
      // Re-armed only while the body flows: refreshing a cleared timer starts it again.
      if (!ended) idle?.refresh()
      callback?.()
    })
    const loop: Effect.Effect<string | undefined, Fatal> = Effect.flatMap(next, (told) => {
      if (told._tag === "Progress") return Effect.zipRight(Effect.zipRight(sink.report, release), loop)
      const error = told.error
      if (error === undefined || error === null) return Effect.succeed(undefined)
      if (error instanceof Overflow) return Effect.fail(new Fatal(sink.fail(`too large: more than ${sink.maxBytes} bytes received`)))
      if (error instanceof WriteFailed) return Effect.fail(new Fatal(sink.fail(`write error: ${error.message}`)))
      if (error instanceof Stalled) return Effect.succeed("stalled: no data")
      return Effect.succeed(`connection lost: ${describe(error)}`)
    })
    // Ended by the pipe, the file stream is closed already; interrupted (or a listener died), the
    // pipe is torn down here and the file released only once no write is under way.
    return Effect.onExit(Effect.suspend(() => loop), () =>
      Effect.async<void>((resume) => {
        if (file.closed) return resume(Effect.void)
        if (idle !== undefined) clearTimeout(idle)
        body.destroy()
        file.destroy()
        if (file.closed) resume(Effect.void)
        else file.once("close", () => resume(Effect.void))
      }))
  })

/**
 * Write `buffers` at `position` of `fd`, all of them: a short write (which a regular file seldom
 * gives) goes on with the rest. `wrote` is told each call's bytes as it returns.
 */
const writeAll = (
  fd: number,
  buffers: ReadonlyArray<Uint8Array>,
  position: number,
  wrote: (bytes: number) => void,
  done: (error: NodeJS.ErrnoException | null) => void
): void => {
  const after = (error: NodeJS.ErrnoException | null, bytes: number) => {
    if (error !== null) return done(error)
    wrote(bytes)
    const rest = dropBytes(buffers, bytes)
    if (rest.length === 0) done(null)
    else writeAll(fd, rest, position + bytes, wrote, done)
  }
  const only = buffers.length === 1 ? buffers[0] : undefined
  if (only !== undefined) fsSync.write(fd, only, 0, only.length, position, after)
  else fsSync.writev(fd, buffers, position, after)
}

// `buffers` without their first `bytes` bytes.
const dropBytes = (buffers: ReadonlyArray<Uint8Array>, bytes: number): ReadonlyArray<Uint8Array> => {
  let left = bytes
  let index = 0
  while (index < buffers.length && left >= buffers[index]!.length) left -= buffers[index++]!.length
  if (index === buffers.length) return []
  const rest = buffers.slice(index)
  if (left > 0) rest[0] = rest[0]!.subarray(left)
  return rest
}

const lengthOf = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

// One answer as the transfer loop reads it. Failures are reasons (strings) the loop may retry on.
interface Answer {
  readonly status: number
  readonly header: (name: string) => string | undefined
  /** The body, chunk by chunk; fails with "connection lost: ..." when the transfer breaks. */
  readonly body: Stream.Stream<Uint8Array, string>
  /** The same body as a Node stream, when the client has one (undici's): read this or `body`, not both. */
  readonly nodeBody: Readable | undefined
  /** Drop the body unread: the request is aborted (an error page may be as large as it likes). */
  readonly discard: Effect.Effect<void>
}

/**
 * The answer for `url` after its redirects, with `ranged` (Range, If-Range) on every hop and the
 * caller's headers where they may go. Fails with a reason the loop may retry on, or `Fatal` when
 * a redirect is refused. The answer lives as long as the scope (the attempt).
 */
type Fetch = (url: string, ranged: Readonly<Record<string, string>>) => Effect.Effect<Answer, string | Fatal, Scope.Scope>

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

// The transport: an HttpClient's answers as the transfer loop reads them, redirects followed here.
const fetchWith =
  (
    client: HttpClient.HttpClient,
    rules: {
      readonly allowHttp: boolean
      readonly allowPrivate: boolean
      readonly given: string
      readonly headers: Readonly<Record<string, string>> | undefined
      readonly fail: (message: string) => DownloadFailed
    }
  ): Fetch => {
  // Requests tied to a scope: closing it aborts whatever of the answer was not read. The client's
  // own span is off: it would record the full URL, whose query may hold a signature
  // (`automarket.job.download` stands for the transfer).
  const scoped = HttpClient.withScope(HttpClient.withTracerDisabledWhen(client, () => true))
  return (url, ranged) => {
    // One request, in a scope of its own (inside the attempt's) so that a redirect's answer is
    // aborted as soon as it has been read, not when the attempt ends.
    const hop = (at: string) =>
      Effect.gen(function* () {
        const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const request = HttpClientRequest.setHeaders(HttpClientRequest.get(at), { ...headersFor(at, rules.given, rules.headers), ...ranged })
        const init = Option.getOrElse(yield* Effect.serviceOption(FetchHttpClient.RequestInit), () => ({}))
        const response = yield* scoped.execute(request).pipe(
          // A fetch-based client would otherwise follow redirects itself, past the checks below.
          Effect.provideService(FetchHttpClient.RequestInit, { ...init, redirect: "manual" }),
          Scope.extend(scope),
          Effect.mapError((error) => `connection failed: ${describe(error.cause)}`),
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        return { response, release: Scope.close(scope, Exit.void) }
      })
    const follow = (at: string, hops: number): Effect.Effect<Answer, string | Fatal, Scope.Scope> =>
      Effect.flatMap(hop(at), ({ release, response }) => {
        const location = response.headers["location"]
        if (redirectStatuses.has(response.status) && location !== undefined) {
          return Effect.zipRight(release, redirect(at, location, hops))
        }
        return Effect.succeed<Answer>({
          status: response.status,
          header: (name) => response.headers[name],
          body: Stream.mapError(response.stream, (error) => `connection lost: ${describe(error.cause)}`),
          nodeBody: nodeBodyOf(response),
          discard: release
        })
      })
    const redirect = (from: string, location: string, hops: number): Effect.Effect<Answer, string | Fatal, Scope.Scope> => {
      if (hops >= maxRedirects) return Effect.fail(new Fatal(rules.fail(`refused: more than ${maxRedirects} redirects`)))
      let next: string
      try {
        next = new URL(location, from).href
      } catch {
        return Effect.fail(new Fatal(rules.fail("refused: a redirect to an invalid URL")))
      }
      const allowed = checkRedirect(next, rules.allowHttp, rules.allowPrivate)
      if (!allowed.ok) return Effect.fail(new Fatal(rules.fail(`refused: redirect to ${displayUrl(next)}: ${allowed.reason}`)))
      return follow(next, hops + 1)
    }
    return follow(url, 0)
  }
}

const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = "code" in cause ? cause.code : undefined
    const inner = cause.cause instanceof Error ? ` (${describe(cause.cause)})` : ""
    return `${typeof code === "string" ? `${code} ` : ""}${cause.message}${inner}`
  }
  return cause === undefined ? "unknown" : String(cause)
}
