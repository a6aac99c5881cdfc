/**
 * Jobs as values on the command line, against the fal.ai emulator on 127.0.0.1:
 * `generate image --ticket FILE` keeps the ticket of the job it submits; after that process is
 * killed outright (SIGKILL: no cancel, no cleanup), `jobs resume FILE` follows the same job to
 * its result without a second submit, and `jobs cancel FILE` cancels it once. The job client of a
 * ticket comes from its provider's manifest; a provider without queued jobs is refused, naming
 * those that have them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { jobClientFor } from "../../../src/cli/commands/Jobs.js"
import { JobTicket } from "../../../src/jobs/Ticket.js"
import { clientLayer, fileContent, type FalEmulator, makeFal, serve } from "../../emulators/falai.js"
import { env } from "../../providers/falai/drive.js"
import { run } from "../../support/Run.js"
import { falCliEnv } from "../../support/FalCliEnv.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-jobs-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const envFor = (fal: FalEmulator): NodeJS.ProcessEnv => falCliEnv(fal, dir, { AUTOMARKET_CACHE_DIR: process.env.AUTOMARKET_CACHE_DIR })

/** Start `generate image --ticket` on a job that never leaves the queue; SIGKILL it once the ticket is written and polled. */
const submitThenKill = (fal: FalEmulator, ticket: string) =>
  Effect.gen(function* () {
    const child = spawn(
      process.execPath,
      [bin, "generate", "image", "a lighthouse", "--provider", "falai", "--model", "fal-ai/flux/schnell", "--ticket", ticket, "--out", path.join(dir, "never.png")],
      { env: envFor(fal), stdio: ["ignore", "pipe", "pipe"] }
    )
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
    for (let i = 0; i < 600 && !(fs.existsSync(ticket) && fal.count("status") >= 2); i++) yield* Effect.sleep("100 millis")
    expect(fs.existsSync(ticket), stderr).toBe(true)
    child.kill("SIGKILL")
    expect(yield* Effect.promise(() => exited), stderr).toBe("SIGKILL")
    return stderr
  })

describe("automarket jobs (fal.ai emulator)", () => {
  it.scopedLive("a job whose process was killed is resumed from its ticket: one submit, no cancel, the result saved", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 100_000, runSteps: 2, fileBytes: 30_000 }))
      const ticket = path.join(dir, "lighthouse.ticket.json")
      yield* submitThenKill(fal, ticket)
      const saved = JSON.parse(fs.readFileSync(ticket, "utf8"))
      expect(saved).toMatchObject({ provider: "falai", model: "fal-ai/flux/schnell", requestId: "req-1", capability: "text-to-image" })
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("cancel")).toBe(0)

      fal.settings.queueSteps = 0 // the queue moves on while nobody watches
      const out = path.join(dir, "resumed.png")
      const resumed = yield* Effect.promise(() => run(process.execPath, [bin, "jobs", "resume", ticket, "--out", out], { env: envFor(fal), timeout: 120_000 }))
      expect(resumed.status, resumed.stderr).toBe(0)
      expect(resumed.stderr).not.toContain(fal.settings.key)
      expect(resumed.stdout).toContain(`${out} by falai/fal-ai/flux/schnell (job req-1)`)
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(fileContent(30_000)))).toBe(0)
      expect(resumed.stderr).toMatch(/falai fal-ai\/flux\/schnell: completed/)
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("cancel")).toBe(0)
    }), 150_000)

  it.scopedLive("jobs cancel sends exactly one cancel for the ticket's job", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 100_000 }))
      const ticket = path.join(dir, "cancel.ticket.json")
      yield* submitThenKill(fal, ticket)
      const cancelled = yield* Effect.promise(() => run(process.execPath, [bin, "jobs", "cancel", ticket], { env: envFor(fal), timeout: 60_000 }))
      expect(cancelled.status, cancelled.stderr).toBe(0)
      expect(cancelled.stdout).toContain("cancelled falai job req-1")
      expect(fal.count("cancel")).toBe(1)
      expect(fal.count("submit")).toBe(1)
    }), 150_000)

  it.effect("a file that is not a ticket is refused with one line, exit 1", () =>
    Effect.gen(function* () {
      const bogus = path.join(dir, "bogus.json")
      fs.writeFileSync(bogus, JSON.stringify({ provider: "falai" }))
      const ran = yield* Effect.promise(() => run(process.execPath, [bin, "jobs", "resume", bogus], { env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME }, timeout: 60_000 }))
      expect(ran.status).toBe(1)
      expect(ran.stderr).toMatch(/not a job ticket/)
      expect(ran.stderr.trim().split("\n")).toHaveLength(1)
    }))
})

describe("the job client of a ticket", () => {
  const ticketOf = (provider: string) =>
    new JobTicket({
      provider,
      model: "m",
      capability: "text-to-image",
      requestId: "r1",
      statusUrl: "https://emu.test/r1/status",
      resultUrl: "https://emu.test/r1",
      cancelUrl: "https://emu.test/r1/cancel",
      submittedAt: new Date(0)
    })

  it.effect("is the job API of the ticket's provider, from its manifest", () =>
    Effect.gen(function* () {
      const fal = yield* jobClientFor(ticketOf("falai"))
      expect(fal.provider).toBe("falai")
      const replicate = yield* jobClientFor(ticketOf("replicate"))
      expect(replicate.provider).toBe("replicate")
    }).pipe(Effect.provide(clientLayer(makeFal())), Effect.withConfigProvider(env({ FALAI_API_KEY: "k", REPLICATE_API_TOKEN: "t" }))))

  it.effect("a provider without queued jobs, or unknown, is InvalidInput naming the providers that have them", () =>
    Effect.gen(function* () {
      const together = yield* Effect.flip(jobClientFor(ticketOf("together")))
      expect(together).toMatchObject({
        _tag: "InvalidInput",
        message: 'jobs: tickets of provider "together" cannot be resumed (queued providers: falai, replicate)',
        issues: ["provider: together"]
      })
      const unknown = yield* Effect.flip(jobClientFor(ticketOf("nope")))
      expect(unknown.message).toBe('jobs: tickets of provider "nope" cannot be resumed (queued providers: falai, replicate)')
    }).pipe(Effect.provide(clientLayer(makeFal())), Effect.withConfigProvider(env({}))))
})
