/**
 * The upload receiver of the local services: reads a `multipart/form-data` body part by part as
 * it arrives, hands each text field to the service, and stores each file at a path the service
 * chooses, or reads past it. A client's file name is never a path: the service names the file,
 * and the client's name is kept only for messages and headers (reduced by `safeBaseName`).
 *
 * The body is bounded: the parser stops at `maxBytes`. When the receiver stops early (the
 * service refused a part, the body went over the limit, the parser could not read it) the rest
 * of the body is read and dropped, so that the client gets the answer instead of a reset
 * connection. What goes wrong is answered in the service's words (`UploadRefusals`).
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import * as NodeMultipart from "@effect/platform-node/NodeMultipart"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Readable, Transform } from "node:stream"
import { messageOf } from "./Errors.js"

/** A file part of an upload. */
export interface Upload {
  /** The form field it came in. */
  readonly key: string
  /** The client's file name: for messages and headers only, never a path. */
  readonly name: string
  readonly contentType: string
  /** Its size in bytes. */
  readonly size: number
}

/** A file part stored at the path the service chose. */
export interface Stored extends Upload {
  readonly path: string
}

/** What a body carried: the files stored, and the files read past. */
export interface Received {
  readonly stored: ReadonlyArray<Stored>
  readonly skipped: ReadonlyArray<Upload>
}

/** What a service accepts in an upload. */
export interface UploadPolicy<E> {
  /** The largest body, in bytes: the parser stops there. */
  readonly maxBytes: number
  /** What the body should be, named in the refusal of one that is not multipart at all. */
  readonly expected?: string
  /** Each text field, in order; fail to refuse the request. Default: fields are ignored. */
  readonly field?: (field: Multipart.Field) => Effect.Effect<void, E>
  /** Where each file goes, in order: a path of the service's choosing, or undefined to read past it; fail to refuse the request. */
  readonly file: (file: Multipart.File) => Effect.Effect<string | undefined, E>
}

/** How a service answers what goes wrong while receiving. */
export interface UploadRefusals<W> {
  /** The parser failed: a malformed body, or one over a limit (`overLimit`). */
  readonly malformed: (error: Multipart.MultipartError) => W
  /** A file could not be written where the service wanted it. */
  readonly notStored: (reason: string) => W
  /** A file part's name has a control character in it (a NUL, a line break): `reason` says which and where. */
  readonly badFileName: (reason: string) => W
}

// ---------------------------------------------------------------------------------------------
// file names beyond ASCII
// ---------------------------------------------------------------------------------------------

const crlfCrlf = Buffer.from("\r\n\r\n")

// The `filename="..."` parameter of a Content-Disposition line (read byte for byte as latin1).
const quotedFileName = /;[ \t]*filename[ \t]*=[ \t]*"((?:[^"\\]|\\[\s\S])*)"/i

