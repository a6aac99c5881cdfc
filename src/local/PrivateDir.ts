/**
 * The folders this user's results are written to when no folder is configured: private to the
 * user, never a fixed name shared by every user of the machine.
 *
 * A fixed folder in the shared temp dir (`/tmp/automarket`, `/tmp/automarket-ffmpeg`) fails for
 * the second user of a machine (the first one owns it), and another local user can create it
 * first, or make it a symbolic link to a folder of theirs, and so read or replace every result.
 * The default folders are therefore under the user's own runtime dir (`$XDG_RUNTIME_DIR`, a
 * tmpfs only the user can enter, emptied at logout), else under the user's cache dir
 * (`$XDG_CACHE_HOME`, else `~/.cache`), in `automarket` there; each folder of ours on the way is
 * created with mode 0700, and one found already there is used only if it is a real folder (not
 * a symbolic link) owned by this user, its mode narrowed to 0700 when it was wider. A user with
 * neither (a system user whose home is `/nonexistent`) gets a folder made by `mkdtemp` in the
 * temp dir instead, one a process: a fresh name, mode 0700, that nobody can have made first.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A private folder that cannot be used as one: what it is, and why not. */
export class PrivateDirRefused extends Schema.TaggedError<PrivateDirRefused>()("PrivateDirRefused", {
  /** The folder refused (one of ours on the way to the one asked for). */
  path: Schema.String,
  /** Why: a symbolic link, not a folder, owned by another user, or what the file system said. */
  reason: Schema.String
}) {
  override get message(): string {
    return `refusing the private folder ${this.path}: ${this.reason}`
  }
}

/** The environment variables the root is read from (the process's by default). */
export type Environment = Readonly<Record<string, string | undefined>>

/** A variable's value when it is an absolute path (the XDG rule: a relative one is ignored). */
const absolute = (value: string | undefined): string | undefined =>
  value !== undefined && value !== "" && path.isAbsolute(value) ? value : undefined

/**
 * The user's own folder the private folders go under (not ours: it is the user's, and only
 * checked to exist), and the folder of ours in it.
 */
const baseOf = (env: Environment): { readonly base: string; readonly ours: ReadonlyArray<string> } => {
  const runtime = absolute(env.XDG_RUNTIME_DIR)
  if (runtime !== undefined) return { base: runtime, ours: ["automarket"] }
  const cache = absolute(env.XDG_CACHE_HOME) ?? path.join(absolute(env.HOME) ?? os.homedir(), ".cache")
  // Beside the model catalog's `catalog/` (Catalog's cache dir), in a folder of its own.
  return { base: cache, ours: ["automarket", "tmp"] }
}

/**
 * The root of this user's private folders: `$XDG_RUNTIME_DIR/automarket`, else
 * `$XDG_CACHE_HOME/automarket/tmp`, else `~/.cache/automarket/tmp`. A path only: `ensure`
 * creates and checks it.
 */
export const root = (env: Environment = process.env): string => {
  const { base, ours } = baseOf(env)
  return path.join(base, ...ours)
}

/** The private folder `name` (e.g. `ffmpeg`): `<root>/<name>`. A path only: `ensure` creates and checks it. */
export const pathOf = (name: string, env: Environment = process.env): string => path.join(root(env), name)

/** The user id of this process; undefined where there are none (Windows). */
const uid = (): number | undefined => process.getuid?.()

/**
 * One folder of ours: created with mode 0700 if missing; if it was there, refused unless it is a
 * folder (a symbolic link is not followed) owned by this user; its mode made 0700.
 */
const ensureOne = (dir: string): void => {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (error) {
    if (!(typeof error === "object" && error !== null && "code" in error && error.code === "EEXIST")) throw error
  }
  const stat = fs.lstatSync(dir)
  if (stat.isSymbolicLink()) throw new PrivateDirRefused({ path: dir, reason: "it is a symbolic link" })
  if (!stat.isDirectory()) throw new PrivateDirRefused({ path: dir, reason: "it is not a folder" })
  const me = uid()
  if (me !== undefined && stat.uid !== me) {
    throw new PrivateDirRefused({ path: dir, reason: `it is owned by uid ${stat.uid}, not by this user (uid ${me})` })
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700)
}

// The mkdtemp folder of this process when the user has no base folder (made on first need).
let fallback: string | undefined

/** This process's mkdtemp folder, made again if it was removed. */
const fallbackRoot = (): string => {
  if (fallback === undefined || !fs.existsSync(fallback)) {
    fallback = fs.mkdtempSync(path.join(os.tmpdir(), `automarket-${uid() ?? "user"}-`))
  }
  return fallback
}

/**
 * Create (when missing) and check `dir`, a folder under `root(env)`, and give the folder to write
 * to. The user's base folder is created if missing (it is the user's own); every folder of ours
 * from there down to `dir` goes through the checks above, and `dir` is given. When the base
 * folder cannot be made, the same folders are made under this process's `mkdtemp` folder, which
 * is given instead. A folder outside the root is made as asked, unchecked, and given: it was
 * configured by the user (`AUTOMARKET_DOWNLOAD_DIR`, `FFMPEG_OUTPUT_DIR`, an option).
 */
export const ensure = (dir: string, env: Environment = process.env): Effect.Effect<string, PrivateDirRefused> =>
  Effect.try({
    try: () => {
      const { base, ours } = baseOf(env)
      const relative = path.relative(path.join(base, ...ours), dir)
      if (relative.startsWith("..") || path.isAbsolute(relative)) {
        fs.mkdirSync(dir, { recursive: true })
        return dir
      }
      let current = base
      try {
        fs.mkdirSync(base, { recursive: true, mode: 0o700 })
        // The base of another user (sudo keeps the caller's XDG_RUNTIME_DIR and HOME) is not
        // this user's to write in: the fallback, not a folder the other user would then refuse.
        const me = uid()
        if (me !== undefined && fs.statSync(base).uid !== me) throw new Error(`${base} belongs to another user`)
        for (const part of ours) {
          current = path.join(current, part)
          ensureOne(current)
        }
      } catch (error) {
        if (error instanceof PrivateDirRefused) throw error
        current = fallbackRoot()
      }
      for (const part of relative === "" ? [] : relative.split(path.sep)) {
        current = path.join(current, part)
        ensureOne(current)
      }
      return current
    },
    catch: (error) =>
      error instanceof PrivateDirRefused
        ? error
        : new PrivateDirRefused({ path: dir, reason: error instanceof Error ? error.message : String(error) })
  })
