/**
 * Stand-in engine executables for service tests: small shell scripts that answer the services'
 * start-up checks like the real engine and then fail, or block until told to go, so that engine
 * failure, queueing and shutdown can be tested deterministically; or that log each call and run
 * the real engine, so that a test can count the work asked of it. Written into a directory the
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

/**
 * A stand-in named `name` (put its directory first on PATH) that runs the real engine `real` (an
 * absolute path) in its own place (`exec`: same process, same signals), after appending one line
 * per call to `log`: the name, the arguments, and the text the engine is given to read (the file
 * after a `-f`: flite's input; the `slide-*.txt` of its working folder: a slide's lines), tab
 * separated, newlines as spaces. What a test counts to know which work an engine was asked to do.
 */
export const loggingEngine = (dir: string, name: string, real: string, log: string): string =>
  script(
    dir,
    name,
    [
      `texts=""`,
      `prev=""`,
      `for a in "$@"; do`,
      `  if [ "$prev" = "-f" ] && [ -f "$a" ]; then texts="$texts $(cat "$a")"; fi`,
      `  prev="$a"`,
      `done`,
      `for f in slide-*.txt; do if [ -f "$f" ]; then texts="$texts $(cat "$f")"; fi; done`,
      `line=$(printf '%s\\t%s\\t%s' '${name}' "$*" "$texts" | tr '\\n' ' ')`,
      `printf '%s\\n' "$line" >> '${log}'`,
      `exec '${real}' "$@"`
    ].join("\n")
  )
