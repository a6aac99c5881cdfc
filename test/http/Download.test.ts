/**
 * Download against real loopback servers (the library's undici client): a file streams to disk
 * with progress; a truncated body resumes with Range where the server allows it, restarts where it
 * does not, and fails with DownloadFailed leaving no file when every attempt is cut; the size cap,
 * the content type check and the https-only rule refuse before writing, on every redirect hop too
 * (and the caller's headers never follow a redirect to another origin); an error answer's body is
 * not read; an interrupted download leaves nothing. And it goes through whichever `HttpClient` is in context (an in-memory one here).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
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
import { fileContent, makeFal, serve } from "../emulators/falai.js"
import { loopback } from "../support/LoopbackServer.js"
import { pump, type Pumped } from "./StreamedBody.js"
import { env, errorOf } from "../providers/falai/drive.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-download-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => {
  const dir = path.join(root, `case-${++n}`)
  fs.mkdirSync(dir)
  return dir
}

const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.exit(Effect.provide(effect, UndiciHttpClient.layer))

describe("Download (loopback servers)", () => {
  it.scopedLive("streams a file to disk with Downloading progress and no temp file left", () =>
    Effect.gen(function* () {
      const files = yield* serve(makeFal({ fileBytes: 3 * 1024 * 1024 + 17 }))
      const dir = freshDir()
      const events: Array<Progress.JobEvent> = []
      const exit = yield* run(
        Progress.listen(
          Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), expect: ["image/*"], allowLoopbackHttp: true, provider: "t", model: "m" }),
          (event) => Effect.sync(() => void events.push(event))
        )
      )
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: 3 * 1024 * 1024 + 17, contentType: "image/png", resumed: 0 })
      expect(Buffer.compare(fs.readFileSync(path.join(dir, "out.png")), Buffer.from(fileContent(3 * 1024 * 1024 + 17)))).toBe(0)
      expect(fs.readdirSync(dir)).toEqual(["out.png"])
      expect(events[0]).toMatchObject({ _tag: "Downloading", received: 0, total: 3 * 1024 * 1024 + 17 })
      expect(events.at(-1)).toMatchObject({ _tag: "Downloading", received: 3 * 1024 * 1024 + 17 })
      expect(events.length).toBeGreaterThanOrEqual(3)
      expect(events.length).toBeLessThanOrEqual(110)
    }))

  it.scopedLive("a body truncated on every attempt fails with DownloadFailed and leaves no file", () =>
    Effect.gen(function* () {
      const fal = makeFal({ fileBytes: 200_000, truncateFiles: Infinity })
      const files = yield* serve(fal)
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), allowLoopbackHttp: true, attempts: 3 }))
      const error = errorOf(exit)
      expect(error).toMatchObject({ _tag: "DownloadFailed", url: `${files.baseUrl}/files/a.png` })
      expect(error?.message).toMatch(/connection lost|truncated/)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(fal.count("file")).toBe(3)
    }))

  it.scopedLive("a dropped connection resumes from the bytes written when the server allows ranges", () =>
    Effect.gen(function* () {
      const fal = makeFal({ fileBytes: 500_000, truncateFiles: 1, ranges: true })
      const files = yield* serve(fal)
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), allowLoopbackHttp: true }))
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: 500_000, resumed: 1 })
      const fileRequests = fal.requests.filter((request) => request.url.startsWith("/files/"))
      expect(fileRequests).toHaveLength(2)
      expect(fileRequests[0]!.headers["range"]).toBeUndefined()
      const range = /^bytes=(\d+)-$/.exec(fileRequests[1]!.headers["range"] ?? "")
      expect(range).not.toBeNull()
      expect(Number(range![1])).toBeGreaterThan(0)
      expect(fileRequests[1]!.headers["if-range"]).toBe('"f500000"')
      expect(Buffer.compare(fs.readFileSync(path.join(dir, "out.png")), Buffer.from(fileContent(500_000)))).toBe(0)
    }))

  it.scopedLive("without Accept-Ranges a dropped connection restarts from zero", () =>
    Effect.gen(function* () {
      const fal = makeFal({ fileBytes: 300_000, truncateFiles: 1, ranges: false })
      const files = yield* serve(fal)
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), allowLoopbackHttp: true }))
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: 300_000, resumed: 0 })
      const fileRequests = fal.requests.filter((request) => request.url.startsWith("/files/"))
      expect(fileRequests.map((request) => request.headers["range"])).toEqual([undefined, undefined])
      expect(Buffer.compare(fs.readFileSync(path.join(dir, "out.png")), Buffer.from(fileContent(300_000)))).toBe(0)
    }))

  it.scopedLive("a file over the size cap is refused from its content-length, before writing", () =>
    Effect.gen(function* () {
      const files = yield* serve(makeFal({ fileBytes: 100_000 }))
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), allowLoopbackHttp: true, maxBytes: 99_999 }))
      expect(errorOf(exit)?.message).toMatch(/too large: 100000 bytes announced, the cap is 99999/)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("a body without content-length is stopped as soon as it passes the cap", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4" })
        const chunk = Buffer.alloc(64 * 1024, 1)
        let sent = 0
        const pump = () => {
          while (sent < 64 && res.write(chunk)) sent++
          if (sent < 64) res.once("drain", pump)
          else res.end()
        }
        pump()
      })
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true, maxBytes: 1024 * 1024 }))
      expect(errorOf(exit)?.message).toMatch(/too large: more than 1048576 bytes received/)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("a content type other than the expected one is refused and nothing is written", () =>
    Effect.gen(function* () {
      const files = yield* serve(makeFal({ fileContentType: "text/html; charset=utf-8" }))
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "out.png"), allowLoopbackHttp: true, expect: ["image/*"] }))
      expect(errorOf(exit)?.message).toMatch(/unexpected content type text\/html \(expected image\/\*\)/)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("plain http is refused unless to a loopback host with the allowance (option or environment)", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const files = yield* serve(fal)
      const dir = freshDir()
      const remote = yield* run(Download.download({ url: "http://example.com/a.png", to: path.join(dir, "a.png"), allowLoopbackHttp: true }))
      expect(errorOf(remote)?.message).toMatch(/refused: plain http is refused \(https only\)/)
      const noAllowance = yield* run(Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "a.png") }).pipe(Effect.withConfigProvider(env({}))))
      expect(errorOf(noAllowance)?.message).toMatch(/needs AUTOMARKET_ALLOW_LOOPBACK_HTTP=1/)
      const ftp = yield* run(Download.download({ url: "ftp://127.0.0.1/a.png", to: path.join(dir, "a.png"), allowLoopbackHttp: true }))
      expect(errorOf(ftp)?.message).toMatch(/scheme ftp: is not allowed/)
      expect(fal.count("file")).toBe(0)
      const fromEnv = yield* run(
        Download.download({ url: `${files.baseUrl}/files/a.png`, to: path.join(dir, "a.png") }).pipe(
          Effect.withConfigProvider(env({ AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1" }))
        )
      )
      expect(Exit.isSuccess(fromEnv)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual(["a.png"])
    }))

  it.scopedLive("an interrupted download leaves no file and no temp file", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(10 * 1024 * 1024) })
        res.write(Buffer.alloc(256 * 1024, 7))
        // ... and never more: the client waits for the rest.
      })
      const dir = freshDir()
      const fiber = yield* Effect.fork(run(Download.download({ url: `${server.url}/v.mp4`, to: path.join(dir, "v.mp4"), allowLoopbackHttp: true })))
      for (let i = 0; i < 100 && fs.readdirSync(dir).length === 0; i++) yield* Effect.sleep("10 millis")
      expect(fs.readdirSync(dir).some((file) => file.endsWith(".part"))).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("an HTTP error status is DownloadFailed naming it", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_req, res) => {
        res.writeHead(404, { "content-type": "text/plain" })
        res.end("gone")
      })
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${server.url}/x.png?signature=secret`, to: path.join(dir, "x.png"), allowLoopbackHttp: true }))
      const error = errorOf(exit)
      expect(error?.message).toMatch(/HTTP 404/)
      expect(error?.message).not.toContain("secret")
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("every redirect hop is checked: https redirecting to http://127.0.0.1 (or to plain http elsewhere) is refused without the allowance", () =>
    Effect.gen(function* () {
      const target = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "image/png" })
        res.end("PNG")
      })
      const real = yield* HttpClient.HttpClient
      const asked: Array<string> = []
      // An https file host (in memory) whose answers redirect; anything else goes to the real network client.
      const client = HttpClient.make((request) => {
        asked.push(request.url)
        if (request.url.startsWith("https://files.example.test/loopback")) {
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 302, headers: { location: `${target.url}/a.png` } })))
        }
        if (request.url.startsWith("https://files.example.test/plain")) {
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 301, headers: { location: "http://cdn.example.test/a.png" } })))
        }
        if (request.url.startsWith("http://cdn.example.test/")) {
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response("PNG", { headers: { "content-type": "image/png" } })))
        }
        return real.execute(request)
      })
      const dir = freshDir()
      const toLoopback = yield* Effect.exit(
        Download.download({ url: "https://files.example.test/loopback.png", to: path.join(dir, "a.png"), allowLoopbackHttp: false }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      expect(errorOf(toLoopback)?.message).toMatch(/refused: redirect to http:\/\/127\.0\.0\.1:\d+\/a\.png: plain http to a loopback host needs AUTOMARKET_ALLOW_LOOPBACK_HTTP=1/)
      expect(target.seen).toHaveLength(0)
      const toPlain = yield* Effect.exit(
        Download.download({ url: "https://files.example.test/plain.png", to: path.join(dir, "a.png"), allowLoopbackHttp: true }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      expect(errorOf(toPlain)?.message).toMatch(/refused: redirect to http:\/\/cdn\.example\.test\/a\.png: plain http is refused \(https only\)/)
      expect(asked.some((url) => url.startsWith("http://cdn.example.test/"))).toBe(false)
      expect(fs.readdirSync(dir)).toEqual([])
      // With the allowance, the same redirect to loopback is followed.
      const allowed = yield* Effect.exit(
        Download.download({ url: "https://files.example.test/loopback.png", to: path.join(dir, "a.png"), allowLoopbackHttp: true }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      expect(Exit.isSuccess(allowed) && allowed.value).toMatchObject({ bytes: 3, contentType: "image/png" })
      expect(target.seen).toHaveLength(1)
    }).pipe(Effect.provide(UndiciHttpClient.layer)))

  it.effect("a redirect to a loopback, private or link-local address is refused even over https (the address as the URL parser normalises it)", () =>
    Effect.gen(function* () {
      const asked: Array<string> = []
      const client = HttpClient.make((request) => {
        asked.push(request.url)
        const to = new URL(request.url).searchParams.get("to")
        return Effect.succeed(
          to !== null
            ? HttpClientResponse.fromWeb(request, new Response(null, { status: 302, headers: { location: to } }))
            : HttpClientResponse.fromWeb(request, new Response("PNG", { headers: { "content-type": "image/png" } }))
        )
      })
      const dir = freshDir()
      for (const [target, reason] of [
        ["https://127.0.0.1:8443/a.png", /loopback host needs AUTOMARKET_ALLOW_LOOPBACK_HTTP=1/],
        ["https://localhost/a.png", /loopback host needs/],
        ["https://[::ffff:127.0.0.1]/a.png", /loopback host needs/],
        ["https://10.1.2.3/a.png", /a private or link-local address/],
        ["https://192.168.0.10/a.png", /a private or link-local address/],
        ["https://169.254.169.254/latest/meta-data", /a private or link-local address/],
        ["https://[fd00::1]/a.png", /a private or link-local address/],
        ["https://[::ffff:10.0.0.1]/a.png", /a private or link-local address/],
        ["https://0.0.0.0/a.png", /a private or link-local address/]
      ] as const) {
        asked.length = 0
        const exit = yield* Effect.exit(
          Download.download({ url: `https://files.example.test/r.png?to=${encodeURIComponent(target)}`, to: path.join(dir, "a.png"), allowLoopbackHttp: false }).pipe(
            Effect.provideService(HttpClient.HttpClient, client)
          )
        )
        expect(errorOf(exit)?.message).toMatch(/refused: redirect to https:\/\//)
        expect(errorOf(exit)?.message).toMatch(reason)
        expect(asked).toHaveLength(1)
      }
      // The first URL is under the same rule.
      const first = yield* Effect.exit(
        Download.download({ url: "https://10.0.0.1/a.png", to: path.join(dir, "a.png") }).pipe(Effect.provideService(HttpClient.HttpClient, client))
      )
      expect(errorOf(first)?.message).toMatch(/refused: .*a private or link-local address/)
      // A public host is followed.
      const ok = yield* Effect.exit(
        Download.download({ url: `https://files.example.test/r.png?to=${encodeURIComponent("https://cdn.example.test/a.png")}`, to: path.join(dir, "a.png") }).pipe(
          Effect.provideService(HttpClient.HttpClient, client)
        )
      )
      expect(Exit.isSuccess(ok) && ok.value).toMatchObject({ bytes: 3 })
      expect(fs.readdirSync(dir)).toEqual(["a.png"])
    }))

  it.scopedLive("the caller's headers go only to the origin they were given for: kept on a same-origin redirect, dropped after a cross-origin one", () =>
    Effect.gen(function* () {
      const other = yield* loopback((_req, res) => {
        res.writeHead(200, { "content-type": "image/png" })
        res.end("OTHER")
      })
      const origin = yield* loopback((req, res) => {
        if (req.url === "/elsewhere.png") {
          res.writeHead(302, { location: `${other.url}/b.png` })
          return res.end()
        }
        if (req.url === "/moved.png") {
          res.writeHead(307, { location: "/here.png" })
          return res.end()
        }
        res.writeHead(200, { "content-type": "image/png" })
        res.end("HERE")
      })
      const dir = freshDir()
      const headers = { authorization: "Bearer file-host-token", "x-file-token": "t0k3n", "user-agent": "automarket" }
      const crossed = yield* run(Download.download({ url: `${origin.url}/elsewhere.png`, to: path.join(dir, "b.png"), allowLoopbackHttp: true, headers }))
      expect(Exit.isSuccess(crossed) && crossed.value).toMatchObject({ bytes: 5 })
      expect(origin.seen[0]!.headers.authorization).toBe("Bearer file-host-token")
      expect(other.seen).toHaveLength(1)
      expect(other.seen[0]!.headers.authorization).toBeUndefined()
      expect(other.seen[0]!.headers["x-file-token"]).toBeUndefined()
      // A header that says nothing about the caller (the user agent a CDN wants) still goes along.
      expect(other.seen[0]!.headers["user-agent"]).toBe("automarket")
      const same = yield* run(Download.download({ url: `${origin.url}/moved.png`, to: path.join(dir, "h.png"), allowLoopbackHttp: true, headers }))
      expect(Exit.isSuccess(same) && same.value).toMatchObject({ bytes: 4 })
      expect(origin.seen.map((seen) => [seen.path, seen.headers.authorization])).toEqual([
        ["/elsewhere.png", "Bearer file-host-token"],
        ["/moved.png", "Bearer file-host-token"],
        ["/here.png", "Bearer file-host-token"]
      ])
    }))

  it.scopedLive("a redirect loop ends after a bounded number of hops", () =>
    Effect.gen(function* () {
      const server = yield* loopback((req, res) => {
        res.writeHead(302, { location: `/loop${(req.url ?? "").length}` })
        res.end()
      })
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${server.url}/loop`, to: path.join(dir, "x.png"), allowLoopbackHttp: true }))
      expect(errorOf(exit)?.message).toMatch(/refused: more than 5 redirects/)
      expect(server.seen.length).toBe(6)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("an error answer's body is not read: a 100 MB 404 ends at once, the server sent a small part of it", () =>
    Effect.gen(function* () {
      let pumped: Pumped | undefined
      const server = yield* loopback((_req, res) => {
        res.writeHead(404, { "content-type": "text/plain", "content-length": String(100 * 1024 * 1024) })
        pumped = pump(res, 100 * 1024 * 1024)
      })
      const dir = freshDir()
      const exit = yield* run(Download.download({ url: `${server.url}/x.png`, to: path.join(dir, "x.png"), allowLoopbackHttp: true }))
      expect(errorOf(exit)?.message).toMatch(/HTTP 404/)
      yield* Effect.sleep("50 millis")
      expect(pumped!.sent()).toBeLessThan(32 * 1024 * 1024)
    }))

  it.effect("a data: URL is decoded to the file", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      const exit = yield* run(
        Download.download({ url: `data:image/png;base64,${Buffer.from("PNGDATA").toString("base64")}`, to: path.join(dir, "d.png"), expect: ["image/*"] })
      )
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ bytes: 7, contentType: "image/png" })
      expect(fs.readFileSync(path.join(dir, "d.png"), "utf8")).toBe("PNGDATA")
    }))

  it.effect("goes through the HttpClient in context", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      const urls: Array<string> = []
      const inMemory = HttpClient.make((request) =>
        Effect.sync(() => {
          urls.push(request.url)
          return HttpClientResponse.fromWeb(request, new Response("GIF89a", { headers: { "content-type": "image/gif" } }))
        })
      )
      const done = yield* Download.download({ url: "https://files.example.test/a.gif?sig=1", to: path.join(dir, "a.gif"), expect: ["image/*"] }).pipe(
        Effect.provideService(HttpClient.HttpClient, inMemory)
      )
      expect(done).toMatchObject({ bytes: 6, contentType: "image/gif" })
      expect(urls).toEqual(["https://files.example.test/a.gif?sig=1"])
      expect(fs.readFileSync(path.join(dir, "a.gif"), "utf8")).toBe("GIF89a")
    }))

  it("decodes data: URLs, and refuses malformed ones", () => {
    expect(Download.decodeDataUrl("data:image/png;base64,UE5H")).toEqual({ bytes: Buffer.from("PNG"), contentType: "image/png" })
    expect(Download.decodeDataUrl("data:text/plain;charset=utf-8,a%20b")).toEqual({ bytes: Buffer.from("a b"), contentType: "text/plain" })
    expect(Download.decodeDataUrl("data:,x")).toEqual({ bytes: Buffer.from("x"), contentType: undefined })
    expect(Download.decodeDataUrl("data:image/png;base64")).toBeUndefined()
    expect(Download.decodeDataUrl("data:text/plain,%E0%A4%A")).toBeUndefined()
  })

  it("pure rules: loopback hosts, content types, ranges", () => {
    expect(Download.isLoopbackHost("127.0.0.1")).toBe(true)
    expect(Download.isLoopbackHost("[::1]")).toBe(true)
    expect(Download.isLoopbackHost("localhost")).toBe(true)
    expect(Download.isLoopbackHost("127.0.0.1.example.com")).toBe(false)
    expect(Download.isLoopbackHost("[::ffff:7f00:1]")).toBe(true)
    expect(Download.isPrivateHost("172.16.0.1")).toBe(true)
    expect(Download.isPrivateHost("172.32.0.1")).toBe(false)
    expect(Download.isPrivateHost("100.64.0.1")).toBe(true)
    expect(Download.isPrivateHost("[fe80::1]")).toBe(true)
    expect(Download.isPrivateHost("[::]")).toBe(true)
    expect(Download.isPrivateHost("[2001:db8::1]")).toBe(false)
    expect(Download.isPrivateHost("8.8.8.8")).toBe(false)
    expect(Download.isPrivateHost("fc.example.com")).toBe(false)
    expect(Download.contentTypeAccepted("image/png", ["image/*"])).toBe(true)
    expect(Download.contentTypeAccepted("application/octet-stream", ["image/*"])).toBe(true)
    expect(Download.contentTypeAccepted("video/mp4", ["image/*", "audio/wav"])).toBe(false)
    expect(Download.parseContentRange("bytes 100-199/200")).toEqual({ start: 100, end: 199, total: 200 })
    expect(Download.parseContentRange("bytes 0-9/*")).toEqual({ start: 0, end: 9, total: undefined })
    expect(Download.displayUrl("https://cdn.example/f/a.png?X-Amz-Signature=abc")).toBe("https://cdn.example/f/a.png")
  })
})
