/**
 * The kit's upload receiver behind a small server of this test's: files stored where the policy
 * says (the client's names kept only as names), others read past, fields handed over in order;
 * a refusal of the policy, a body over the limit and a body that is not multipart answered in the
 * words given, each reaching the client while it is still sending (the rest of the body is
 * dropped, not reset); a file that cannot be stored; and the helpers for client file names.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { messageOf } from "../../../src/services/kit/Errors.js"
import * as Upload from "../../../src/services/kit/Upload.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"

const maxBytes = 64 * 1024
let root: string
let server: RunningServer

const refusals: Upload.UploadRefusals<string> = {
  malformed: (error) => (Upload.overLimit(error) ? "over the limit" : `malformed (${error.reason}): ${messageOf(error.cause)}`),
  notStored: (reason) => `not stored: ${reason}`,
  badFileName: (reason) => `bad file name: ${reason}`
}

// `/store`: files under "keep" are stored (numbered), others read past; a field "stop" is refused.
// `/nowhere`: every file goes to a directory that does not exist.
const policyFor = (url: string): Upload.UploadPolicy<string> => {
  let n = 0
  return {
    maxBytes,
    expected: "a form with files",
    field: (field) => (field.key === "stop" ? Effect.fail(`refused the field ${field.key}`) : Effect.void),
    file: (file) =>
      Effect.sync(() => (url === "/nowhere" ? join(root, "missing", "file") : file.key === "keep" ? join(root, `stored-${n++}`) : undefined))
  }
}

const app = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const fields: Array<string> = []
  const policy = policyFor(request.url)
  const result = yield* Effect.either(
    Upload.receive(request, { ...policy, field: (field) => Effect.zipRight(Effect.sync(() => fields.push(field.key)), policy.field!(field)) }, refusals)
  )
  return HttpServerResponse.unsafeJson(Either.match(result, { onLeft: (refused) => ({ refused }), onRight: (received) => ({ received, fields }) }))
})

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-upload-test-"))
  server = await startServer(HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

interface Part {
  readonly name: string
  readonly filename?: string
  readonly data: Buffer | string
}

const boundary = "----uploadtestboundary"
const form = (parts: ReadonlyArray<Part>): Buffer =>
  Buffer.concat([
    ...parts.flatMap((part) => [
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"\r\nContent-Type: application/octet-stream` : ""}\r\n\r\n`
      ),
      typeof part.data === "string" ? Buffer.from(part.data) : part.data,
      Buffer.from("\r\n")
    ]),
    Buffer.from(`--${boundary}--\r\n`)
  ])

/** Post a body in 16 KiB pieces without a Content-Length; the answer may come before it is all sent. */
const post = (path: string, body: Buffer, contentType = `multipart/form-data; boundary=${boundary}`): Promise<any> =>
  new Promise((resolve, reject) => {
    const req = Http.request(`${server.url}${path}`, { method: "POST", headers: { "content-type": contentType }, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))))
      res.on("error", reject)
    })
    req.on("error", reject)
    let offset = 0
    const pump = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 16 * 1024)
        offset += piece.length
        if (!req.write(piece)) return void req.once("drain", pump)
      }
      req.end()
    }
    pump()
  })

describe("Upload.receive", () => {
  it("stores the files the policy places, reads past the others, and hands over the fields in order", async () => {
    const answer = await post(
      "/store",
      form([
        { name: "first", data: "1" },
        { name: "keep", filename: "../../etc/a.wav", data: "aaaa" },
        { name: "other", filename: "b.wav", data: "bb" },
        { name: "second", data: "2" },
        { name: "keep", filename: "c.wav", data: Buffer.alloc(1000, 7) }
      ])
    )
    expect(answer.fields).toEqual(["first", "second"])
    expect(answer.received.stored).toEqual([
      { key: "keep", name: "../../etc/a.wav", contentType: "application/octet-stream", size: 4, path: join(root, "stored-0") },
      { key: "keep", name: "c.wav", contentType: "application/octet-stream", size: 1000, path: join(root, "stored-1") }
    ])
    expect(answer.received.skipped).toEqual([{ key: "other", name: "b.wav", contentType: "application/octet-stream", size: 2 }])
    expect(readFileSync(join(root, "stored-0"), "utf8")).toBe("aaaa")
    expect(existsSync(join(root, "..", "..", "etc", "a.wav"))).toBe(false)
  })

  it("a part the policy refuses is the answer, even with most of the body still to come", async () => {
    const answer = await post("/store", form([{ name: "stop", data: "x" }, { name: "keep", filename: "big.wav", data: Buffer.alloc(8 * maxBytes, 1) }]))
    expect(answer).toEqual({ refused: "refused the field stop" })
  })

  it("a body over the limit is refused as such, and the refusal reaches the client", async () => {
    const answer = await post("/store", form([{ name: "keep", filename: "big.wav", data: Buffer.alloc(4 * maxBytes, 1) }]))
    expect(answer).toEqual({ refused: "over the limit" })
  })

  it("a body that is not multipart is malformed, naming what was expected", async () => {
    const answer = await post("/store", Buffer.from('{"json": true}'), "multipart/form-data")
    expect(answer.refused).toMatch(/^malformed \(Parse\): expected a form with files \(/)
  })

  it("a file that cannot be written is not stored", async () => {
    const answer = await post("/nowhere", form([{ name: "keep", filename: "a.wav", data: "aaaa" }]))
    expect(answer.refused).toMatch(/^not stored: /)
  })
})

describe("client file names", () => {
  it("safeBaseName keeps a plain stem for headers", () => {
    expect(Upload.safeBaseName("../../etc/My Speech!.wav")).toBe("My_Speech_")
    expect(Upload.safeBaseName("C:\\audio\\take.2.mp3")).toBe("take.2")
    expect(Upload.safeBaseName("..")).toBe("audio")
    expect(Upload.safeBaseName("", "file")).toBe("file")
  })

  it("isSafeFileName refuses directories, dot names and control characters", () => {
    for (const name of ["a.wav", "take..2.final.mp4", "voice"]) expect(Upload.isSafeFileName(name)).toBe(true)
    for (const name of ["../x", "/etc/x", "..\\x", "..", ".", "a\u0000b", "x".repeat(256)]) expect(Upload.isSafeFileName(name)).toBe(false)
  })

  it("safeExtension keeps a plain extension, lower-cased", () => {
    expect(Upload.safeExtension("clip.MP4")).toBe(".mp4")
    expect(Upload.safeExtension("clip")).toBe("")
    expect(Upload.safeExtension("clip.tar;rm")).toBe("")
  })
})