// Percent-encoding that leaves only characters of an HTTP token (RFC 7230), as `filename*` needs.
const percentEncode = (text: string): string =>
  encodeURIComponent(text).replace(/['()*!]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * A part's header block with a `filename="..."` that is not plain printable ASCII rewritten as
 * `filename*=UTF-8''<percent-encoded>` (RFC 7578 allows both; browsers send the first, raw UTF-8).
 * The multipart parser reads a quoted parameter only when it is Latin-1 and without control
 * characters: anything else made it drop the part's whole Content-Disposition, so a file named
 * `人.wav` arrived as a nameless text field (a misleading "field required"), and a NUL vanished
 * with its part. Bytes that are not UTF-8 are read as Latin-1. Other headers are left as sent.
 */
export const reencodeFileName = (block: Uint8Array): Uint8Array => {
  const text = Buffer.from(block).toString("latin1")
  const lines = text.split("\r\n")
  let changed = false
  const rewritten = lines.map((line) => {
    if (!/^content-disposition[ \t]*:/i.test(line)) return line
    const match = quotedFileName.exec(line)
    if (match === null) return line
    const raw = Buffer.from(match[1]!.replace(/\\([\s\S])/g, "$1"), "latin1")
    if (raw.every((byte) => byte >= 0x20 && byte < 0x7f)) return line
    changed = true
    // A client that sent both keeps its own `filename*`, which the parser prefers.
    if (/;[ \t]*filename\*[ \t]*=/i.test(line)) return line.replace(match[0], "")
    let name: string
    try {
      name = strictUtf8.decode(raw)
    } catch {
      name = raw.toString("latin1")
    }
    return line.replace(match[0], `; filename*=UTF-8''${percentEncode(name)}`)
  })
  return changed ? Buffer.from(rewritten.join("\r\n"), "latin1") : block
}

/** The boundary a multipart Content-Type names, or undefined. */
export const boundaryOf = (contentType: string): string | undefined => {
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType)
  return match === null ? undefined : (match[1] ?? match[2])
}

/**
 * The re-encoding of a multipart body's part headers as it streams: `push` each chunk, then `end`;
 * what they return is the body with each part's header block passed through `reencodeFileName`
 * (bodies pass untouched). It follows the body's delimiters, holding back only what could be
 * the start of one, or a header block not yet complete: a part's bytes are never buffered whole.
 */
export class FileNameReencoder {
  private readonly delimiter: Buffer
  private pending: Buffer = Buffer.alloc(0)
  private mode: "body" | "delimiter" | "headers" | "epilogue" = "body"
  // Headers longer than this are the parser's to refuse: passed on as they are.
  private static readonly maxHeaderBlock = 64 * 1024

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`--${boundary}`)
  }

  /** The bytes that can go on after `chunk`. */
  push(chunk: Uint8Array): Array<Uint8Array> {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk])
    const out: Array<Uint8Array> = []
    while (this.step(out)) {
      // each step consumed a delimiter or a header block: go on with the rest
    }
    return out
  }

  /** What was held back, at the end of the body. */
  end(): Uint8Array | undefined {
    const rest = this.pending
    this.pending = Buffer.alloc(0)
    return rest.length === 0 ? undefined : rest
  }

  private step(out: Array<Uint8Array>): boolean {
    const pending = this.pending
    switch (this.mode) {
      case "epilogue": {
        if (pending.length > 0) out.push(pending)
        this.pending = Buffer.alloc(0)
        return false
      }
      case "body": {
        const at = pending.indexOf(this.delimiter)
        if (at === -1) {
          const keep = Math.min(pending.length, this.delimiter.length - 1)
          if (pending.length > keep) out.push(pending.subarray(0, pending.length - keep))
          this.pending = pending.subarray(pending.length - keep)
          return false
        }
        out.push(pending.subarray(0, at + this.delimiter.length))
        this.pending = pending.subarray(at + this.delimiter.length)
        this.mode = "delimiter"
        return true
      }
      case "delimiter": {
        if (pending.length < 2) return false
        this.mode = pending[0] === 0x2d && pending[1] === 0x2d ? "epilogue" : "headers"
        return true
      }
      case "headers": {
        const end = pending.indexOf(crlfCrlf)
        if (end === -1) {
          if (pending.length <= FileNameReencoder.maxHeaderBlock) return false
          this.mode = "body"
          return true
        }
        out.push(reencodeFileName(pending.subarray(0, end + crlfCrlf.length)))
        this.pending = pending.subarray(end + crlfCrlf.length)
        this.mode = "body"
        return true
      }
    }
  }
}

/** A body stream through a `FileNameReencoder`. */
export const reencodeFileNames = <E, R>(body: Stream.Stream<Uint8Array, E, R>, boundary: string): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    const reencoder = new FileNameReencoder(boundary)
    return body.pipe(
      Stream.mapConcat((chunk) => reencoder.push(chunk)),
      Stream.concat(Stream.suspend(() => Stream.fromIterable([reencoder.end()].filter(Predicate.isNotUndefined))))
    )
  })

// A Node stream of a body through a `FileNameReencoder`.
const reencodingTransform = (boundary: string): Transform => {
  const reencoder = new FileNameReencoder(boundary)
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (const piece of reencoder.push(chunk)) this.push(piece)
      done()
    },
    flush(done) {
      const rest = reencoder.end()
      if (rest !== undefined) this.push(rest)
      done()
    }
  })
}

