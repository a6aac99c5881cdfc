/**
 * bin/automarket.mjs as an installed package runs it: the prebuilt bundle compiled with V8's code
 * cache, and `--help`/`--version`/`--completions` printed again from the page the first run
 * printed. The caches must never change what the command prints or does: a page is the bytes the
 * bundle printed, a cache that names another bundle (or is garbage) is not used, a word that is
 * no command name is never a key, and a package folder the user cannot write still runs, with the
 * caches in the user's cache folder.
 *
 * The package is a copy of bin/ and dist/cli-bundle/ (no scripts/ or src/ beside them, as
 * installed) with the repository's node_modules linked in for what the bundle leaves out.
 * Read-only: permission bits do not stop root, so that run is made as the user `nobody`
 * (uid/gid 65534) when the test runs as root; run as anyone else, the folder's mode alone does it.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Ran, run } from "../support/Run.js"

const root = path.resolve(import.meta.dirname, "../..")
const nobody = 65534

let work: string
let pkg: string
let bundleDir: string
let bin: string

const exec = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "", AUTOMARKET_CODE_CACHE: "", ...env }, timeout: 90_000 })

const cacheFile = (dir: string, name: string) => path.join(dir, `automarket.cjs.${name}`)

/** The first line of a code cache file: the bundle and V8 it was made for, and the kind of run that made it. */
const headerOf = (file: string) => {
  const data = fs.readFileSync(file)
  return data.subarray(0, data.indexOf(10)).toString("latin1")
}

/** What a cache made for `bundle` by this Node names. */
const stampOf = (bundle: string) => {
  const stat = fs.statSync(bundle)
  return `${stat.size}:${stat.mtimeMs}:${stat.ino}:${process.versions.v8}:${process.arch}`
}

beforeAll(async () => {
  // The bundle as `npm run build` makes it; bin/automarket.mjs (the clone) builds it when stale.
  const built = await run(process.execPath, [path.join(root, "bin", "automarket.mjs"), "--version"], { timeout: 120_000 })
  expect(built.status, built.stderr).toBe(0)
  work = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-loader-"))
  fs.chmodSync(work, 0o755)
  pkg = path.join(work, "automarket")
  bundleDir = path.join(pkg, "dist", "cli-bundle")
  bin = path.join(pkg, "bin", "automarket.mjs")
  fs.mkdirSync(path.join(pkg, "bin"), { recursive: true })
  fs.copyFileSync(path.join(root, "bin", "automarket.mjs"), bin)
  fs.copyFileSync(path.join(root, "package.json"), path.join(pkg, "package.json"))
  fs.cpSync(path.join(root, "dist", "cli-bundle"), bundleDir, {
    recursive: true,
    filter: (source) => !/automarket\.cjs\./.test(source) && !/automarket(-chunk-.*)?\.mjs$/.test(source)
  })
  fs.symlinkSync(path.join(root, "node_modules"), path.join(pkg, "node_modules"), "dir")
}, 180_000)

afterAll(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
})

