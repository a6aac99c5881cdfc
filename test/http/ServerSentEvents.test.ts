import { describe, expect, it } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Http from "../../src/http/Http.js"
import { dataPayloads, foldLine, sseEvents } from "../../src/http/ServerSentEvents.js"
import { loopback } from "../support/LoopbackServer.js"

const payloadsFrom = (chunks: ReadonlyArray<string>, options: { readonly stallAfter?: boolean; readonly idle?: Duration.DurationInput } = {}) =>
  Effect.gen(function* () {
    const server = yield* loopback((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      for (const chunk of chunks) res.write(chunk)
      if (options.stallAfter !== true) res.end()
    })
    const http = yield* Http.make({ provider: "sse", baseUrl: server.url })
    const response = yield* http.send({ method: "POST", path: "/stream" })
    return yield* Stream.runCollect(dataPayloads("sse", response, options.idle ?? "60 seconds")).pipe(Effect.map(Chunk.toArray), Effect.either)
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

describe("ServerSentEvents", () => {
  it("folds data lines into events, joins multi-line data, ignores comments", () => {
    const [afterData] = foldLine({ event: undefined, data: [] }, "data: {\"a\":1}")
    const [afterSecond] = foldLine(afterData, "data: more")
    const [afterComment, none] = foldLine(afterSecond, ": OPENROUTER PROCESSING")
    expect(Option.isNone(none)).toBe(true)
    const [, event] = foldLine(afterComment, "")
    expect(Option.getOrThrow(event)).toEqual({ event: undefined, data: "{\"a\":1}\nmore" })
  })

  it.effect("reads events split across chunks at arbitrary places", () =>
    Effect.gen(function* () {
      const lines = Stream.fromIterable(["data: one", "", "event: x", "data: two", "", "data: dangling"])
      const events = yield* Stream.runCollect(sseEvents(lines))
      expect(Chunk.toArray(events)).toEqual([
        { event: undefined, data: "one" },
        { event: "x", data: "two" }
      ])
    })
  )

  it.scoped("delivers the payloads up to [DONE], over a real connection, chunked mid-line", () =>
    Effect.gen(function* () {
      const result = yield* payloadsFrom(["data: {\"n\":1}\n\nda", "ta: {\"n\":2}\n", "\n: keep-alive\n\ndata: [DONE]\n\n"])
      expect(result).toEqual(Either.right(["{\"n\":1}", "{\"n\":2}"]))
    })
  )

  it.scoped("a stream cut before [DONE] fails with NetworkError", () =>
    Effect.gen(function* () {
      const result = yield* payloadsFrom(["data: {\"n\":1}\n\n"])
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") expect(result.left._tag).toBe("NetworkError")
    })
  )

  // Live clock: the idle timeout is a real 300 ms wait on a real socket.
  it.scopedLive("a stream that goes silent fails with Timeout after the idle time", () =>
    Effect.gen(function* () {
      const result = yield* payloadsFrom(["data: {\"n\":1}\n\n"], { stallAfter: true, idle: "300 millis" })
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") {
        expect(result.left._tag).toBe("Timeout")
        expect(result.left.message).toContain("went silent")
      }
    })
  )
})
