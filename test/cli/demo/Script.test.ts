import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse, ScriptError } from "../../../src/cli/demo/Script.js"

describe("demo script", () => {
  it("parses the default script into scenes with narration and prompts", () => {
    const script = parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../../src/cli/demo/default-script.md"), "utf8"))
    expect(script).not.toBeInstanceOf(ScriptError)
    if (script instanceof ScriptError) return
    expect(script.title).toBe("automarket")
    expect(script.scenes.map((s) => s.title)).toEqual(["One door", "Local first", "When things fail"])
    expect(script.scenes[0]!.narration).toBe("Every media service you use is behind one door.")
    expect(script.scenes[0]!.prompt).toMatch(/glowing doorway/)
  })

  it("defaults the prompt to the heading and narration; joins wrapped lines", () => {
    const script = parse("## Hello\nfirst line\nsecond line\n")
    expect(script).toEqual({ title: "automarket demo", scenes: [{ title: "Hello", narration: "first line second line", prompt: "Hello: first line second line" }] })
  })

  it("rejects a script without scenes or with a silent scene", () => {
    expect(parse("just text")).toBeInstanceOf(ScriptError)
    expect(parse("## Empty\n> only a prompt\n")).toMatchObject({ message: 'scene "Empty" has no narration' })
  })
})
