/**
 * Download's body path against real loopback servers (the library's undici client, whose body is
 * piped to the file as a Node stream): an interruption mid-body or while a progress event is
 * reported leaves no temp file and no descriptor open on it; a connection dropped while bytes
 * still wait for the disk resumes from the bytes that reached the file (the result is
 * byte-identical); a body that stops coming is "stalled" and retried; a slow progress listener
 * holds the body back without losing bytes. And the Effect-stream path (a client with no Node
 * body) still stops a body past the cap.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as Progress from "../../src/domain/Progress.js"
import * as Download from "../../src/http/Download.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import { loopback } from "../support/LoopbackServer.js"
import { errorOf } from "../providers/falai/drive.js"
import { pump } from "./StreamedBody.js"

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "automarket-download-body-")))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => {
  const dir = path.join(root, `case-${++n}`)
  fs.mkdirSync(dir)
  return dir
}

const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.exit(Effect.provide(effect, UndiciHttpClient.layer))

// This process's open descriptors on files in `dir` (a removed file still open reads "... (deleted)").
const openIn = (dir: string): Array<string> =>
  fs.readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`)
      return target.startsWith(dir + path.sep) ? [target] : []
    } catch {
      // Closed between the listing and the look.
      return []
    }
  })

// Bytes that differ from one position to the next, so that a resumption at a wrong offset shows.
const patterned = (size: number): Buffer => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 12)) & 255
  return bytes
}

const waitFor = (check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 500 && !check(); i++) yield* Effect.sleep("10 millis")
    expect(check()).toBe(true)
  })

describe("Download's body path (loopback servers)", () => {
  it.scopedLive("interrupted mid-body: no temp file, no descriptor left open on it", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(64 * 1024 * 1024) })
        // 2 MiB, then nothing: the download waits in the middle of the body.
        res.write(Buffer.alloc(2 * 1024 * 1024, 7))
      })
      const dir = freshDir()
      const fiber = yield* Effect.fork(run(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true })))
      yield* waitFor(() => fs.readdirSync(dir).some((file) => file.endsWith(".part")) && fs.statSync(path.join(dir, fs.readdirSync(dir)[0]!)).size > 0)
      expect(openIn(dir).some((file) => file.endsWith(".part"))).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(openIn(dir)).toEqual([])
    }))

  it.scopedLive("interrupted while a progress event is being reported: no temp file, no descriptor left open", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(32 * 1024 * 1024) })
        pump(res, 32 * 1024 * 1024)
      })
      const dir = freshDir()
      const reporting = yield* Deferred.make<number>()
      const fiber = yield* Effect.fork(
        run(
          Progress.listen(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true }), (event) =>
            // The first event past zero never finishes: the body is held while it is reported.
            event._tag === "Downloading" && event.received > 0 ? Effect.zipRight(Deferred.succeed(reporting, event.received), Effect.never) : Effect.void
          )
        )
      )
      const received = yield* Deferred.await(reporting)
      expect(received).toBeGreaterThan(0)
      expect(received).toBeLessThan(32 * 1024 * 1024)
      expect(openIn(dir).some((file) => file.endsWith(".part"))).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(openIn(dir)).toEqual([])
    }))

  it.scopedLive("a connection dropped while bytes wait for the disk resumes from the bytes in the file: the result is byte-identical", () =>
    Effect.gen(function* () {
      const size = 24 * 1024 * 1024
      const content = patterned(size)
      const server = yield* loopback((req, res) => {
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "")
        const start = range === null ? 0 : Number(range[1])
        const headers = { "content-type": "video/mp4", "accept-ranges": "bytes", etag: '"v1"', "content-length": String(size - start) }
        if (range !== null) {
          res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${size - 1}/${size}` })
          res.end(content.subarray(start))
          return
        }
        res.writeHead(200, headers)
        // Half the file in one go, then the connection is cut.
        res.write(content.subarray(0, size / 2), () => res.socket?.destroy())
      })
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true }))
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: size, resumed: 1 })
      expect(server.seen).toHaveLength(2)
      const from = Number(/^bytes=(\d+)-$/.exec(server.seen[1]!.headers.range ?? "")?.[1])
      expect(from).toBeGreaterThan(0)
      expect(from).toBeLessThanOrEqual(size / 2)
      expect(server.seen[1]!.headers["if-range"]).toBe('"v1"')
      expect(fs.readFileSync(path.join(dir, "v.mp4")).equals(content)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual(["v.mp4"])
    }))

  it.scopedLive("a body that stops coming is stalled: retried, then DownloadFailed with no file left", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(4 * 1024 * 1024) })
        res.write(Buffer.alloc(128 * 1024, 1))
      })
      const dir = freshDir()
      const exit = yield* run(
        Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true, attempts: 2, idleTimeout: "300 millis" })
      )
      const error = errorOf(exit)
      expect(error).toMatchObject({ _tag: "DownloadFailed" })
      expect(error?.message).toMatch(/stalled: no data/)
      expect(server.seen).toHaveLength(2)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(openIn(dir)).toEqual([])
    }))

  it.scopedLive("a slow progress listener holds the body back and loses nothing: events in order, the file whole", () =>
    Effect.gen(function* () {
      const size = 16 * 1024 * 1024 + 5
      const content = patterned(size)
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(size) })
        res.end(content)
      })
      const dir = freshDir()
      const received: Array<number> = []
      const exit = yield* run(
        Progress.listen(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true }), (event) =>
          Effect.zipRight(
            Effect.sleep("15 millis"),
            Effect.sync(() => {
              if (event._tag === "Downloading") received.push(event.received)
            })
          )
        )
      )
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: size, resumed: 0 })
      expect(received[0]).toBe(0)
      expect(received.at(-1)).toBe(size)
      expect(received.length).toBeGreaterThanOrEqual(3)
      expect(received.length).toBeLessThanOrEqual(110)
      expect(received.every((bytes, i) => i === 0 || bytes >= received[i - 1]!)).toBe(true)
      expect(fs.readFileSync(path.join(dir, "v.mp4")).equals(content)).toBe(true)
    }))

  it.effect("a client with no Node body (its Effect stream is read) still stops a body past the cap", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      let pulled = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++
          if (pulled > 64) controller.close()
          else controller.enqueue(new Uint8Array(64 * 1024))
        }
      })
      const client = HttpClient.make((request) => Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { headers: { "content-type": "video/mp4" } }))))
      const exit = yield* Effect.exit(
        Download.download({ url: "https://files.example.test/v.mp4", to: path.join(dir, "v.mp4"), maxBytes: 1024 * 1024 }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      expect(errorOf(exit)?.message).toMatch(/too large: more than 1048576 bytes received/)
      expect(fs.readdirSync(dir)).toEqual([])
    }))
})
