#!/usr/bin/env node
// The `automarket` command: the bundled CLI, dist/cli-bundle/automarket.cjs (scripts/build.mjs),
// compiled with a V8 code cache, so that a start does not parse and compile megabytes of bundled
// Effect again.
// - Installed package (no scripts/ beside bin/): the prebuilt bundle, directly.
// - A clone of the repository: the bundle when it is at least as new as every file under src/;
//   otherwise it is rebuilt on the spot (esbuild, a dev dependency) and, if that fails, the
//   TypeScript sources run through tsx's loader (slower to start).
//
// Two caches, both kept next to the bundle (or, where that folder is read-only, in
// $XDG_CACHE_HOME/automarket/, else ~/.cache/automarket/), both written by a run that found
// none (atomically: a temporary file renamed into place) and both ignored unless they name the
// bundle they were made from (its size, modification time and inode) and this V8 and CPU:
// - the code cache (`automarket.cjs.code-cache`): V8's compiled code of the bundle, produced when
//   the first run exits, so it holds the functions that run used as well;
// - the printed pages (`automarket.cjs.pages.json`): what `--help` (of any command), `--version`
//   and `--completions SHELL` printed, keyed by the arguments and by the two inputs that decide
//   the styling (stdout a terminal, NO_COLOR set), so a second `automarket --help` prints it
//   without loading the bundle at all. Nothing is stored for a run that failed or wrote on
//   stderr, and only arguments made of command names are keys (never user-supplied values).
// AUTOMARKET_CODE_CACHE=0 turns both off (every run compiles and evaluates the bundle).
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { homedir } from "node:os"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import vm from "node:vm"

const bundle = fileURLToPath(new URL("../dist/cli-bundle/automarket.cjs", import.meta.url))
const clone = existsSync(new URL("../scripts/build.mjs", import.meta.url)) && existsSync(new URL("../src/cli/main.ts", import.meta.url))
const cachesOn = process.env.AUTOMARKET_CODE_CACHE !== "0"

const mtimeOf = (file) => {
  try {
    return statSync(file).mtimeMs
  } catch {
    return undefined
  }
}

// The newest modification time under src/ (a few ms for the whole tree).
const newestSource = () => {
  const src = fileURLToPath(new URL("../src/", import.meta.url))
  let newest = 0
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const mtime = mtimeOf(path.join(entry.parentPath ?? entry.path, entry.name))
    if (mtime !== undefined && mtime > newest) newest = mtime
  }
  return newest
}

/** What a cache must name to be used: this build of the bundle, this V8, this CPU. */
const stampOf = (stat) => `${stat.size}:${stat.mtimeMs}:${stat.ino}:${process.versions.v8}:${process.arch}`

// Where the caches are: beside the bundle, else in the user's cache folder (one per bundle path,
// so two installs do not take each other's).
const fallbackDir = () => {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache")
  let hash = 0x811c9dc5 // FNV-1a of the bundle's path: a short, stable folder name
  for (let i = 0; i < bundle.length; i++) hash = Math.imul(hash ^ bundle.charCodeAt(i), 0x01000193) >>> 0
  return path.join(base, "automarket", hash.toString(16).padStart(8, "0"))
}
const cacheFiles = (name) => [`${bundle}.${name}`, () => path.join(fallbackDir(), `${path.basename(bundle)}.${name}`)]

/** The first of the cache's places that can be read, or undefined. */
const readCache = (name) => {
  for (const place of cacheFiles(name)) {
    try {
      return readFileSync(typeof place === "string" ? place : place())
    } catch {
      // not there (or unreadable): the next place
    }
  }
  return undefined
}

/** Write the cache into the first of its places that takes it, atomically; a cache that cannot be written is no error. */
const writeCache = (name, data) => {
  for (const place of cacheFiles(name)) {
    const file = typeof place === "string" ? place : place()
    const temporary = `${file}.${process.pid}.tmp`
    try {
      mkdirSync(path.dirname(file), { recursive: true })
      writeFileSync(temporary, data)
      renameSync(temporary, file)
      return
    } catch {
      rmSync(temporary, { force: true })
    }
  }
}

/**
 * The code cache file: a first line, the stamp and what kind of run made it, then V8's data.
 * A run that printed a page (`printing`) compiled little beyond the parser; the first run of a
 * real command (`command`) replaces such a cache once, with the code commands share.
 */
const codeCacheOf = (stamp) => {
  const file = readCache("code-cache")
  const newline = file?.indexOf(10) ?? -1
  if (newline <= 0) return undefined
  const [fileStamp, kind] = file.toString("latin1", 0, newline).split(" ")
  return fileStamp === stamp ? { data: file.subarray(newline + 1), kind } : undefined
}

