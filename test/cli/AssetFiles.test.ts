/**
 * Assets the command line writes: bytes and files saved whole under the name asked for (nothing
 * left when the source is missing), the extension of a result's type, the speech format an
 * output name asks for.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { extensionOf, save, speechFormatOf } from "../../src/cli/AssetFiles.js"
import { Audio, fromBytes, fromFile, Image } from "../../src/domain/Asset.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-asset-files-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("AssetFiles", () => {
  it.effect("saves bytes and files whole, creating the folder, and gives the absolute path", () =>
    Effect.gen(function* () {
      const image = new Image({ source: fromBytes(new Uint8Array([1, 2, 3])), mimeType: "image/png" })
      const written = yield* save(image, path.join(dir, "bytes", "a.png"))
      expect(written).toBe(path.join(dir, "bytes", "a.png"))
      expect([...fs.readFileSync(written)]).toEqual([1, 2, 3])
      const audio = new Audio({ source: fromFile(written), mimeType: "audio/wav" })
      const copied = yield* save(audio, path.join(dir, "bytes", "b.wav"))
      expect([...fs.readFileSync(copied)]).toEqual([1, 2, 3])
      expect(fs.readdirSync(path.join(dir, "bytes")).sort()).toEqual(["a.png", "b.wav"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("a source that cannot be read is DownloadFailed naming the target, and leaves nothing", () =>
    Effect.gen(function* () {
      const audio = new Audio({ source: fromFile(path.join(dir, "missing.wav")), mimeType: "audio/wav", origin: { provider: "p", model: "m" } })
      const target = path.join(dir, "failed", "out.wav")
      const error = yield* Effect.flip(save(audio, target))
      expect(error).toMatchObject({ _tag: "DownloadFailed", provider: "p" })
      expect(error.message).toMatch(new RegExp(`^p: could not write ${target}: ENOENT`))
      expect(fs.readdirSync(path.join(dir, "failed"))).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it("names files by their type, and speech formats by the name", () => {
    expect(extensionOf("image/png")).toBe("png")
    expect(extensionOf("audio/wav; codecs=1")).toBe("wav")
    expect(extensionOf("application/x-unknown")).toBe("bin")
    expect(speechFormatOf("talk.MP3")).toBe("mp3")
    expect(speechFormatOf("talk.opus")).toBe("opus")
    expect(speechFormatOf("talk.ogg")).toBe("wav")
    expect(speechFormatOf("talk")).toBe("wav")
  })
})
