/**
 * `automarket demo` as a durable workflow, on the real local engines: a demo killed outright
 * (SIGKILL) once three of its steps are in the journal, then run again with the same script and
 * options, makes its video without running any finished step again (also when another demo ran
 * in between, which sets the killed run aside); a demo whose narration failed is one line and exit
 * code 1, and run again it tries the narration again and reuses the rest.
 * Which steps finished is read from the engine's journal (the SQLite file of the state folder);
 * which work the engines were asked for is logged by stand-ins placed first on PATH that run the
 * real engines.
 */
import Database from "better-sqlite3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { failingFlite, loggingEngine } from "../../support/fakeEngines.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
let dir: string
let wrappers: string
let failing: string
// Every process the runs started, stopped at the end whatever happened.
const started = new Set<number>()

const scenes = [
  { title: "Alpha", narration: "The weather is nice today." },
  { title: "Beta", narration: "We walk to the park." }
]
const steps = ["narrate-0", "picture-0", "narrate-1", "picture-1", "music", "compose", "transcribe", "subtitles"]
const labels: Record<string, string> = {
  "narrate-0": 'narrate scene 1 "Alpha"',
  "picture-0": "picture for scene 1",
  "narrate-1": 'narrate scene 2 "Beta"',
  "picture-1": "picture for scene 2",
  music: "music bed",
  compose: "compose the video",
  transcribe: "transcribe the result",
  subtitles: "burn in the subtitles"
}
const demoArgs = (script = "two.md", out = "two.mp4") => [bin, "demo", script, "--out", out, "--width", "320", "--height", "180"]

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-demo-resume-"))
  wrappers = path.join(dir, "bin")
  fs.mkdirSync(wrappers)
  for (const engine of ["flite", "ffmpeg", "pocketsphinx_continuous"]) {
    loggingEngine(wrappers, engine, execFileSync("sh", ["-c", `command -v ${engine}`], { encoding: "utf8" }).trim(), path.join(dir, "engines.log"))
  }
  // A flite that fails every synthesis, found before the logging one.
  failing = path.join(dir, "failing")
  fs.mkdirSync(failing)
  fs.symlinkSync(failingFlite(failing), path.join(failing, "flite"))
})

/** A case's own folder (the script, the video, the state folder) and its environment (`first` on PATH before the logging engines). */
const workspace = (name: string) => {
  const cwd = path.join(dir, name)
  const state = path.join(cwd, "state")
  fs.mkdirSync(cwd)
  fs.writeFileSync(path.join(cwd, "two.md"), `# Two\n\n${scenes.map((s) => `## ${s.title}\n${s.narration}\n`).join("\n")}`)
  const env = (first: ReadonlyArray<string> = []): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: [...first, wrappers, process.env.PATH].join(":"),
    AUTOMARKET_STATE_DIR: state
  })
  return { cwd, state, env }
}

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL")
  fs.rmSync(dir, { recursive: true, force: true })
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The processes under `pid` (children, theirs, ...), from ps. */
const descendantsOf = (pid: number): Array<number> => {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((row) => row.length === 2)
  const found: Array<number> = []
  const walk = (parent: number) => {
    for (const [child, ppid] of rows) {
      if (ppid === parent && !found.includes(child!)) {
        found.push(child!)
        walk(child!)
      }
    }
  }
  walk(pid)
  return found
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Wait until every process of `pids` is gone; those still alive after `ms`. */
const gone = async (pids: Iterable<number>, ms: number): Promise<Array<number>> => {
  const deadline = Date.now() + ms
  for (;;) {
    const left = [...pids].filter(alive)
    if (left.length === 0 || Date.now() > deadline) return left
    await sleep(100)
  }
}

/** The journal's finished (successful) demo steps: activity name to the file its record names. */
const finishedSteps = (state: string): Map<string, string> => {
  const file = path.join(state, "automarket.db")
  if (!fs.existsSync(file)) return new Map()
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 })
  try {
    const rows = db
      .prepare(
        `SELECT m.payload AS request, r.payload AS reply FROM cluster_messages m JOIN cluster_replies r ON r.request_id = m.id
         WHERE m.entity_type = 'Workflow/automarket/Demo' AND m.tag = 'activity'`
      )
      .all() as Array<{ request: string; reply: string }>
    const done = new Map<string, string>()
    for (const row of rows) {
      const reply = JSON.parse(row.reply) as { value?: { _tag?: string; exit?: { _tag?: string; value?: { file?: string } } } }
      const exit = reply.value?.exit
      if (reply.value?._tag === "Complete" && exit?._tag === "Success") done.set((JSON.parse(row.request) as { name: string }).name, exit.value!.file!)
    }
    return done
  } catch {
    // Not created yet (the engine makes its tables when it starts).
    return new Map()
  } finally {
    db.close()
  }
}

