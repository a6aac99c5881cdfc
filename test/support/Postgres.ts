/**
 * A throwaway PostgreSQL server for many-node tests: Debian's server binaries (the newest
 * `/usr/lib/postgresql/<version>/bin`; `bash scripts/ensure.sh` installs them), a temporary data
 * directory, a free port on 127.0.0.1, trust authentication for the user `am`, and a database
 * `automarket`. There is no systemd here: the server is started with `pg_ctl`, as the `postgres`
 * user when the tests run as root (PostgreSQL refuses to run as root), and `stop()` shuts it down
 * (`pg_ctl stop -m fast`) and removes its directory. `fsync` is off: nothing here is worth keeping.
 *
 * `startPostgres` is the harness; `postgres` is the same as a scoped Effect (stopped with the scope).
 * A worker that exits without calling `stop` still takes its server down (an immediate shutdown
 * from the process's exit hook), so no server outlives the test run.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { freePort } from "./Ports.js"

/** A running throwaway server. */
export interface RunningPostgres {
  /** `postgres://am@127.0.0.1:PORT/automarket`: the database `automarket`, user `am`, no password. */
  readonly url: string
  readonly port: number
  /** The server's data directory (removed by `stop`). */
  readonly dataDir: string
  /** The postmaster's process id. */
  readonly pid: number
  /** Shut the server down (fast: open sessions are ended) and remove its directory. Idempotent. */
  readonly stop: () => Promise<void>
}

/** Where Debian keeps one directory of server binaries per major version. */
export const debianRoot = "/usr/lib/postgresql"

/** The newest `<root>/<version>/bin` that holds `pg_ctl`, or undefined when there is none. */
export const serverBinaries = (root: string = debianRoot): string | undefined => {
  const versions = fs.existsSync(root) ? fs.readdirSync(root) : []
  const present = versions.filter((version) => fs.existsSync(path.join(root, version, "bin", "pg_ctl")))
  const newest = present.sort(compareVersions).at(-1)
  return newest === undefined ? undefined : path.join(root, newest, "bin")
}

/** Order version names by their numeric parts: `9.6` < `15` < `16`. */
export const compareVersions = (a: string, b: string): number => {
  const left = a.split(/\D+/).filter((part) => part !== "").map(Number)
  const right = b.split(/\D+/).filter((part) => part !== "").map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return difference
  }
  return a < b ? -1 : a > b ? 1 : 0
}

/** How long the server may take to accept connections. */
const readyWithinMs = 30_000

const run = (file: string, args: ReadonlyArray<string>, cwd: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd, timeout: 90_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${path.basename(file)} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`.trim()))
      else resolve(stdout)
    })
  })


const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Whether process `pid` runs: it takes signals and is no zombie (an exited postmaster is nobody's
 * child once pg_ctl has gone, and a PID 1 that does not reap leaves it in the process table).
 */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // /proc/<pid>/stat: "pid (name) state ..."; the name may hold spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true
  }
}

/**
 * Start a throwaway server (see the module's comment) and wait until it accepts connections and
 * holds the database `automarket`. Fails, leaving nothing behind, when there are no server
 * binaries or the server does not come up within 30 s (the server's log is in the message).
 */
export const startPostgres = async (): Promise<RunningPostgres> => {
  const bin = serverBinaries()
  if (bin === undefined) {
    throw new Error(`no PostgreSQL server binaries in ${debianRoot}/<version>/bin (bash scripts/ensure.sh installs Debian's postgresql)`)
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-pg-"))
  const dataDir = path.join(root, "data")
  const log = path.join(root, "server.log")
  const asRoot = process.getuid?.() === 0
  // The server's own commands run as `postgres` under root; client commands run as we are.
  const server = (tool: string, args: ReadonlyArray<string>) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args], root) : run(path.join(bin, tool), args, root)
  const client = (tool: string, args: ReadonlyArray<string>) => run(path.join(bin, tool), args, root)

  let started = false
  let pid = 0
  let stopping: Promise<void> | undefined
  // Whatever happens to the worker, its server goes down with it (SIGQUIT: an immediate shutdown).
  const onExit = () => {
    if (pid > 0 && isAlive(pid)) process.kill(pid, "SIGQUIT")
    fs.rmSync(root, { recursive: true, force: true })
  }
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (started) await server("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"])
        // pg_ctl has seen the pid file go; wait for the process itself as well.
        for (let waited = 0; pid > 0 && isAlive(pid) && waited < 10_000; waited += 50) await pause(50)
      } finally {
        process.removeListener("exit", onExit)
        fs.rmSync(root, { recursive: true, force: true })
      }
    })()
    return stopping
  }
  process.once("exit", onExit)

  try {
    if (asRoot) await run("chown", ["postgres", root], root)
    await server("initdb", ["-D", dataDir, "-A", "trust", "-U", "am", "-E", "UTF8", "--locale=C", "--no-sync"])
    const port = await freePort()
    started = true
    await server("pg_ctl", [
      "-D",
      dataDir,
      "-l",
      log,
      "-w",
      "-t",
      String(readyWithinMs / 1000),
      "-o",
      `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start"
    ])
    pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
    const deadline = Date.now() + readyWithinMs
    for (;;) {
      const ready = await client("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "am", "-d", "postgres"]).then(
        () => true,
        () => false
      )
      if (ready) break
      if (Date.now() > deadline) throw new Error(`the server on port ${port} did not accept connections within ${readyWithinMs / 1000} s`)
      await pause(100)
    }
    await client("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "am", "automarket"])
    return { url: `postgres://am@127.0.0.1:${port}/automarket`, port, dataDir, pid, stop }
  } catch (error) {
    const said = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").slice(-20).join("\n") : ""
    await stop().catch(() => undefined)
    throw new Error(`${error instanceof Error ? error.message : String(error)}${said === "" ? "" : `\nserver log:\n${said}`}`)
  }
}

/** A throwaway server for the scope (see `startPostgres`), stopped and removed when the scope closes. */
export const postgres: Effect.Effect<RunningPostgres, Error, Scope.Scope> = Effect.acquireRelease(
  Effect.tryPromise({ try: () => startPostgres(), catch: (error) => (error instanceof Error ? error : new Error(String(error))) }),
  (running) => Effect.promise(() => running.stop())
)
