/**
 * The user's private folders (issue 13, Low 9): the defaults results are written to are under the
 * user's own runtime or cache dir, not fixed names of the shared temp dir; every folder of ours
 * on the way is made 0700; one found already there is refused when it is a symbolic link or
 * belongs to another user (shown, when the test runs as root, with a folder chowned to `nobody`,
 * uid 65534), so another local user can neither pre-create nor redirect them.
 */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Settings from "../../src/jobs/Settings.js"
import * as PrivateDir from "../../src/local/PrivateDir.js"
import * as ChatterboxConfig from "../../src/providers/chatterbox/ChatterboxConfig.js"
import * as FFmpegConfig from "../../src/providers/ffmpeg/FFmpegConfig.js"

const nobody = 65534
const asRoot = process.getuid?.() === 0

let scratch: string
let runtime: string
const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, TMPDIR: process.env.TMPDIR }

beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-privatedir-"))
  runtime = path.join(scratch, "run")
  fs.mkdirSync(runtime, { mode: 0o700 })
})
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  fs.rmSync(scratch, { recursive: true, force: true })
})

const modeOf = (dir: string) => fs.statSync(dir).mode & 0o777

describe("PrivateDir", () => {
  it("the root is the user's: $XDG_RUNTIME_DIR/automarket, else $XDG_CACHE_HOME/automarket/tmp, else ~/.cache/automarket/tmp", () => {
    expect(PrivateDir.root({ XDG_RUNTIME_DIR: "/run/user/1000", HOME: "/home/a" })).toBe("/run/user/1000/automarket")
    expect(PrivateDir.root({ XDG_CACHE_HOME: "/home/a/cache", HOME: "/home/a" })).toBe("/home/a/cache/automarket/tmp")
    expect(PrivateDir.root({ HOME: "/home/b" })).toBe("/home/b/.cache/automarket/tmp")
    // Relative XDG values are ignored, as the XDG rules say.
    expect(PrivateDir.root({ XDG_RUNTIME_DIR: "run", XDG_CACHE_HOME: "cache", HOME: "/home/b" })).toBe("/home/b/.cache/automarket/tmp")
    expect(PrivateDir.pathOf("ffmpeg", { HOME: "/home/b" })).toBe("/home/b/.cache/automarket/tmp/ffmpeg")
  })

  it("the defaults of the ffmpeg and chatterbox providers and of job downloads are private folders, none in the shared temp dir", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        process.env.XDG_RUNTIME_DIR = runtime
        process.env.TMPDIR = scratch
        const defaults = [FFmpegConfig.defaultOutputDir(), ChatterboxConfig.defaultOutputDir(), yield* Settings.downloadDir]
        expect(defaults).toEqual([
          path.join(runtime, "automarket", "ffmpeg"),
          path.join(runtime, "automarket", "chatterbox"),
          path.join(runtime, "automarket", "downloads")
        ])
        // Before: <tmp>/automarket-ffmpeg, <tmp>/automarket/chatterbox, <tmp>/automarket.
        for (const dir of defaults) expect(dir.startsWith(path.join(os.tmpdir(), "automarket"))).toBe(false)
      })
    ))

  it.effect("ensure makes every folder of ours 0700 (the cache folder too), and again on the next call", () =>
    Effect.gen(function* () {
      const env = { HOME: path.join(scratch, "home") }
      const dir = PrivateDir.pathOf("downloads", env)
      expect(yield* PrivateDir.ensure(dir, env)).toBe(dir)
      expect(yield* PrivateDir.ensure(dir, env)).toBe(dir)
      const cache = path.join(scratch, "home", ".cache")
      for (const folder of [path.join(cache, "automarket"), path.join(cache, "automarket", "tmp"), dir]) {
        expect(modeOf(folder)).toBe(0o700)
      }
    }))

  it.effect("a folder of ours found with a wider mode is narrowed to 0700", () =>
    Effect.gen(function* () {
      const env = { XDG_RUNTIME_DIR: runtime }
      fs.mkdirSync(path.join(runtime, "automarket"))
      fs.chmodSync(path.join(runtime, "automarket"), 0o777)
      yield* PrivateDir.ensure(PrivateDir.pathOf("ffmpeg", env), env)
      expect(modeOf(path.join(runtime, "automarket"))).toBe(0o700)
    }))

  it.effect("a symbolic link in its place (to a folder of another user's choosing) is refused, and nothing is made through it", () =>
    Effect.gen(function* () {
      const env = { XDG_RUNTIME_DIR: runtime }
      const elsewhere = path.join(scratch, "elsewhere")
      fs.mkdirSync(elsewhere)
      fs.symlinkSync(elsewhere, path.join(runtime, "automarket"))
      const refused = yield* Effect.flip(PrivateDir.ensure(PrivateDir.pathOf("ffmpeg", env), env))
      expect(refused).toMatchObject({ _tag: "PrivateDirRefused", path: path.join(runtime, "automarket"), reason: "it is a symbolic link" })
      expect(fs.readdirSync(elsewhere)).toEqual([])
      // A link further down is refused the same way.
      fs.unlinkSync(path.join(runtime, "automarket"))
      fs.mkdirSync(path.join(runtime, "automarket"), { mode: 0o700 })
      fs.symlinkSync(elsewhere, path.join(runtime, "automarket", "ffmpeg"))
      expect((yield* Effect.flip(PrivateDir.ensure(PrivateDir.pathOf("ffmpeg", env), env))).reason).toBe("it is a symbolic link")
      // And a file is not a folder.
      fs.writeFileSync(path.join(runtime, "automarket", "downloads"), "")
      expect((yield* Effect.flip(PrivateDir.ensure(PrivateDir.pathOf("downloads", env), env))).reason).toBe("it is not a folder")
    }))

  it.effect.skipIf(!asRoot)("a folder of ours owned by another user (nobody, uid 65534) is refused, and nothing is made in it", () =>
    Effect.gen(function* () {
      const env = { XDG_RUNTIME_DIR: runtime }
      const planted = path.join(runtime, "automarket")
      fs.mkdirSync(planted)
      fs.chmodSync(planted, 0o777)
      fs.chownSync(planted, nobody, nobody)
      const refused = yield* Effect.flip(PrivateDir.ensure(PrivateDir.pathOf("downloads", env), env))
      expect(refused.path).toBe(planted)
      expect(refused.message).toBe(`refusing the private folder ${planted}: it is owned by uid ${nobody}, not by this user (uid 0)`)
      expect(fs.readdirSync(planted)).toEqual([])
      expect(modeOf(planted)).toBe(0o777)
    }))

  it.effect("a user with no base folder (a home that cannot hold one) gets a mkdtemp folder of this process in the temp dir, 0700", () =>
    Effect.gen(function* () {
      process.env.TMPDIR = scratch
      fs.writeFileSync(path.join(scratch, "not-a-home"), "")
      const env = { HOME: path.join(scratch, "not-a-home") }
      const ffmpeg = yield* PrivateDir.ensure(PrivateDir.pathOf("ffmpeg", env), env)
      const downloads = yield* PrivateDir.ensure(PrivateDir.pathOf("downloads", env), env)
      const made = path.dirname(ffmpeg)
      expect(path.dirname(made)).toBe(scratch)
      expect(path.basename(made)).toMatch(new RegExp(`^automarket-${process.getuid?.() ?? "user"}-.{6}$`))
      expect([path.basename(ffmpeg), downloads]).toEqual(["ffmpeg", path.join(made, "downloads")])
      for (const folder of [made, ffmpeg, downloads]) expect(modeOf(folder)).toBe(0o700)
    }))

  it.effect.skipIf(!asRoot)("a base folder of another user (sudo keeps the caller's XDG_RUNTIME_DIR) is not written in: the mkdtemp folder instead", () =>
    Effect.gen(function* () {
      process.env.TMPDIR = scratch
      fs.chownSync(runtime, nobody, nobody)
      const env = { XDG_RUNTIME_DIR: runtime }
      const dir = yield* PrivateDir.ensure(PrivateDir.pathOf("ffmpeg", env), env)
      expect(path.dirname(path.dirname(dir))).toBe(scratch)
      expect(fs.readdirSync(runtime)).toEqual([])
    }))

  it.effect("a folder outside the private root (configured by the user) is made as asked, unchecked", () =>
    Effect.gen(function* () {
      const env = { XDG_RUNTIME_DIR: runtime }
      const mine = path.join(scratch, "results", "here")
      expect(yield* PrivateDir.ensure(mine, env)).toBe(mine)
      expect(fs.statSync(mine).isDirectory()).toBe(true)
    }))
})
