import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { inspect } from "node:util"
import * as Stream from "effect/Stream"
import { text, Text } from "../../src/domain/Asset.js"
import * as Http from "../../src/http/Http.js"
import * as Chat from "../../src/providers/openai-compatible/Chat.js"
import { describeFailure } from "../../src/cli/Failure.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import * as Provider from "../../src/provider/Provider.js"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import * as TogetherConfig from "../../src/providers/together/TogetherConfig.js"
import { json, loopback } from "../support/LoopbackServer.js"

const KEY_1 = "sk-live-SECRETKEY-1234567890"
const KEY_2 = "sk-live-OTHERKEY-0987654321"

/** A remote provider wired like the real ones: config from env, keys rotated, errors mapped by the runtime. */
const echoingProvider = (baseUrl: string) =>
  Effect.gen(function* () {
    const config = yield* ProviderConfig.fromEnv(TogetherConfig.settings)
    yield* Effect.logDebug("configured", config)
    const { http } = yield* ProviderConfig.makeHttp(TogetherConfig.settings, { ...config, baseUrl })
    return yield* Provider.make({
      id: "together",
      name: "Together",
      type: "remote",
      configured: config.apiKeys.length > 0,
      discover: Effect.succeed([]),
      defaultModels: { "text-to-text": "m" },
      transforms: {
        "text-to-text": (model, input) =>
          http
            .json({ method: "POST", path: "/chat/completions", json: { model, prompt: input.text }, schema: Schema.Struct({ text: Schema.String }) })
            .pipe(Effect.map((answer) => new Text({ text: answer.text })))
      }
    })
  }).pipe(
    Effect.withConfigProvider(
      ConfigProvider.fromMap(new Map([["TOGETHER_API_KEY", `${KEY_1},${KEY_2}`], ["TOGETHER_RETRIES", "2"], ["TOGETHER_TIMEOUT", "200"]]))
    )
  )

