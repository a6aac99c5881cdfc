/**
 * The command line's one file writer: a file is seen whole under its name or not at all, whether
 * the content is written, fails half way, or is interrupted; nothing is left beside it.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { WriteFailed } from "../../src/cli/Errors.js"
import { copyFile, writeAtomically, writeFile } from "../../src/cli/Output.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-output-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const fresh = (name: string) => {
  const folder = fs.mkdtempSync(path.join(dir, `${name}-`))
  return { folder, file: path.join(folder, name) }
}

describe("Output.writeAtomically", () => {
  it.effect("writes the whole file under its name, through a hidden temporary file beside it, creating the folder", () =>
    Effect.gen(function* () {
      const { folder } = fresh("whole")
      const target = path.join(folder, "deeper", "result.txt")
      const seen: Array<string> = []
      const written = yield* writeAtomically(target, (temp) =>
        Effect.sync(() => {
          seen.push(temp)
          fs.writeFileSync(temp, "complete")
          // Not under its name before the content is complete.
          expect(fs.existsSync(target)).toBe(false)
        })
      )
      expect(written).toBe(path.resolve(target))
      expect(fs.readFileSync(target, "utf8")).toBe("complete")
      expect(path.dirname(seen[0]!)).toBe(path.dirname(target))
      expect(path.basename(seen[0]!)).toMatch(/^\.result\.txt\.[0-9a-f]{8}\.part$/)
      expect(fs.readdirSync(path.dirname(target))).toEqual(["result.txt"])
    }))

  it.effect("replaces an existing file only when the new content is complete", () =>
    Effect.gen(function* () {
      const { file, folder } = fresh("replace.txt")
      fs.writeFileSync(file, "old")
      const failed = yield* Effect.exit(
        writeAtomically(file, (temp) => Effect.zipRight(Effect.sync(() => fs.writeFileSync(temp, "half")), Effect.fail("broken")))
      )
      expect(failed).toEqual(Exit.fail("broken"))
      expect(fs.readFileSync(file, "utf8")).toBe("old")
      expect(fs.readdirSync(folder)).toEqual(["replace.txt"])
      yield* writeFile(file, "new")
      expect(fs.readFileSync(file, "utf8")).toBe("new")
      expect(fs.readdirSync(folder)).toEqual(["replace.txt"])
    }))

  it.live("an interrupted write leaves neither the file nor its temporary file", () =>
    Effect.gen(function* () {
      const { file, folder } = fresh("interrupted.bin")
      const fiber = yield* Effect.fork(
        writeAtomically(file, (temp) => Effect.zipRight(Effect.sync(() => fs.writeFileSync(temp, "part of it")), Effect.never))
      )
      while (fs.readdirSync(folder).length === 0) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      expect(fs.readdirSync(folder)).toEqual([])
    }))

  it.effect("a file system error is a WriteFailed naming the file and the reason", () =>
    Effect.gen(function* () {
      const { folder } = fresh("blocked")
      // A file where the folder should be: the folder cannot be created.
      fs.writeFileSync(path.join(folder, "not-a-folder"), "")
      const target = path.join(folder, "not-a-folder", "out.txt")
      const error = yield* Effect.flip(writeFile(target, "x"))
      expect(error).toBeInstanceOf(WriteFailed)
      expect(error.path).toBe(target)
      expect(error.message).toBe(`cannot write ${target}: ${error.reason}`)
      expect(error.reason).toMatch(/^EEXIST/)
      const missing = yield* Effect.flip(copyFile(path.join(folder, "copy.txt"), path.join(folder, "no-such-source")))
      expect(missing.message).toMatch(/ENOENT/)
      expect(fs.readdirSync(folder)).toEqual(["not-a-folder"])
    }))

  it.effect("copies a file whole", () =>
    Effect.gen(function* () {
      const { file, folder } = fresh("source.bin")
      fs.writeFileSync(file, Buffer.from([1, 2, 3]))
      const copy = yield* copyFile(path.join(folder, "copy.bin"), file)
      expect([...fs.readFileSync(copy)]).toEqual([1, 2, 3])
      expect(fs.readdirSync(folder).sort()).toEqual(["copy.bin", "source.bin"])
    }))
})