/**
 * The key of a run whose whole answer is printed text fixed by the bundle: `--version`,
 * `--completions SHELL`, or command names followed by `--help`/`-h`; with the inputs that decide
 * its styling. Undefined for any other run.
 */
const pageKey = (args) => {
  const printing =
    (args.length === 1 && args[0] === "--version") ||
    (args.length === 2 && args[0] === "--completions" && ["bash", "fish", "zsh", "sh"].includes(args[1])) ||
    (args.length >= 1 && args.length <= 4 && ["--help", "-h"].includes(args.at(-1)) && args.slice(0, -1).every((arg) => /^[a-z][a-z0-9-]*$/.test(arg)))
  if (!printing) return undefined
  return JSON.stringify([args, process.stdout.isTTY === true, (process.env.NO_COLOR ?? "") !== ""])
}

/**
 * Whether `page` is the answer to `args` and to nothing else: a help page must be the help of the
 * command the last word names (its usage line, `$ NAME ...`), since a word that is no command
 * (`automarket speak some-text --help`) gets the help of another one, and must not become a key.
 */
const answersFor = (args, page) => {
  if (args[0] === "--version" || args[0] === "--completions") return true
  const name = args.length === 1 ? "automarket" : args.at(-2)
  return page.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "").split("\n").some((line) => line === `$ ${name}` || line.startsWith(`$ ${name} `))
}

/** The printed pages of this bundle (an empty set when the file is missing, stale or unreadable). */
const pagesOf = (stamp) => {
  try {
    const pages = JSON.parse(readCache("pages.json")?.toString("utf8") ?? "null")
    return pages?.stamp === stamp && typeof pages.printed === "object" ? pages.printed : {}
  } catch {
    return {}
  }
}

// Keep what this run prints on stdout, and whether it wrote on stderr at all; passed on unchanged.
const recordOutput = () => {
  const record = { stdout: "", stderr: false }
  const stdoutWrite = process.stdout.write
  const stderrWrite = process.stderr.write
  process.stdout.write = function (chunk, ...rest) {
    record.stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8")
    return stdoutWrite.call(this, chunk, ...rest)
  }
  process.stderr.write = function (...args) {
    record.stderr = true
    return stderrWrite.apply(this, args)
  }
  return record
}

/** Run the bundle: a function expression (require, module, exports, __filename, __dirname, its URL). */
const runBundle = () => {
  const fd = openSync(bundle, "r")
  let stamp, key, source
  try {
    // Stat and text of the same file, even when a build renames a new bundle into place meanwhile.
    stamp = stampOf(fstatSync(fd))
    key = cachesOn ? pageKey(process.argv.slice(2)) : undefined
    const page = key === undefined ? undefined : pagesOf(stamp)[key]
    if (typeof page === "string") return void process.stdout.write(page)
    source = readFileSync(fd, "latin1") // esbuild writes ASCII only (charset: "ascii")
  } finally {
    closeSync(fd)
  }
  compileAndRun(source, stamp, key)
}

/** Compile the bundle (with the code cache when there is a valid one), run it, and fill the caches on exit. */
const compileAndRun = (source, stamp, key) => {
  const cached = cachesOn ? codeCacheOf(stamp) : undefined
  const script = new vm.Script(source, {
    filename: bundle,
    cachedData: cached?.data,
    // The bundle's import() of what it does not hold goes to Node's own loader, as in a module.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  })
  const record = key === undefined ? undefined : recordOutput()
  if (cachesOn) {
    const kind = key === undefined ? "command" : "printing"
    const renew = cached === undefined || script.cachedDataRejected === true || (cached.kind === "printing" && kind === "command")
    process.once("exit", (code) => {
      // Produced after the run, so that it holds the functions the run compiled, not only the top level.
      if (renew) writeCache("code-cache", Buffer.concat([Buffer.from(`${stamp} ${kind}\n`, "latin1"), script.createCachedData()]))
      if (record !== undefined && code === 0 && !record.stderr && record.stdout !== "" && answersFor(process.argv.slice(2), record.stdout)) {
        writeCache("pages.json", JSON.stringify({ stamp, printed: { ...pagesOf(stamp), [key]: record.stdout } }))
      }
    })
  }
  const module = { exports: {} }
  script.runInThisContext()(createRequire(bundle), module, module.exports, bundle, path.dirname(bundle), pathToFileURL(bundle).href)
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
  runBundle()
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(new URL("../src/cli/main.ts", import.meta.url).href)
}
