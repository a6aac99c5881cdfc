/**
 * The demo's script format: Markdown with one `##` heading a scene. The paragraph under a
 * heading is the narration; an optional `>` line is the picture prompt (default: the heading
 * and the narration). A `#` title names the video.
 *
 * @module
 */
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"

/** The script shipped with the package (beside this module, in the bundle as in the sources). */
export const defaultScriptPath = fileURLToPath(new URL("./default-script.md", import.meta.url))

/** One scene: a heading, what is said, and what is shown. */
export const Scene = Schema.Struct({
  title: Schema.String,
  narration: Schema.String,
  prompt: Schema.String
})
/** One scene: a heading, what is said, and what is shown. */
export type Scene = typeof Scene.Type

/** A parsed script (a schema too: the durable demo keeps it in its journal). */
export const Script = Schema.Struct({
  title: Schema.String,
  scenes: Schema.Array(Scene)
})
/** A parsed script. */
export type Script = typeof Script.Type

/** A script that cannot be used, with what is wrong. */
export class ScriptError extends Schema.TaggedError<ScriptError>()("ScriptError", {
  message: Schema.String
}) {}

const maxNarration = 1_000

/** Parse a script; fails when it has no scene or a scene says nothing. */
export const parse = (markdown: string): Script | ScriptError => {
  let title = "automarket demo"
  const scenes: Array<{ title: string; narration: Array<string>; prompt: Array<string> }> = []
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith("## ")) scenes.push({ title: line.slice(3).trim(), narration: [], prompt: [] })
    else if (line.startsWith("# ")) title = line.slice(2).trim()
    else if (line === "") continue
    else if (scenes.length === 0) continue
    else if (line.startsWith(">")) scenes[scenes.length - 1]!.prompt.push(line.replace(/^>\s*/, ""))
    else scenes[scenes.length - 1]!.narration.push(line)
  }
  if (scenes.length === 0) return new ScriptError({ message: "the script has no scene: start each scene with a '## ' heading" })
  const parsed: Array<Scene> = []
  for (const scene of scenes) {
    const narration = scene.narration.join(" ").replace(/\s+/g, " ").trim()
    if (narration === "") return new ScriptError({ message: `scene "${scene.title}" has no narration` })
    if (narration.length > maxNarration) {
      return new ScriptError({ message: `scene "${scene.title}" narration is over ${maxNarration} characters` })
    }
    const prompt = scene.prompt.join(" ").trim()
    parsed.push({ title: scene.title, narration, prompt: prompt === "" ? `${scene.title}: ${narration}` : prompt })
  }
  return { title, scenes: parsed }
}