describe("bin/automarket.mjs in an installed package", () => {
  it("the first --help writes the code cache and the page beside the bundle; the next prints that page, byte for byte", async () => {
    const first = await exec(["--help"])
    expect(first.status, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/USAGE/)
    expect(fs.existsSync(cacheFile(bundleDir, "code-cache"))).toBe(true)
    expect(headerOf(cacheFile(bundleDir, "code-cache"))).toBe(`${stampOf(path.join(bundleDir, "automarket.cjs"))} printing`)
    const pages = JSON.parse(fs.readFileSync(cacheFile(bundleDir, "pages.json"), "utf8"))
    expect(Object.values(pages.printed)).toEqual([first.stdout])

    const second = await exec(["--help"])
    expect(second).toEqual(first)

    // The second run printed the stored page, not the bundle's work: a page changed on disk is what is printed.
    const key = Object.keys(pages.printed)[0]!
    fs.writeFileSync(cacheFile(bundleDir, "pages.json"), JSON.stringify({ ...pages, printed: { [key]: "from the page\n" } }))
    expect((await exec(["--help"])).stdout).toBe("from the page\n")
    // Another styling is another page: NO_COLOR set is not the page above.
    const noColor = await exec(["--help"], { NO_COLOR: "1" })
    expect(noColor.stdout).toBe(first.stdout)
    fs.writeFileSync(cacheFile(bundleDir, "pages.json"), JSON.stringify(pages))
  })

  it("every printing command answers the same through the caches as without them", async () => {
    for (const args of [["--version"], ["--completions", "bash"], ["providers", "--help"], ["jobs", "--help"], ["serve", "--help"], ["-h"]]) {
      const plain = await exec(args, { AUTOMARKET_CODE_CACHE: "0" })
      expect(plain.status, plain.stderr).toBe(0)
      expect(plain.stdout.length).toBeGreaterThan(0)
      const first = await exec(args)
      const second = await exec(args)
      expect(first).toEqual(plain)
      expect(second).toEqual(plain)
    }
  })

  it("words that are not commands are never keys", async () => {
    const before = fs.readFileSync(cacheFile(bundleDir, "pages.json"), "utf8")
    // Words that are no command get another command's help (the root's, speak's): not stored under them.
    for (const args of [["nope", "--help"], ["speak", "secret-text", "--help"]]) {
      const ran = await exec(args)
      expect(ran.status, ran.stderr).toBe(0)
      expect(ran.stdout).toMatch(/USAGE/)
    }
    const after = fs.readFileSync(cacheFile(bundleDir, "pages.json"), "utf8")
    expect(after).toBe(before)
    expect(Object.keys(JSON.parse(after).printed).join(" ")).not.toMatch(/nope|secret/)
  })

  it("a real command replaces the cache a printing run made, once; garbage in the cache is rejected and replaced", async () => {
    const file = cacheFile(bundleDir, "code-cache")
    const stamp = stampOf(path.join(bundleDir, "automarket.cjs"))
    for (const name of ["code-cache", "pages.json"]) fs.rmSync(cacheFile(bundleDir, name), { force: true })
    expect((await exec(["--help"])).status).toBe(0)
    expect(headerOf(file)).toBe(`${stamp} printing`)
    const first = await exec(["providers", "--json"])
    expect(first.status, first.stderr).toBe(0)
    const ids = (JSON.parse(first.stdout) as ReadonlyArray<{ id: string }>).map((provider) => provider.id)
    expect(ids).toContain("ffmpeg")
    expect(headerOf(file)).toBe(`${stamp} command`)
    const written = fs.statSync(file).mtimeMs
    expect((await exec(["providers", "--json"])).status).toBe(0)
    expect(fs.statSync(file).mtimeMs).toBe(written)

    fs.writeFileSync(file, Buffer.concat([Buffer.from(`${stamp} command\n`), Buffer.alloc(4096, 7)]))
    const again = await exec(["providers", "--json"])
    expect(again.status, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as ReadonlyArray<{ id: string }>).map((provider) => provider.id)).toEqual(ids)
    expect(headerOf(file)).toBe(`${stamp} command`)
    expect(fs.statSync(file).size).toBeGreaterThan(4096 + stamp.length + 9)
  })

  it("a changed bundle makes both caches stale: they are not used, and are rewritten for the new one", async () => {
    const bundle = path.join(bundleDir, "automarket.cjs")
    const pages = JSON.parse(fs.readFileSync(cacheFile(bundleDir, "pages.json"), "utf8"))
    fs.writeFileSync(
      cacheFile(bundleDir, "pages.json"),
      JSON.stringify({ ...pages, printed: Object.fromEntries(Object.keys(pages.printed).map((key) => [key, "stale page\n"])) })
    )
    fs.appendFileSync(bundle, "\n// rebuilt\n")
    const help = await exec(["--help"])
    expect(help.status, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/USAGE/)
    const stamp = stampOf(bundle)
    expect(headerOf(cacheFile(bundleDir, "code-cache"))).toBe(`${stamp} printing`)
    const rewritten = JSON.parse(fs.readFileSync(cacheFile(bundleDir, "pages.json"), "utf8"))
    expect(rewritten.stamp).toBe(stamp)
    expect(Object.values(rewritten.printed)).toEqual([help.stdout])
  })

  it("AUTOMARKET_CODE_CACHE=0 reads and writes no cache", async () => {
    for (const name of ["code-cache", "pages.json"]) fs.rmSync(cacheFile(bundleDir, name), { force: true })
    const ran = await exec(["--version"], { AUTOMARKET_CODE_CACHE: "0" })
    expect(ran.status, ran.stderr).toBe(0)
    expect(fs.readdirSync(bundleDir).filter((file) => file.startsWith("automarket.cjs."))).toEqual([])
  })

  it("a package folder the user cannot write: the caches go to $XDG_CACHE_HOME/automarket/", async () => {
    for (const name of ["code-cache", "pages.json"]) fs.rmSync(cacheFile(bundleDir, name), { force: true })
    const cacheHome = path.join(work, "cache-home")
    fs.mkdirSync(cacheHome, { mode: 0o777 })
    fs.chmodSync(cacheHome, 0o777)
    fs.chmodSync(bundleDir, 0o555)
    const asRoot = process.getuid?.() === 0
    const execReadOnly = (args: ReadonlyArray<string>) =>
      new Promise<Ran>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, ...args], {
          env: { PATH: process.env.PATH, HOME: cacheHome, XDG_CACHE_HOME: cacheHome, NO_COLOR: "" },
          stdio: ["ignore", "pipe", "pipe"],
          ...(asRoot ? { uid: nobody, gid: nobody } : {})
        })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
        child.on("error", reject)
        child.on("close", (status) => resolve({ status, stdout, stderr }))
      })
    try {
      const first = await execReadOnly(["--help"])
      expect(first.status, first.stderr).toBe(0)
      expect(first.stdout).toMatch(/USAGE/)
      expect(fs.readdirSync(bundleDir).filter((file) => file.startsWith("automarket.cjs."))).toEqual([])
      const [folder, ...others] = fs.readdirSync(path.join(cacheHome, "automarket"))
      expect(others).toEqual([])
      expect(fs.readdirSync(path.join(cacheHome, "automarket", folder!)).sort()).toEqual(["automarket.cjs.code-cache", "automarket.cjs.pages.json"])
      const second = await execReadOnly(["--help"])
      expect(second).toEqual(first)
    } finally {
      fs.chmodSync(bundleDir, 0o755)
    }
  })
})