describe("secrets", () => {
  it.scopedLive("no key appears in any log line, span, error or CLI message of a failing run", () =>
    Effect.gen(function* () {
      // The worst server: it echoes the credentials it got in every error, in the body and a header.
      const server = yield* loopback((req, res, _, i) => {
        const auth = req.headers.authorization ?? ""
        if (auth.includes(KEY_1)) return json(res, 401, { error: { message: `Invalid API key provided: ${auth}` } })
        if (i % 3 === 0) return json(res, 503, { error: `overloaded, your key ${auth} is fine` }, { "x-debug-key": auth })
        if (i % 3 === 1) return req.socket.destroy()
        setTimeout(() => json(res, 200, { text: "late" }), 1_000)
      })

      const logs: Array<string> = []
      const spans: Array<string> = []
      const logger = Logger.make(({ annotations, cause, message }) => {
        logs.push(inspect(message, { depth: 10 }), Cause.pretty(cause), inspect(annotations, { depth: 10 }))
      })
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          spans.push(name, inspect(options?.attributes ?? {}, { depth: 10 }))
          return new (class implements Tracer.Span {
            readonly _tag = "Span"
            readonly spanId = String(spans.length)
            readonly traceId = "t"
            readonly sampled = true
            readonly name = name
            readonly parent = parent
            readonly context = context
            readonly links = [...links]
            readonly kind = kind
            status: Tracer.SpanStatus = { _tag: "Started", startTime }
            readonly attributes = new Map<string, unknown>()
            attribute(key: string, value: unknown) {
              spans.push(`${key}=${inspect(value, { depth: 10 })}`)
            }
            event(eventName: string, _: bigint, attributes?: Record<string, unknown>) {
              spans.push(eventName, inspect(attributes ?? {}, { depth: 10 }))
            }
            addLinks() {}
            end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
              this.status = { _tag: "Ended", startTime, endTime, exit }
              spans.push(inspect(exit, { depth: 10 }))
            }
          })()
        },
        context: (f) => f()
      })

      const provider = yield* echoingProvider(server.url)
      const registry = yield* ProviderRegistry.make([provider])
      const exit = yield* registry.generateDetailed("text-to-text", text("hello")).pipe(
        Effect.withSpan("app.generate", { attributes: { prompt: "hello" } }),
        Effect.tapErrorCause((cause) => Effect.logError("generation failed", cause)),
        Effect.exit,
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.withTracer(tracer)
      )

      expect(Exit.isFailure(exit)).toBe(true)
      // The server really did get (and echo) both keys, so a leak would show.
      expect(server.seen.some((s) => s.headers.authorization === `Bearer ${KEY_1}`)).toBe(true)
      expect(server.seen.some((s) => s.headers.authorization === `Bearer ${KEY_2}`)).toBe(true)

      expect(spans).toContain("app.generate")
      expect(logs.join("\n")).toMatch(/generation failed/)
      const rendered: Array<string> = [...logs, ...spans]
      if (Exit.isFailure(exit)) {
        const cause = exit.cause
        rendered.push(Cause.pretty(cause), inspect(cause, { depth: 10 }), describeFailure(cause) ?? "")
        for (const error of Cause.failures(cause)) {
          rendered.push(String(error), error.message, JSON.stringify(error), inspect(error, { depth: 10 }))
        }
      }
      rendered.push(inspect(yield* provider.getHealth, { depth: 10 }))
      const all = rendered.join("\n")
      expect(all.length).toBeGreaterThan(200)
      expect(all).toMatch(/\[redacted\]|<redacted>/)
      expect(all).not.toContain(KEY_1)
      expect(all).not.toContain(KEY_2)
      expect(all).not.toContain("SECRETKEY")
      expect(all).not.toContain("OTHERKEY")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a key JSON-escaped in a provider's answer (\\u0073k-..., \\/) reaches no error in clear: bodies, shapes, stream events", () =>
    Effect.gen(function* () {
      const key = "sk-live/SLASHKEY/1234567890"
      // The key as JSON may write it: its first letter as \u0073, its slashes as \/, or every character escaped.
      const firstEscaped = `\\u0073${key.slice(1).replaceAll("/", "\\/")}`
      const allEscaped = [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
      const bodies: ReadonlyArray<{ readonly status: number; readonly type: string; readonly raw: string }> = [
        { status: 401, type: "application/json", raw: `{"error":{"message":"Invalid API key provided: ${firstEscaped}"}}` },
        { status: 503, type: "application/json", raw: `{"error":"overloaded for ${allEscaped}"}` },
        // Not JSON (cut short): the raw text is what is quoted, escaped key and all.
        { status: 500, type: "text/plain", raw: `{"error":"bad key ${firstEscaped}` },
        // A 2xx whose shape is wrong: the decoder quotes the value it found.
        { status: 200, type: "application/json", raw: `{"text":42,"echo":"${firstEscaped}","id":"${allEscaped}"}` },
        // A stream whose events quote the key.
        { status: 200, type: "text/event-stream", raw: `data: {"error":{"message":"key ${firstEscaped} is over quota","code":402}}\n\n` },
        { status: 200, type: "text/event-stream", raw: `data: {"choices":[{"delta":{"content":{"k":"${allEscaped}"}}}]}\n\n` }
      ]
      const server = yield* loopback((_req, res, _body, index) => {
        const body = bodies[index % bodies.length]!
        res.writeHead(body.status, { "content-type": body.type })
        res.end(body.raw)
      })
      // The key as a secret to scrub (no key ring: the 401 would rest the key, and the calls after would not be sent).
      const http = yield* Http.make({ provider: "together", baseUrl: server.url, secrets: [Redacted.make(key)], retry: { retries: 0 } })
      const Shape = Schema.Struct({ text: Schema.String, echo: Schema.String, id: Schema.Literal("x") })
      const errors: Array<unknown> = []
      for (let i = 0; i < 4; i++) errors.push(yield* Effect.flip(http.json({ method: "POST", path: "/chat/completions", json: {}, schema: Shape })))
      for (let i = 0; i < 2; i++) errors.push(yield* Effect.flip(Stream.runDrain(Chat.streamChat(http, { model: "m" }))))
      expect(server.seen).toHaveLength(6)
      expect(errors.map((error) => (error as { _tag: string })._tag)).toEqual([
        "InvalidApiKey",
        "ProviderUnavailable",
        "ProviderUnavailable",
        "MalformedResponse",
        "QuotaExceeded",
        "MalformedResponse"
      ])
      const rendered = errors.flatMap((error) => [String(error), JSON.stringify(error), inspect(error, { depth: 10 }), Cause.pretty(Cause.fail(error))])
      const all = rendered.join("\n")
      expect(all).toMatch(/\[redacted\]/)
      for (const leak of [key, "SLASHKEY", JSON.stringify(key).slice(1, -1), firstEscaped, allEscaped.slice(0, 60)]) {
        expect(all).not.toContain(leak)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
