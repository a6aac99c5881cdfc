/**
 * `npm run soak`: the fault and load suite of issue 13, each part in a process of its own (so
 * that one part's sockets, files and children are not counted against another's), then
 * reliability/RESULTS.md written from what the parts measured: the machine, the date and every
 * figure come from this run, nothing is typed in by hand. Exits 1 when any cell, call or request
 * did not end as expected, or a part did not finish.
 *
 * Settings (environment): SOAK_ONLY (comma list of parts: matrix,load,attack), SOAK_OUT (where
 * RESULTS.md goes; default reliability/RESULTS.md), SOAK_JSON_DIR (keep each part's JSON
 * there), and each part's own (see matrix.ts,
 * load.ts, attack.ts).
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { reliabilityDir } from "./Hosted.js"
import type { AttackResult, LoadResult, MatrixResult } from "./Results.js"
import * as Report from "./Report.js"

const root = path.resolve(reliabilityDir, "..")
const only = (process.env.SOAK_ONLY ?? "matrix,load,attack").split(",")
const outFile = process.env.SOAK_OUT ?? path.join(reliabilityDir, "RESULTS.md")
const started = performance.now()
const log = (line: string) => process.stderr.write(`[soak ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)

/** A fresh directory for the run: the parts' download and temporary directories, their JSON. */
const work = mkdtempSync(path.join(os.tmpdir(), "automarket-soak-"))
const downloadDir = path.join(work, "downloads")
const tmpDir = path.join(work, "tmp")
mkdirSync(downloadDir)
mkdirSync(tmpDir)
/** Where the parts write their JSON: kept when SOAK_JSON_DIR names a directory (the self-check reads it). */
const jsonDir = process.env.SOAK_JSON_DIR ?? work

/** The environment every part runs with: short timeouts (the slow faults are multiples of them), quick polls, loopback downloads. */
const partEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TOGETHER_TIMEOUT: process.env.SOAK_REQUEST_TIMEOUT_MS ?? "1000",
  OPENROUTER_TIMEOUT: process.env.SOAK_REQUEST_TIMEOUT_MS ?? "1000",
  FALAI_TIMEOUT: process.env.SOAK_REQUEST_TIMEOUT_MS ?? "1000",
  REPLICATE_TIMEOUT: process.env.SOAK_REQUEST_TIMEOUT_MS ?? "1000",
  AUTOMARKET_POLL_INTERVAL: process.env.AUTOMARKET_POLL_INTERVAL ?? "50 millis",
  AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1",
  AUTOMARKET_DOWNLOAD_DIR: downloadDir,
  AUTOMARKET_CACHE_DIR: path.join(work, "cache"),
  TMPDIR: tmpDir
}

/** Run one part; its JSON result, or why there is none. */
const runPart = <A>(name: string, deadlineMs: number): { readonly result?: A; readonly error?: string; readonly seconds: number } => {
  const script = path.join(reliabilityDir, `${name}.ts`)
  const partStarted = performance.now()
  const seconds = () => (performance.now() - partStarted) / 1000
  if (!existsSync(script)) return { error: `reliability/${name}.ts does not exist in this tree`, seconds: 0 }
  const out = path.join(jsonDir, `${name}.json`)
  log(`${name}: starting (deadline ${Math.round(deadlineMs / 1000)} s)`)
  const run = spawnSync(process.execPath, ["--import", "tsx", script, out], {
    cwd: root,
    env: partEnv,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: deadlineMs,
    killSignal: "SIGKILL"
  })
  if (run.error !== undefined) return { error: `${name} did not finish: ${run.error.message}`, seconds: seconds() }
  if (!existsSync(out)) return { error: `${name} exited (${run.status ?? run.signal}) without writing its result`, seconds: seconds() }
  const text = readFileSync(out, "utf8")
  // The parts are this suite's own programs writing the shapes of Results.ts.
  const result: A = JSON.parse(text)
  log(`${name}: done in ${seconds().toFixed(0)} s`)
  return { result, seconds: seconds() }
}

const matrix = only.includes("matrix") ? runPart<MatrixResult>("matrix", 300_000) : undefined
const load = only.includes("load") ? runPart<LoadResult>("load", 600_000) : undefined
const attack = only.includes("attack") ? runPart<AttackResult>("attack", 300_000) : undefined

const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unknown"
  }
})()
const report = Report.render({
  date: new Date(),
  seconds: (performance.now() - started) / 1000,
  machine: Report.machine(),
  commit,
  matrix,
  load,
  attack
})
writeFileSync(outFile, report.markdown)
log(`wrote ${path.relative(root, outFile)}: ${report.failures.length === 0 ? "everything held" : `${report.failures.length} failures`}`)
for (const failure of report.failures) log(`  failed: ${failure}`)
rmSync(work, { recursive: true, force: true })
process.exit(report.failures.length === 0 ? 0 : 1)
