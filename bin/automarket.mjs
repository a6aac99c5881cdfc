#!/usr/bin/env node
// The `automarket` command: the bundled CLI, dist/cli-bundle/automarket.mjs (scripts/build.mjs).
// - Installed package (no scripts/ beside bin/): the prebuilt bundle, directly.
// - A clone of the repository: the bundle when it is at least as new as every file under src/;
//   otherwise it is rebuilt on the spot (esbuild, a dev dependency) and, if that fails, the
//   TypeScript sources run through tsx's loader (slower to start).
import { existsSync, readdirSync, statSync } from "node:fs"

const bundle = new URL("../dist/cli-bundle/automarket.mjs", import.meta.url)
const clone = existsSync(new URL("../scripts/build.mjs", import.meta.url)) && existsSync(new URL("../src/cli/main.ts", import.meta.url))

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

let useBundle = true
if (clone) {
  const builtAt = mtimeOf(bundle)
  useBundle = builtAt !== undefined && builtAt >= newestSource()
  if (!useBundle) {
    try {
      const { build } = await import("../scripts/build.mjs")
      await build()
      useBundle = true
    } catch (error) {
      // No esbuild (dev dependencies not installed) or a failed build: run the sources.
      if (process.env.AUTOMARKET_DEBUG) console.error(`automarket: bundle not built: ${error}`)
    }
  }
}

if (useBundle) {
  await import(bundle.href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/cli/main.ts", import.meta.url).href)
}