/** The journal's messages of demo runs (none once a run completed and was forgotten). */
const demoMessages = (state: string): number => {
  const db = new Database(path.join(state, "automarket.db"), { readonly: true, fileMustExist: true, timeout: 2000 })
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM cluster_messages WHERE entity_type = 'Workflow/automarket/Demo'`).get() as { n: number }).n
  } finally {
    db.close()
  }
}

/** The engine calls logged so far: engine, arguments, texts. */
const engineCalls = (): Array<{ readonly engine: string; readonly args: string; readonly texts: string }> =>
  (fs.existsSync(path.join(dir, "engines.log")) ? fs.readFileSync(path.join(dir, "engines.log"), "utf8") : "")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [engine = "", args = "", texts = ""] = line.split("\t")
      return { engine, args, texts }
    })

/** The demo step an engine call does the work of; undefined for the services' start-up checks. */
const stepOf = (call: { readonly engine: string; readonly args: string; readonly texts: string }): string | undefined => {
  const { args, engine, texts } = call
  if (args === "" || args === "-lv" || args.includes("-version")) return undefined
  const scene = (text: (s: (typeof scenes)[number]) => string) => scenes.findIndex((s) => texts.includes(text(s)))
  if (engine === "flite") return `narrate-${scene((s) => s.narration)}`
  if (engine === "pocketsphinx_continuous") return "transcribe"
  if (args.includes("aevalsrc")) return "music"
  if (args.includes("-f image2")) return `picture-${scene((s) => s.title)}`
  if (/in-\d+\.png/.test(args)) return "compose"
  if (args.includes("-ar 16000") || args.includes("silencedetect")) return "transcribe"
  if (args.includes("drawtext") && args.includes("in-0.mp4")) return "subtitles"
  return `unknown: ${engine} ${args.slice(0, 120)}`
}

const spawnDemo = (
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: ReadonlyArray<string> = demoArgs()
): { readonly child: ChildProcess; readonly stderr: () => string; readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } => {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  started.add(child.pid!)
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
    // Whatever it started by now (its services and their engines), to be found gone at the end.
    for (const pid of descendantsOf(child.pid!)) started.add(pid)
  })
  child.stdout!.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  return { child, stderr: () => stderr, exited }
}

/**
 * Each step's line on the display: `resumed` for a step in `reused`, a time for the others; and
 * the engines were asked for the work of exactly the steps not reused (calls from `callsBefore` on).
 */
const expectResumed = (stderr: string, reused: ReadonlyMap<string, string>, callsBefore: number) => {
  for (const step of steps) {
    const line = new RegExp(`✓ \\[${steps.indexOf(step) + 1}/8\\] ${labels[step]!}  \\(\\w+\\)  (resumed|\\d+\\.\\ds)`)
    const shown = line.exec(stderr)
    expect(shown, `${step} in:\n${stderr}`).not.toBeNull()
    expect(shown![1] === "resumed", step).toBe(reused.has(step))
  }
  const ranAgain = new Set(engineCalls().slice(callsBefore).map(stepOf).filter((step) => step !== undefined))
  expect([...ranAgain].filter((step) => step.startsWith("unknown"))).toEqual([])
  for (const step of steps) expect(ranAgain.has(step), step).toBe(!reused.has(step))
}

/** The video and its subtitles made; the run's folder and journal gone. */
const expectMade = (cwd: string, state: string) => {
  const duration = Number(
    execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path.join(cwd, "two.mp4")], { encoding: "utf8" })
  )
  expect(duration).toBeGreaterThan(0)
  expect(fs.readFileSync(path.join(cwd, "two.srt"), "utf8")).toMatch(/^1\n00:00:\d\d,\d{3} --> /)
  expect(fs.readdirSync(path.join(state, "demo"))).toEqual([])
  expect(demoMessages(state)).toBe(0)
}

/**
 * Run the demo and kill it (SIGKILL) once three steps are journaled; the steps the journal holds
 * then (a step may have ended meanwhile), each with its file. Its services, never told, stop by
 * themselves with their engines.
 */
const killedAtThirdStep = async (cwd: string, env: NodeJS.ProcessEnv, state: string) => {
  const first = spawnDemo(cwd, env)
  const t0 = Date.now()
  let finished = new Map<string, string>()
  while (finished.size < 3) {
    if (Date.now() - t0 > 120_000) throw new Error(`three steps never finished: ${first.stderr()}`)
    await sleep(100)
    finished = finishedSteps(state)
  }
  const beforeKill = descendantsOf(first.child.pid!)
  first.child.kill("SIGKILL")
  expect(await first.exited).toMatchObject({ signal: "SIGKILL" })
  const killedAfter = Date.now() - t0
  finished = finishedSteps(state)
  expect(finished.size).toBeGreaterThanOrEqual(3)
  for (const file of finished.values()) expect(fs.existsSync(file)).toBe(true)
  expect(beforeKill.length).toBeGreaterThan(0)
  expect(await gone(beforeKill, 15_000)).toEqual([])
  expect(fs.existsSync(path.join(cwd, "two.mp4"))).toBe(false)
  return { finished, killedAfter }
}

/** The same demo again: it exits 0, the finished steps shown resumed and not run, the video made, nothing left running; how long it took. */
const runAgain = async (cwd: string, env: NodeJS.ProcessEnv, state: string, finished: ReadonlyMap<string, string>): Promise<number> => {
  const callsBefore = engineCalls().length
  const again = spawnDemo(cwd, env)
  const t = Date.now()
  const { code } = await again.exited
  const took = Date.now() - t
  expect(code, again.stderr()).toBe(0)
  expectResumed(again.stderr(), finished, callsBefore)
  expectMade(cwd, state)
  expect(await gone(started, 5_000)).toEqual([])
  return took
}

describe("automarket demo, stopped and run again", () => {
  it("killed (SIGKILL): continues from the journal, the finished steps are not run again, the video is made, nothing is left behind", async () => {
    const { cwd, env, state } = workspace("killed")
    // 1. Killed once three steps are journaled.
    const { finished, killedAfter } = await killedAtThirdStep(cwd, env(), state)

    // 2. The same demo again: the finished steps are shown resumed and not run; the others run.
    const resumedIn = await runAgain(cwd, env(), state, finished)
    console.log(`killed after ${killedAfter} ms with ${finished.size} steps journaled (${[...finished.keys()].join(", ")}); the second run took ${resumedIn} ms`)
  }, 300_000)

  it("killed, then another demo in the same state folder: that one sets the killed run aside and exits promptly; the killed one then continues", async () => {
    const { cwd, env, state } = workspace("aside")
    fs.writeFileSync(path.join(cwd, "one.md"), "# One\n\n## Solo\nHello there.\n")
    const { finished } = await killedAtThirdStep(cwd, env(), state)

    // Another demo: made, without running the killed one's steps or writing its video; and its
    // engine's shutdown is not held by the killed run's step that was running.
    const other = spawnDemo(cwd, env(), demoArgs("one.md", "one.mp4"))
    let lastStepAt = 0
    other.child.stderr!.on("data", () => {
      if (lastStepAt === 0 && other.stderr().includes("✓ [6/6]")) lastStepAt = Date.now()
    })
    expect((await other.exited).code, other.stderr()).toBe(0)
    const shutdown = Date.now() - lastStepAt
    expect(shutdown).toBeLessThan(10_000)
    expect(fs.existsSync(path.join(cwd, "one.mp4"))).toBe(true)
    expect(fs.existsSync(path.join(cwd, "two.mp4"))).toBe(false)
    expect([...finishedSteps(state).keys()].sort()).toEqual([...finished.keys()].sort())

    // The killed demo again: continues where it was.
    await runAgain(cwd, env(), state, finished)
    console.log(`the other demo exited ${shutdown} ms after its last step`)
  }, 300_000)

  it("a failed step: one line and exit code 1, the run kept; run again, that step runs again and the finished ones do not", async () => {
    const { cwd, env, state } = workspace("failed")
    // 1. Every narration fails (flite crashes); the pictures run beside them.
    const first = spawnDemo(cwd, env([failing]))
    const t0 = Date.now()
    expect(await first.exited).toMatchObject({ code: 1 })
    const failedIn = Date.now() - t0
    expect(first.stderr()).toMatch(/✗ \[1\/8\] narrate scene 1 "Alpha"/)
    expect(first.stderr()).toMatch(/\nautomarket: chatterbox: .*simulated flite crash\n$/)
    expect(fs.existsSync(path.join(cwd, "two.mp4"))).toBe(false)
    const finished = finishedSteps(state)
    expect([...finished.keys()].filter((step) => step.startsWith("narrate"))).toEqual([])
    expect(fs.readdirSync(path.join(state, "demo"))).toHaveLength(1)

    // 2. Flite works again: the narrations run (their failure was not final), the rest is reused.
    const resumedIn = await runAgain(cwd, env(), state, finished)
    console.log(`failed after ${failedIn} ms with ${finished.size} steps journaled (${[...finished.keys()].join(", ")}); the second run took ${resumedIn} ms`)
  }, 300_000)
})