const controlCharacter = /[\u0000-\u001f\u007f]/

/** Why a client's file name cannot be taken (a control character, named), or undefined. */
export const fileNameProblem = (name: string): string | undefined => {
  const match = controlCharacter.exec(name)
  if (match === null) return undefined
  const code = match[0].charCodeAt(0)
  const what = code === 0 ? "a NUL" : `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`
  return `the file name ${JSON.stringify(name.slice(0, 100))} has ${what} at position ${match.index}`
}

// The parser reports some of its limits as an "InternalError" whose cause names the limit.
const reachedLimit = (cause: unknown): string | undefined =>
  Predicate.hasProperty(cause, "_tag") && cause._tag === "ReachedLimit" && Predicate.hasProperty(cause, "limit") && typeof cause.limit === "string"
    ? cause.limit
    : undefined

/** Whether the parser stopped because the body (or a file in it) went over the limit. */
export const overLimit = (error: Multipart.MultipartError): boolean => {
  const limit = reachedLimit(error.cause)
  return limit === "MaxTotalSize" || limit === "MaxPartSize" || error.reason === "BodyTooLarge" || error.reason === "FileTooLarge"
}

/**
 * Stop reading a request's body and let the rest of it drain, unparsed, so that the client can
 * read the answer it is given before it has sent everything.
 */
export const dropBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<void> =>
  Effect.sync(() => {
    const incoming = nodeSource(request)
    if (incoming === undefined) return
    incoming.unpipe()
    incoming.resume()
  })

// The Node stream of a request's body; undefined for a request that did not come over a socket (tests).
const nodeSource = (request: HttpServerRequest.HttpServerRequest): Readable | undefined => {
  const source: unknown = request.source
  return source instanceof Readable ? source : undefined
}

/**
 * Read a request's whole body, at most `maxBytes` of it: the bytes, or undefined when the body
 * is larger. A larger body is not kept and not cut off: the rest of it is read and dropped (as
 * `dropBody`), so that the client, still sending, can read the answer it is given (the HTTP
 * layer's own readers destroy the connection at their limit, and the client sees a reset).
 */
export const readBounded = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<Uint8Array | undefined, BodyReadFailed> => {
  const incoming = nodeSource(request)
  if (incoming === undefined) {
    return request.arrayBuffer.pipe(
      Effect.map((buffer) => (buffer.byteLength > maxBytes ? undefined : new Uint8Array(buffer))),
      Effect.mapError((error) => new BodyReadFailed({ message: error.message }))
    )
  }
  return Effect.async<Uint8Array | undefined, BodyReadFailed>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const detach = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
      incoming.off("aborted", onAborted)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
      detach()
      chunks.length = 0
      incoming.resume()
      resume(Effect.succeed(undefined))
    }
    const onEnd = () => {
      detach()
      resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks))))
    }
    const onError = (error: Error) => {
      detach()
      resume(Effect.fail(new BodyReadFailed({ message: error.message })))
    }
    const onAborted = () => onError(new Error("the client went away"))
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onError)
    incoming.once("aborted", onAborted)
    return Effect.sync(() => {
      detach()
      incoming.resume()
    })
  })
}

/** A request body that could not be read (the client went away, the connection broke). */
export class BodyReadFailed extends Schema.TaggedError<BodyReadFailed>()("BodyReadFailed", { message: Schema.String }) {}

// The parts of a multipart body whose file names were re-encoded, parsed as the platform does
// (`request.multipartStream` is the same parser over the request itself). A refusal mid-body
// unpipes the request from the re-encoder (`dropBody`) and drains the rest.
const reencodedParts = (request: HttpServerRequest.HttpServerRequest, boundary: string): Stream.Stream<Multipart.Part, Multipart.MultipartError> => {
  const incoming = nodeSource(request)
  if (incoming === undefined) return request.multipartStream
  return Stream.suspend(() => NodeMultipart.stream(incoming.pipe(reencodingTransform(boundary)), request.headers))
}

