#!/usr/bin/env node
// The `automarket` command. Runs the bundled CLI (dist/automarket.mjs, see scripts/build.mjs)
// when it is at least as new as every file under src/; in a clone with esbuild installed a
// missing or stale bundle is rebuilt on the spot; otherwise the TypeScript sources run through
// tsx's loader (slower to start).
import { readdirSync, statSync } from "node:fs"

const bundle = new URL("../dist/automarket.mjs", import.meta.url)

const mtimeOf = (url) => {
  try {
    return statSync(url).mtimeMs
  } catch {
    return undefined
  }
}

// The newest modification time under src/ (a few ms for the whole tree).
const newestSource = () => {
  const src = new URL("../src/", import.meta.url)
  let newest = 0
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const mtime = mtimeOf(`${entry.parentPath ?? entry.path}/${entry.name}`)
    if (mtime !== undefined && mtime > newest) newest = mtime
  }
  return newest
}

const builtAt = mtimeOf(bundle)
let useBundle = builtAt !== undefined && builtAt >= newestSource()
if (!useBundle) {
  try {
    const { build } = await import("../scripts/build.mjs")
    await build()
    useBundle = true
  } catch (error) {
    // No esbuild (an install without dev dependencies) or a failed build: run the sources.
    if (process.env.AUTOMARKET_DEBUG) console.error(`automarket: bundle not built: ${error}`)
  }
}

if (useBundle) {
  await import(bundle.href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/cli/main.ts", import.meta.url).href)
}
