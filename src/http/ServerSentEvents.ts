/**
 * Server-sent events as the OpenAI-style chat APIs (Together, OpenRouter) stream them, parsed
 * incrementally from a response body: `data:` lines (joined when an event has several), blank
 * lines ending an event, `:` comment lines ignored (OpenRouter's `: OPENROUTER PROCESSING`
 * keep-alives), and the `data: [DONE]` sentinel ending the stream.
 *
 * A stream that ends (or is cut) before `[DONE]` fails with `NetworkError`: the connection
 * broke mid-answer, which says nothing against the request (so it is a failover tag), and the
 * deltas already emitted are not repeated (the stream is never retried once it has started).
 * A `data:` payload that is not JSON, or not a chunk, fails with `MalformedResponse`. A stream
 * that goes quiet (no bytes for the idle timeout, default 60 s) fails with `Timeout`: the
 * request's own timeout only covers the wait for the headers.
 *
 * @module
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { MalformedResponse, type MediaError, NetworkError, Timeout } from "../domain/Errors.js"
import * as Http from "./Http.js"

/** One server-sent event. */
export interface SseEvent {
  /** The `event:` field, when given. */
  readonly event: string | undefined
  /** The `data:` lines, joined with `\n`. */
  readonly data: string
}

interface Pending {
  readonly event: string | undefined
  readonly data: ReadonlyArray<string>
}

const empty: Pending = { event: undefined, data: [] }

/**
 * One line of an event stream, folded into the event being read: the event it completes (at a
 * blank line) when there is one. Pure; `sseEvents` runs it over a body.
 */
export const foldLine = (pending: Pending, line: string): readonly [Pending, Option.Option<SseEvent>] => {
  if (line === "") {
    return pending.data.length === 0 && pending.event === undefined
      ? [empty, Option.none()]
      : [empty, Option.some({ event: pending.event, data: pending.data.join("\n") })]
  }
  if (line.startsWith(":")) return [pending, Option.none()]
  const colon = line.indexOf(":")
  const field = colon === -1 ? line : line.slice(0, colon)
  const raw = colon === -1 ? "" : line.slice(colon + 1)
  const value = raw.startsWith(" ") ? raw.slice(1) : raw
  if (field === "data") return [{ ...pending, data: [...pending.data, value] }, Option.none()]
  if (field === "event") return [{ ...pending, event: value }, Option.none()]
  return [pending, Option.none()]
}

/** The events of a stream of text lines (an event not ended by a blank line is dropped, as the SSE spec says). */
export const sseEvents = <E>(lines: Stream.Stream<string, E>): Stream.Stream<SseEvent, E> =>
  lines.pipe(
    Stream.mapAccum(empty, (pending, line) => foldLine(pending, line)),
    Stream.filterMap((event) => event)
  )

const isDone = (event: SseEvent): boolean => event.data.trim() === "[DONE]"

/** How long a stream may stay silent before it fails with `Timeout`, unless told otherwise. */
export const defaultIdleTimeout: Duration.Duration = Duration.seconds(60)

/**
 * The `data:` payloads of a response body up to `[DONE]` (excluded), read as they arrive.
 * Fails with `NetworkError` when the body breaks or ends before `[DONE]`, and with `Timeout`
 * when no bytes arrive for `idleTimeout` (default 60 s).
 */
export const dataPayloads = (
  provider: string,
  response: HttpClientResponse.HttpClientResponse,
  idleTimeout: Duration.DurationInput = defaultIdleTimeout
): Stream.Stream<string, MediaError> =>
  Stream.unwrap(
    Effect.map(Ref.make(false), (done) =>
      sseEvents(
        response.stream.pipe(
          Stream.mapError((error): MediaError => Http.errorFromTransport(provider, error)),
          Stream.timeoutFail(
            () =>
              new Timeout({
                provider,
                detail: `the event stream went silent for ${Duration.format(Duration.decode(idleTimeout))}`,
                after: Duration.decode(idleTimeout)
              }),
            idleTimeout
          ),
          Stream.decodeText(),
          Stream.splitLines
        )
      ).pipe(
        Stream.filter((event) => event.data !== ""),
        Stream.takeUntil(isDone),
        Stream.tap((event) => (isDone(event) ? Ref.set(done, true) : Effect.void)),
        Stream.filter((event) => !isDone(event)),
        Stream.map((event) => event.data),
        Stream.concat(
          Stream.unwrap(
            Effect.map(Ref.get(done), (finished) =>
              finished
                ? Stream.empty
                : Stream.fail(new NetworkError({ provider, detail: "the event stream ended before [DONE] (connection cut mid-answer)" }))
            )
          )
        )
      )
    )
  )

/**
 * Decode each payload as JSON of `schema`; a payload that is neither fails the stream with
 * `MalformedResponse` (its text is not quoted: it may be anything; the shape error, which quotes
 * the values found, goes through `scrub`: the provider's secrets out).
 */
export const decodePayloads =
  <A, I>(provider: string, schema: Schema.Schema<A, I>, scrub: (text: string) => string = (text) => text) =>
  (payloads: Stream.Stream<string, MediaError>): Stream.Stream<A, MediaError> => {
    const decode = Schema.decodeUnknown(schema)
    return Stream.mapEffect(payloads, (payload) => {
      let json: unknown
      try {
        json = JSON.parse(payload)
      } catch {
        return Effect.fail(new MalformedResponse({ provider, detail: "a streamed event is not JSON" }))
      }
      return Effect.mapError(
        decode(json),
        (error) =>
          new MalformedResponse({
            provider,
            detail: `a streamed event does not have the expected shape: ${scrub(ParseResult.TreeFormatter.formatErrorSync(error)).slice(0, 300)}`
          })
      )
    })
  }
