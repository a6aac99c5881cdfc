/**
 * The durable guarantee on real processes: `automarket generate` killed with SIGKILL at each
 * boundary of a queued generation (after the submit was accepted, while waiting in the queue,
 * mid-download, after the download before delivery), then `automarket jobs resume --all` in a
 * new process: each generation completes with the fal emulator (on 127.0.0.1) counting exactly
 * one submit and no cancel, the delivered bytes identical, no temp file left.
 */
import Database from "better-sqlite3"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { afterAll, describe, expect, it } from "vitest"
import { fileContent, type FalEmulator, makeFal, serve } from "../emulators/falai.js"
import { run } from "../support/Run.js"
import { falCliEnv } from "../support/FalCliEnv.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-crash-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const bytes = 300_000

const envFor = (fal: FalEmulator, dir: string, hold?: string): NodeJS.ProcessEnv =>
  falCliEnv(fal, dir, { AUTOMARKET_STATE_DIR: path.join(dir, "state"), ...(hold !== undefined ? { AUTOMARKET_DURABLE_HOLD: hold } : {}) })

/** The generation's row and its recorded status events, read from the state file as another process would. */
const readState = (dir: string, id: string) => {
  const file = path.join(dir, "state", "automarket.db")
  if (!fs.existsSync(file)) return { row: undefined, statuses: [] as Array<string> }
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    // The process under test may be creating the tables right now: both must be there.
    const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name IN ('automarket_generations', 'automarket_generation_events')").get() as { n: number }
    if (tables.n < 2) return { row: undefined, statuses: [] as Array<string> }
    const row = db.prepare("SELECT * FROM automarket_generations WHERE id = ?").get(id) as Record<string, unknown> | undefined
    const statuses = (db.prepare("SELECT event FROM automarket_generation_events WHERE generation_id = ? ORDER BY seq").all(id) as Array<{ event: string }>)
      .map((r) => JSON.parse(r.event) as { _tag: string; status?: string; point?: string })
      .map((e) => (e._tag === "Status" ? `${e.status}${e.point !== undefined ? `:${e.point}` : ""}` : e._tag))
    return { row, statuses }
  } finally {
    db.close()
  }
}

const until = async (what: string, check: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const partFiles = (dir: string): Array<string> =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((name) => name.endsWith(".part")) : []

interface Boundary {
  readonly name: string
  readonly hold?: string
  /** Set the emulator up so the process stops (or is held) at the boundary. */
  readonly arrange: (fal: FalEmulator) => void
  /** True once the process is at the boundary. */
  readonly reached: (fal: FalEmulator, dir: string, id: string) => boolean
  /** Let the job finish for the resumed run. */
  readonly release: (fal: FalEmulator) => void
}

const boundaries: ReadonlyArray<Boundary> = [
  {
    name: "after the submit was accepted (ticket kept, step not journaled)",
    hold: "submitted",
    arrange: () => {},
    reached: (_fal, dir, id) => readState(dir, id).statuses.includes("held:submitted"),
    release: () => {}
  },
  {
    name: "while waiting in the provider's queue",
    arrange: (fal) => {
      fal.settings.queueSteps = 100_000
    },
    reached: (fal) => fal.count("status") >= 3,
    release: (fal) => {
      fal.settings.queueSteps = 0
      fal.settings.runSteps = 1
    }
  },
  {
    name: "mid-download (half the file written)",
    arrange: (fal) => {
      fal.settings.intercept = (_request, kind) =>
        kind === "file"
          ? { _tag: "SlowBody", status: 200, headers: { "content-type": "image/png" }, body: fileContent(bytes), delayMs: 120_000 }
          : undefined
    },
    reached: (_fal, dir) => partFiles(path.join(dir, "downloads")).some((name) => fs.statSync(path.join(dir, "downloads", name)).size > 0),
    release: (fal) => {
      fal.settings.intercept = undefined
    }
  },
  {
    name: "after the download, before delivery",
    hold: "delivering",
    arrange: () => {},
    reached: (_fal, dir, id) => readState(dir, id).statuses.includes("held:delivering"),
    release: () => {}
  }
]

describe.concurrent("a generation killed with SIGKILL at each boundary, then `jobs resume --all`", () => {
  boundaries.forEach((boundary, index) => {
    it(boundary.name, async () => {
      const scope = Effect.runSync(Scope.make())
      try {
        const fal = await Effect.runPromise(Scope.extend(serve(makeFal({ queueSteps: 2, runSteps: 2, fileBytes: bytes })), scope))
        const dir = path.join(root, `b${index}`)
        const out = path.join(dir, "out", "picture.png")
        fs.mkdirSync(path.dirname(out), { recursive: true })
        const id = `crash-${index}`
        boundary.arrange(fal)
        const child = spawn(
          process.execPath,
          [bin, "generate", "image", "a lighthouse at dusk", "--provider", "falai", "--model", "fal-ai/flux/schnell", "--out", out, "--key", id],
          { env: envFor(fal, dir, boundary.hold), stdio: ["ignore", "pipe", "pipe"] }
        )
        let stderr = ""
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)))
        try {
          await until(`the boundary (${stderr})`, () => boundary.reached(fal, dir, id))
        } finally {
          child.kill("SIGKILL")
        }
        expect(await exited, stderr).toBe("SIGKILL")
        expect(fs.existsSync(out)).toBe(false)
        expect(fal.count("submit")).toBe(1)
        boundary.release(fal)

        const resumed = await run(process.execPath, [bin, "jobs", "resume", "--all"], { env: envFor(fal, dir), timeout: 120_000 })
        expect(resumed.status, resumed.stderr + resumed.stdout).toBe(0)
        expect(resumed.stdout).toContain(`${id}: ${out}`)
        expect(fal.count("submit")).toBe(1)
        expect(fal.count("cancel")).toBe(0)
        expect(Buffer.compare(fs.readFileSync(out), Buffer.from(fileContent(bytes)))).toBe(0)
        expect(readState(dir, id).row?.status).toBe("succeeded")
        // No temp file anywhere: not beside the delivered file, not in the downloads, not in the store.
        expect(fs.readdirSync(path.dirname(out))).toEqual(["picture.png"])
        expect(partFiles(path.join(dir, "downloads"))).toEqual([])
        expect(partFiles(path.join(dir, "state"))).toEqual([])
        // The same command again answers from the journal: the same file, nothing sent.
        const again = await run(
          process.execPath,
          [bin, "generate", "image", "a lighthouse at dusk", "--provider", "falai", "--model", "fal-ai/flux/schnell", "--out", out, "--key", id],
          { env: envFor(fal, dir), timeout: 60_000 }
        )
        expect(again.status, again.stderr).toBe(0)
        expect(fal.count("submit")).toBe(1)
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }, 180_000)
  })
})
