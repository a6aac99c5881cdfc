/**
 * The chat part both OpenAI-style clients share: the one-turn request, the whole chat call (its
 * body and budget), streamed deltas with error events mapped like statuses, and result downloads,
 * against a loopback server speaking the wire format.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Http from "../../../src/http/Http.js"
import * as Chat from "../../../src/providers/openai-compatible/Chat.js"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { json, loopback } from "../../support/LoopbackServer.js"
import { pump, type Pumped } from "../../http/StreamedBody.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-chat-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => {
  const dir = path.join(root, `case-${++n}`)
  fs.mkdirSync(dir)
  return dir
}
const allowLoopback = ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "1"]]))

const Choice = Schema.Struct({ message: Schema.Struct({ content: Schema.String }) })
const Answer = Chat.ChatResponse(Choice, Chat.Usage)

const sse = (events: ReadonlyArray<unknown>, done = true) =>
  events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "")

describe("Chat.chatRequest", () => {
  it("sends the system prompt first, then the user's text, and only the options given", () => {
    expect(Chat.chatRequest("m", "hello", { system: "be brief", maxTokens: 10, temperature: 0.2 })).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "hello" }
      ],
      max_tokens: 10,
      temperature: 0.2
    })
    expect(Chat.chatRequest("m", "hello", undefined)).toEqual({ model: "m", messages: [{ role: "user", content: "hello" }] })
  })

  it("merges extra fields into the body, the ones it sets itself winning, in a stable key order", () => {
    const request = Chat.chatRequest("m", "hi", { maxTokens: 5, extra: { top_p: 0.9, model: "other", max_tokens: 1 } })
    expect(request).toEqual({ top_p: 0.9, model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
    // A key keeps the place of its first appearance, as with any object spread.
    expect(Object.keys(request)).toEqual(["top_p", "model", "max_tokens", "messages"])
  })
})

describe("Chat.chatCalls against a loopback server", () => {
  it.scoped("chat posts the request with stream: false and decodes the answer with the API's schema", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) =>
        json(res, 200, { id: "c1", choices: [{ message: { content: "hi there" } }], usage: { prompt_tokens: 3, completion_tokens: 2 } })
      )
      const http = yield* Http.make({ provider: "test", baseUrl: server.url, retry: { retries: 0 } })
      const calls = Chat.chatCalls(http, { response: Answer })
      const answer = yield* calls.chat(Chat.chatRequest("m", "hello", undefined))
      expect(answer).toEqual({ id: "c1", choices: [{ message: { content: "hi there" } }], usage: { prompt_tokens: 3, completion_tokens: 2 } })
      expect(calls.baseUrl).toBe(server.url)
      expect(server.seen[0]).toMatchObject({ method: "POST", path: "/chat/completions" })
      expect(JSON.parse(server.seen[0]!.body)).toEqual({ model: "m", messages: [{ role: "user", content: "hello" }], stream: false })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a request's own budget applies: a slow answer past it is a Timeout", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        setTimeout(() => json(res, 200, { id: "slow", choices: [] }), 1_000)
      })
      const http = yield* Http.make({ provider: "test", baseUrl: server.url, timeout: "10 seconds", retry: { retries: 0 } })
      const calls = Chat.chatCalls(http, {
        response: Answer,
        timeoutOf: (request) => (request.model === "hurried" ? "100 millis" : undefined)
      })
      const hurried = yield* Effect.flip(calls.chat(Chat.chatRequest("hurried", "x", undefined)))
      expect(hurried._tag).toBe("Timeout")
      const patient = yield* calls.chat(Chat.chatRequest("patient", "x", undefined))
      expect(patient.id).toBe("slow")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("chatStream asks for an event stream and emits the non-empty deltas up to [DONE]", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(
          ": keep-alive\n\n" +
            sse([
              { choices: [{ delta: { content: "Hel" } }] },
              { choices: [{ delta: { content: "" } }] },
              { choices: [] },
              { choices: [{ delta: { content: "lo" }, finish_reason: "stop" }] }
            ])
        )
      })
      const http = yield* Http.make({ provider: "test", baseUrl: server.url, retry: { retries: 0 } })
      const deltas = yield* Stream.runCollect(Chat.chatCalls(http, { response: Answer }).chatStream(Chat.chatRequest("m", "hi", undefined)))
      expect(Chunk.toArray(deltas)).toEqual(["Hel", "lo"])
      expect(server.seen[0]!.headers.accept).toBe("text/event-stream")
      expect(JSON.parse(server.seen[0]!.body)).toMatchObject({ model: "m", stream: true })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("an error event inside the stream fails it with the tag of its code; a cut stream is a NetworkError", () =>
    Effect.gen(function* () {
      const bodies = [
        sse([{ choices: [{ delta: { content: "a" } }] }, { error: { message: "out of credits", code: 402 } }]),
        sse([{ error: { message: "boom" } }]),
        sse([{ choices: [{ delta: { content: "a" } }] }], false)
      ]
      const server = yield* loopback((_req, res, _body, index) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(bodies[index])
      })
      const http = yield* Http.make({ provider: "test", baseUrl: server.url, retry: { retries: 0 } })
      const stream = () => Chat.streamChat(http, { model: "m" })
      expect((yield* Effect.flip(Stream.runCollect(stream())))._tag).toBe("QuotaExceeded")
      expect(yield* Effect.flip(Stream.runCollect(stream()))).toMatchObject({ _tag: "ProviderUnavailable", status: 500 })
      expect((yield* Effect.flip(Stream.runCollect(stream())))._tag).toBe("NetworkError")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("download streams a result URL to a file in the given directory, with the API's download headers", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "image/png" })
        res.end(Buffer.from([1, 2, 3]))
      })
      const dir = freshDir()
      const http = yield* Http.make({ provider: "test", baseUrl: "http://127.0.0.1:1", retry: { retries: 0 } })
      const calls = Chat.chatCalls(http, { response: Answer, downloadHeaders: { "user-agent": "automarket" } })
      const fetched = yield* calls.download(`${server.url}/result.png`, { dir, model: "m", expect: ["image/*"] })
      expect(fetched).toMatchObject({ bytes: 3, contentType: "image/png" })
      expect(path.dirname(fetched.path)).toBe(dir)
      expect([...fs.readFileSync(fetched.path)]).toEqual([1, 2, 3])
      expect(fs.readdirSync(dir)).toEqual([path.basename(fetched.path)])
      expect(server.seen[0]).toMatchObject({ method: "GET", path: "/result.png" })
      expect(server.seen[0]!.headers["user-agent"]).toBe("automarket")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.withConfigProvider(allowLoopback)))

  it.scoped("a result URL's body is never held whole: a 300 MB answer stops as soon as it passes the cap, nothing is left", () =>
    Effect.gen(function* () {
      let pumped: Pumped | undefined
      const server = yield* loopback((_req, res) => {
        // No content-length: the cap can only be enforced while reading.
        res.writeHead(200, { "content-type": "image/png" })
        pumped = pump(res, 300 * 1024 * 1024)
      })
      const dir = freshDir()
      const http = yield* Http.make({ provider: "test", baseUrl: "http://127.0.0.1:1", retry: { retries: 0 } })
      const calls = Chat.chatCalls(http, { response: Answer, maxDownloadBytes: 4 * 1024 * 1024 })
      const error = yield* Effect.flip(calls.download(`${server.url}/huge.png`, { dir, model: "m", expect: ["image/*"] }))
      expect(error).toMatchObject({ _tag: "DownloadFailed", provider: "test" })
      expect(error.message).toMatch(/too large: more than 4194304 bytes received/)
      expect(pumped!.sent()).toBeLessThan(64 * 1024 * 1024)
      expect(fs.readdirSync(dir)).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.withConfigProvider(allowLoopback)))

  it.scoped("a result URL outside the download policy, or answering another content type, is refused", () =>
    Effect.gen(function* () {
      const server = yield* loopback((req, res) => {
        res.writeHead(200, { "content-type": req.url === "/page.png" ? "text/html" : "image/png" })
        res.end("<html>")
      })
      const dir = freshDir()
      const http = yield* Http.make({ provider: "test", baseUrl: "http://127.0.0.1:1", retry: { retries: 0 } })
      const calls = Chat.chatCalls(http, { response: Answer })
      // Plain http to loopback without the allowance: refused before any request.
      const plain = yield* Effect.flip(calls.download(`${server.url}/a.png`, { dir, model: "m", expect: ["image/*"] }))
      expect(plain.message).toMatch(/refused: plain http to a loopback host needs AUTOMARKET_ALLOW_LOOPBACK_HTTP=1/)
      expect(server.seen).toHaveLength(0)
      const html = yield* Effect.flip(
        calls.download(`${server.url}/page.png`, { dir, model: "m", expect: ["image/*"] }).pipe(Effect.withConfigProvider(allowLoopback))
      )
      expect(html).toMatchObject({ _tag: "DownloadFailed" })
      expect(html.message).toMatch(/unexpected content type text\/html/)
      expect(fs.readdirSync(dir)).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
