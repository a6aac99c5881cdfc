// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package,
// so a report can say where the time goes.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from "node:fs"

const [file, topArg = "25"] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, "utf8"))
const top = Number(topArg)
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map()
const dt = profile.timeDeltas
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const packageOf = (url) => {
  if (url === "") return "(native/vm)"
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/")
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (url.startsWith("node:")) return "node internals"
  const src = url.indexOf("/src/")
  if (src >= 0) return "automarket " + url.slice(src + 1)
  return url.replace(/^.*\//, "")
}

const fns = new Map()
const pkgs = new Map()
for (const [id, us] of self) {
  const node = byId.get(id)
  const { functionName, url, lineNumber } = node.callFrame
  const key = `${functionName || "(anonymous)"} ${packageOf(url)}:${lineNumber + 1}`
  fns.set(key, (fns.get(key) ?? 0) + us)
  const pkg = functionName === "(garbage collector)" ? "(gc)" : functionName === "(idle)" ? "(idle)" : packageOf(url)
  pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us)
}
const pct = (us) => `${((100 * us) / total).toFixed(1)}%`
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`)
console.log("-- by package/file (self time)")
for (const [k, v] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v).padStart(6)}  ${k}`)
console.log("-- by function (self time)")
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v).padStart(6)}  ${k}`)

// Inclusive time by source module: for bundles made by esbuild without minification, each
// module starts with a `// path` comment; every sample counts once for each module on its stack.
const bundleFiles = new Set([...byId.values()].map((n) => n.callFrame.url).filter((u) => u.endsWith(".mjs") && !u.includes("node_modules")))
for (const url of bundleFiles) {
  let text
  try {
    text = readFileSync(new URL(url), "utf8")
  } catch {
    continue
  }
  const starts = []
  text.split("\n").forEach((line, i) => {
    const m = /^\/\/ ((?:src|bench|node_modules)\/\S+)$/.exec(line)
    if (m) starts.push([i, m[1].startsWith("node_modules/") ? m[1].split("/").slice(1, m[1].split("/")[1].startsWith("@") ? 3 : 2).join("/") : m[1]])
  })
  if (starts.length === 0) continue
  const moduleAt = (line) => {
    let lo = 0, hi = starts.length - 1, found = undefined
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid][0] <= line) { found = starts[mid][1]; lo = mid + 1 } else hi = mid - 1 }
    return found
  }
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const inclusive = new Map()
  for (const [id, us] of self) {
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur).callFrame
      if (frame.url !== url) continue
      const mod = moduleAt(frame.lineNumber)
      if (mod !== undefined && mod.startsWith("src/")) seen.add(mod)
    }
    for (const mod of seen) inclusive.set(mod, (inclusive.get(mod) ?? 0) + us)
  }
  console.log(`-- inclusive by source module (${url.replace(/^.*\//, "")})`)
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v).padStart(6)}  ${k}`)
}
