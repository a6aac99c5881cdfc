/**
 * Inputs for a remote model: a URL is sent as is, bytes and files as a data URI, and anything over
 * the inline limit (or unreadable) is InvalidInput before any request; unset options are left out.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { BytesSource, FileSource, UrlSource } from "../../src/domain/Asset.js"
import { definedFields, inputUrlOf, maxInlineBytes } from "../../src/jobs/Inputs.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-inputs-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("Inputs", () => {
  it.effect("a URL as is; bytes and a file as a data URI of their media type", () =>
    Effect.gen(function* () {
      expect(yield* inputUrlOf("emu", new UrlSource({ url: "https://example.invalid/cat.png" }), "image/png")).toBe("https://example.invalid/cat.png")
      expect(yield* inputUrlOf("emu", new BytesSource({ bytes: new Uint8Array([1, 2, 3]) }), "image/png")).toBe("data:image/png;base64,AQID")
      const file = path.join(dir, "a.wav")
      fs.writeFileSync(file, "RIFF")
      expect(yield* inputUrlOf("emu", new FileSource({ path: file }), "audio/wav")).toBe(`data:audio/wav;base64,${Buffer.from("RIFF").toString("base64")}`)
    }))

  it.effect("too large to inline, or unreadable, is InvalidInput", () =>
    Effect.gen(function* () {
      const large = yield* Effect.flip(inputUrlOf("emu", new BytesSource({ bytes: new Uint8Array(maxInlineBytes + 1) }), "image/png"))
      expect(large).toMatchObject({ _tag: "InvalidInput", issues: ["input too large to inline"] })
      const gone = yield* Effect.flip(inputUrlOf("emu", new FileSource({ path: path.join(dir, "missing.wav") }), "audio/wav"))
      expect(gone).toMatchObject({ _tag: "InvalidInput", issues: ["input file unreadable"] })
    }))

  it("unset options are left out of the input", () => {
    expect(definedFields({ prompt: "x", seed: undefined, steps: 0 })).toEqual({ prompt: "x", steps: 0 })
  })
})
