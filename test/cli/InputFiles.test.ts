/**
 * `readable`: an input file is checked before any provider gets it, and what is wrong with it is
 * said in a few words naming the file. (Permission denied needs a user other than root: the
 * executable's test runs it as `nobody`.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readable } from "../../src/cli/InputFiles.js"
import { Composition, localSources } from "../../src/domain/Composition.js"

const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "automarket-inputfiles-"))),
    f,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

describe("readable", () => {
  it.effect("a regular file (or a link to one) is readable; anything else names the file and why", () =>
    withDir((dir) =>
      Effect.gen(function* () {
        const file = path.join(dir, "a.wav")
        fs.writeFileSync(file, "RIFF")
        fs.symlinkSync(file, path.join(dir, "link.wav"))
        fs.symlinkSync(path.join(dir, "nowhere"), path.join(dir, "dangling.wav"))
        fs.mkdirSync(path.join(dir, "folder"))
        execFileSync("mkfifo", [path.join(dir, "fifo")])
        expect(yield* readable(file)).toBe(file)
        expect(yield* readable(path.join(dir, "link.wav"))).toBe(path.join(dir, "link.wav"))
        const why = (name: string, shown?: string) =>
          Effect.map(Effect.flip(readable(path.join(dir, name), shown)), (error) => error.message)
        expect(yield* why("gone.wav", "gone.wav")).toBe("cannot read gone.wav: not found")
        expect(yield* why("a.wav/inside", "a.wav/inside")).toBe("cannot read a.wav/inside: not found")
        expect(yield* why("dangling.wav", "dangling.wav")).toBe("cannot read dangling.wav: not found")
        expect(yield* why("folder", "folder")).toBe("cannot read folder: is a directory")
        // A FIFO with no writer: refused without opening it (an open would block).
        expect(yield* why("fifo", "fifo")).toBe("cannot read fifo: not a regular file")
        expect(yield* Effect.flip(readable(path.join(dir, "folder")))).toMatchObject({
          _tag: "UnreadableFile",
          path: path.join(dir, "folder"),
          reason: "is a directory"
        })
      })
    ))
})

describe("Composition.localSources", () => {
  it("every clip, image or video overlay and audio track that is not an http(s) URL, each once", () => {
    const composition = Schema.decodeUnknownSync(Composition)({
      clips: [{ src: "/m/a.mp4" }, { src: "https://example.com/b.mp4" }, { src: "/m/a.mp4" }],
      overlays: [{ _tag: "text", text: "hi" }, { _tag: "image", src: "/m/logo.png" }, { _tag: "video", src: "/m/pip.mp4" }],
      audio: { mode: "mix", tracks: [{ src: "/m/music.wav" }, { src: "HTTP://example.com/c.wav" }] }
    })
    expect(localSources(composition)).toEqual(["/m/a.mp4", "/m/logo.png", "/m/pip.mp4", "/m/music.wav"])
  })
})