/**
 * Receive the multipart body of `request` under `policy`; refusals in the words of `refusals`.
 * A file whose name has a control character in it (a NUL) is refused (`badFileName`), not
 * dropped; names beyond ASCII arrive as sent (see `reencodeFileName`).
 */
export const receive = <E, W>(
  request: HttpServerRequest.HttpServerRequest,
  policy: UploadPolicy<E>,
  refusals: UploadRefusals<W>
): Effect.Effect<Received, E | W, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const stored: Array<Stored> = []
    const skipped: Array<Upload> = []

    const notStored = (error: { readonly message: string }) => Effect.fail(refusals.notStored(error.message))
    const malformed = (error: Multipart.MultipartError) => Effect.fail(refusals.malformed(error))

    const onFile = (part: Multipart.File): Effect.Effect<void, E | W> => {
      const problem = fileNameProblem(part.name)
      if (problem !== undefined) return Effect.fail(refusals.badFileName(problem))
      return Effect.flatMap(policy.file(part), (path) => {
        let size = 0
        const counted = Stream.map(part.content, (chunk) => {
          size += chunk.length
          return chunk
        })
        const upload = () => ({ key: part.key, name: part.name, contentType: part.contentType, size })
        return path === undefined
          ? Stream.runDrain(counted).pipe(
              Effect.catchTag("MultipartError", malformed),
              Effect.map(() => void skipped.push(upload()))
            )
          : Stream.run(counted, fs.sink(path)).pipe(
              Effect.catchTags({ MultipartError: malformed, SystemError: notStored, BadArgument: notStored }),
              Effect.map(() => void stored.push({ ...upload(), path }))
            )
      })
    }

    // The parser throws (a defect) on a body that is not multipart at all. File names beyond
    // ASCII are re-encoded on the way in (`reencodeFileNames`): the parser would drop them.
    const boundary = boundaryOf(request.headers["content-type"] ?? "")
    const source = boundary === undefined ? request.multipartStream : reencodedParts(request, boundary)
    const parts = source.pipe(
      Stream.catchAllCause((cause) =>
        Option.match(Cause.dieOption(cause), {
          onNone: () => Stream.failCause(cause),
          onSome: (defect) =>
            Stream.fail(
              new Multipart.MultipartError({
                reason: "Parse",
                cause: `expected ${policy.expected ?? "a multipart/form-data body"} (${messageOf(defect)})`
              })
            )
        })
      ),
      Stream.mapError(refusals.malformed)
    )

    yield* Stream.runForEach(parts, (part): Effect.Effect<void, E | W> =>
      Multipart.isFile(part) ? onFile(part) : policy.field === undefined ? Effect.void : policy.field(part)
    ).pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(policy.maxBytes)),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : dropBody(request)))
    )
    return { stored, skipped }
  })

/**
 * A client-supplied file name reduced to something safe to echo in a header: the last path
 * segment, without its extension, only letters, digits, `.`, `_` and `-`, at most 64 characters.
 */
export const safeBaseName = (name: string, fallback = "audio"): string => {
  const last = name.split(/[\\/]/).pop() ?? ""
  const stem = last.replace(/\.[^.]*$/, "")
  const cleaned = stem.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._]+/, "").slice(0, 64)
  return cleaned === "" ? fallback : cleaned
}

/**
 * Whether a client's file name is a plain name: no directory separators (so no `../`), not `.`
 * or `..`, no control characters. Names are never used as paths; this refuses clients that try.
 */
export const isSafeFileName = (name: string): boolean =>
  !/[/\\]/.test(name) && name !== "." && name !== ".." && !/[\u0000-\u001f\u007f]/.test(name) && name.length <= 255

/** The extension of a client's file name when it is plain (letters and digits), lower-cased, with the dot. */
export const safeExtension = (name: string): string => {
  const match = /\.([A-Za-z0-9]{1,8})$/.exec(name)
  return match === null ? "" : `.${match[1]!.toLowerCase()}`
}
