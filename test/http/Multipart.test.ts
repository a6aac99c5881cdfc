/**
 * The hand-written multipart body: its framing, file names that cannot break the header, and
 * the names given to uploads without one. (That services parse it is shown by every provider test.)
 */
import { describe, expect, it } from "@effect/vitest"
import { fromBytes, fromFile, fromUrl } from "../../src/domain/Asset.js"
import { extensionOf, partFrame, uploadName } from "../../src/http/Multipart.js"

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
    expect(extensionOf("audio/x-wav")).toBe("wav")
    expect(extensionOf("application/octet-stream")).toBe("bin")
  })
})
