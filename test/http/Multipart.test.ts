/**
 * The hand-written multipart body: its framing, file names that cannot break the header, the
 * names given to uploads without one, and URL sources (downloaded by `Download` under its rules,
 * data: URLs decoded). (That services parse it is shown by every provider test.)
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { fromBytes, fromFile, fromUrl } from "../../src/domain/Asset.js"
import { multipartBody, partFrame, uploadName } from "../../src/http/Multipart.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import { loopback } from "../support/LoopbackServer.js"

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe("AudioUpload", () => {
  it("frames one file part", () => {
    const frame = partFrame({ field: "audio_file", filename: "a.wav", contentType: "audio/wav" }, "B")
    expect(decode(frame.head)).toBe('--B\r\nContent-Disposition: form-data; name="audio_file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n')
    expect(decode(frame.tail)).toBe("\r\n--B--\r\n")
  })

  it("keeps quotes and line breaks of a file name out of the header", () => {
    const frame = partFrame({ field: "files", filename: 'x"\r\nEvil: 1.wav', contentType: "audio/wav\r\nX: y" }, "B")
    const head = decode(frame.head)
    expect(head).toContain('filename="x%22  Evil: 1.wav"')
    expect(head.split("\r\n")).toHaveLength(5)
  })

  it("names uploads: a file's base name, else audio.<extension of the mime type>", () => {
    expect(uploadName(fromFile("/some/dir/talk.mp3"), "audio/mpeg")).toBe("talk.mp3")
    expect(uploadName(fromBytes(new Uint8Array(1)), "audio/mpeg")).toBe("audio.mp3")
    expect(uploadName(fromUrl("https://x/y"), "audio/ogg; codecs=opus")).toBe("audio.ogg")
    expect(uploadName(fromBytes(new Uint8Array(1)), "audio/x-wav")).toBe("audio.wav")
    expect(uploadName(fromBytes(new Uint8Array(1)), "application/octet-stream")).toBe("audio.bin")
  })
})

describe("URL sources", () => {
  const body = (source: ReturnType<typeof fromUrl>) =>
    Effect.flatMap(multipartBody("p", { field: "audio_file", source, filename: "a.wav", contentType: "audio/wav" }), (form) =>
      form._tag === "Stream" ? Effect.map(Effect.orDie(Stream.runCollect(form.stream)), (chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks))) : Effect.die("not a stream")
    )

  it.scopedLive("are downloaded by Download, under its rules, before the upload", () =>
    Effect.gen(function* () {
      const server = yield* loopback((_, res) => {
        res.writeHead(200, { "content-type": "audio/wav" })
        res.end("RIFFDATA")
      })
      const sent = yield* body(fromUrl(`${server.url}/a.wav`)).pipe(Effect.withConfigProvider(ConfigProvider.fromJson({ AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1" })))
      expect(sent.toString("utf8")).toContain("\r\n\r\nRIFFDATA\r\n")
      const refused = yield* Effect.flip(body(fromUrl(`${server.url}/a.wav`)).pipe(Effect.withConfigProvider(ConfigProvider.fromJson({}))))
      expect(refused).toMatchObject({ _tag: "DownloadFailed" })
      expect(refused.message).toMatch(/needs AUTOMARKET_ALLOW_LOOPBACK_HTTP=1/)
      const plain = yield* Effect.flip(body(fromUrl("http://example.invalid/a.wav")))
      expect(plain.message).toMatch(/plain http is refused/)
      expect(server.seen).toHaveLength(1)
    }).pipe(Effect.provide(Layer.merge(UndiciHttpClient.layer, NodeContext.layer))))

  it.scoped("a data: URL is decoded in place; a malformed one is InvalidInput", () =>
    Effect.gen(function* () {
      const sent = yield* body(fromUrl(`data:audio/wav;base64,${Buffer.from("RIFF").toString("base64")}`))
      expect(sent.toString("utf8")).toContain("\r\n\r\nRIFF\r\n")
      const bad = yield* Effect.flip(body(fromUrl("data:audio/wav;base64")))
      expect(bad).toMatchObject({ _tag: "InvalidInput", message: "p: malformed data: URL" })
    }).pipe(Effect.provide(Layer.merge(UndiciHttpClient.layer, NodeContext.layer))))
})
