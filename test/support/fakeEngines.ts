/**
 * Stand-in engine executables for service tests: small shell scripts that answer the services'
 * start-up checks like the real engine and then fail, or block until told to go, so that engine
 * failure, queueing and shutdown can be tested deterministically. Written into a directory the
 * test owns and removes.
 */
import { chmodSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const script = (dir: string, name: string, body: string): string => {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

/** A flite that lists the `slt` voice, then fails every synthesis with exit code 3. */
export const failingFlite = (dir: string): string =>
  script(dir, "failing-flite", `if [ "$1" = "-lv" ]; then echo "Voices available: slt"; exit 0; fi\necho "simulated flite crash" >&2\nexit 3`)

/**
 * A flite that lists `slt`, and for a synthesis waits until the file `go` exists in `dir`, then
 * runs the real flite with the same arguments. Its command line contains `dir`, so a test can
 * find it among the running processes.
 */
export const gatedFlite = (dir: string): string =>
  script(
    dir,
    "gated-flite",
    `if [ "$1" = "-lv" ]; then echo "Voices available: slt"; exit 0; fi\nwhile [ ! -f "${join(dir, "go")}" ]; do sleep 0.05; done\nexec flite "$@"`
  )

/** A pocketsphinx that starts (prints usage, exits 1, like the real one) and fails every recognition. */
export const failingPocketsphinx = (dir: string): string =>
  script(dir, "failing-pocketsphinx", `echo "FATAL: simulated recogniser crash" >&2\nexit 1`)

/** Process ids whose command line mentions `text` (read from /proc). */
export const processesMentioning = async (text: string): Promise<ReadonlyArray<number>> => {
  const { readdir, readFile } = await import("node:fs/promises")
  const found: Array<number> = []
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(join("/proc", entry, "cmdline"), "utf8").catch(() => "")
    if (cmdline.includes(text) && Number(entry) !== process.pid) found.push(Number(entry))
  }
  return found
}
