/**
 * The layout of `src/` as a rule: every import goes down the list of folders below (or stays in
 * its folder), no file takes part in an import cycle, a provider's folder imports no other
 * provider's (only the shared `providers/openai-compatible`), and the local services import
 * nothing of the library's clients. The imports are read from the sources themselves (static
 * imports, `export ... from`, and `import()`), so a new backward edge fails here.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const src = path.resolve(import.meta.dirname, "../src")

/** The folders of `src/`, lowest first: a file may import its own folder and the ones before it. */
const layers = [
  "domain",
  "media",
  "services",
  "resilience",
  "http",
  "local",
  "provider",
  "jobs",
  "providers",
  "registry",
  "telemetry",
  "ai",
  "durable",
  "gateway",
  "cli",
  // index.ts and AutoMarket.ts: the public API and the wired default, on top of everything.
  "."
] as const

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.ts$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : []
  })

const importPattern = /(?:^|[^.\w])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** The relative imports of a file, resolved to files of `src/`. */
const importsOf = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const found: Array<string> = []
  for (const match of text.matchAll(importPattern)) {
    const spec = match[1] ?? match[2]
    if (spec === undefined || !spec.startsWith(".")) continue
    const base = path.resolve(path.dirname(file), spec)
    const candidates = [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, path.join(base, "index.ts")]
    const target = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile())
    if (target === undefined) throw new Error(`${path.relative(src, file)}: cannot resolve ${spec}`)
    if (target.endsWith(".ts")) found.push(target)
  }
  return found
}

const folderOf = (file: string): string => {
  const rel = path.relative(src, file).split(path.sep)
  return rel.length === 1 ? "." : rel[0]!
}

const rank = (file: string): number => {
  const folder = folderOf(file)
  const index = layers.indexOf(folder as (typeof layers)[number])
  if (index === -1) throw new Error(`${path.relative(src, file)}: the folder ${folder} is not in the layout (add it to test/architecture.test.ts)`)
  return index
}

const files = sourceFiles(src)
const graph = new Map(files.map((file) => [file, importsOf(file)]))
const show = (file: string) => path.relative(src, file)

/** The import cycles of the graph: its strongly connected components of more than one file (Tarjan). */
const cycles = (): Array<Array<string>> => {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<Array<string>> = []
  const visit = (file: string) => {
    index.set(file, counter)
    low.set(file, counter)
    counter++
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(file, Math.min(low.get(file)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!))
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== file)
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.map(show).sort())
    }
  }
  for (const file of files) if (!index.has(file)) visit(file)
  return found
}

describe("the layout of src/", () => {
  it("reads the imports of every source file", () => {
    expect(files.length).toBeGreaterThan(50)
    const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0)
    expect(edges).toBeGreaterThan(100)
  })

  it("every folder is in the layout", () => {
    for (const file of files) expect(() => rank(file)).not.toThrow()
  })

  it("has no import cycle", () => {
    expect(cycles()).toEqual([])
  })

  it("imports only go down the layers (or stay in their folder)", () => {
    const backward: Array<string> = []
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const edge = `${show(file)} -> ${show(target)}`
        if (rank(target) > rank(file)) backward.push(edge)
      }
    }
    expect(backward).toEqual([])
  })

  it("a provider imports no other provider, only the shared openai-compatible kit and providers/Manifest.ts", () => {
    const crossing: Array<string> = []
    for (const [file, targets] of graph) {
      const [top, own] = show(file).split(path.sep)
      if (top !== "providers") continue
      for (const target of targets) {
        const [targetTop, other] = show(target).split(path.sep)
        const edge = `${show(file)} -> ${show(target)}`
        const shared = other === "openai-compatible" || other?.endsWith(".ts") === true
        if (targetTop === "providers" && other !== own && !shared) crossing.push(edge)
      }
    }
    expect(crossing).toEqual([])
  })

  it("a local service imports only its kit, media/ and domain/ (and no other service)", () => {
    const crossing: Array<string> = []
    for (const [file, targets] of graph) {
      const [top, own] = show(file).split(path.sep)
      if (top !== "services") continue
      for (const target of targets) {
        const [targetTop, other] = show(target).split(path.sep)
        const allowed =
          targetTop === "domain" ||
          targetTop === "media" ||
          (targetTop === "services" && (other === own || other === "kit" || own?.endsWith(".ts") === true))
        const edge = `${show(file)} -> ${show(target)}`
        if (!allowed) crossing.push(edge)
      }
    }
    expect(crossing).toEqual([])
  })

  it("finds a backward edge when there is one (the check is not empty)", () => {
    const provider = files.find((file) => show(file) === path.join("providers", "together", "TogetherProvider.ts"))
    const registry = files.find((file) => folderOf(file) === "registry")
    expect(provider).toBeDefined()
    expect(registry).toBeDefined()
    expect(rank(registry!) > rank(provider!)).toBe(true)
  })
})
