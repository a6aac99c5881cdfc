/**
 * Runs once, before any test worker starts: the per-user folders the library writes results,
 * service work and durable state into (`$XDG_RUNTIME_DIR/automarket`, `$XDG_CACHE_HOME/automarket`,
 * `$XDG_STATE_HOME/automarket`) point into one temporary home of this run, so no test leaves
 * files in the folders of whoever runs the suite.
 * The workers and every child process they start inherit the variables; the home is removed when
 * the run ends.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export default function setup(): () => void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-test-home-"))
  for (const folder of ["runtime", "cache", "state"]) fs.mkdirSync(path.join(home, folder), { mode: 0o700 })
  process.env.XDG_RUNTIME_DIR = path.join(home, "runtime")
  process.env.XDG_CACHE_HOME = path.join(home, "cache")
  process.env.XDG_STATE_HOME = path.join(home, "state")
  return () => fs.rmSync(home, { recursive: true, force: true })
}
