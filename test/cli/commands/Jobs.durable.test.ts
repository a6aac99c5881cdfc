/**
 * The durable `jobs` commands as a user runs them, against the fal emulator on 127.0.0.1:
 * `generate --detach` prints an id and returns while a process of its own runs the generation;
 * `jobs watch ID` follows it to the end; `jobs list` and `jobs show` read it back; `jobs cancel ID`
 * cancels a running one with exactly one cancel at fal; `jobs prune` deletes finished ones with
 * their files.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { fileContent, type FalEmulator, makeFal, serve } from "../../emulators/falai.js"
import { run } from "../../support/Run.js"
import { falCliEnv } from "../../support/FalCliEnv.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-jobs-durable-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const envFor = (fal: FalEmulator): NodeJS.ProcessEnv => falCliEnv(fal, dir)

const cli = (fal: FalEmulator, args: ReadonlyArray<string>, timeout = 90_000) =>
  Effect.promise(() => run(process.execPath, [bin, ...args], { env: envFor(fal), timeout }))

describe("automarket jobs (durable generations, fal emulator)", () => {
  it.scopedLive("generate --detach, then watch, list, show and prune", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 3, runSteps: 2, fileBytes: 20_000 }))
      const out = path.join(dir, "detached.png")
      const started = yield* cli(fal, ["generate", "image", "a detached heron", "--provider", "falai", "--out", out, "--detach", "--key", "heron-1"])
      expect(started.status, started.stderr).toBe(0)
      expect(started.stdout).toBe("heron-1\n")
      const watched = yield* cli(fal, ["jobs", "watch", "heron-1"])
      expect(watched.status, watched.stderr).toBe(0)
      expect(watched.stdout).toBe("heron-1: succeeded\n")
      expect(watched.stderr).toContain("falai fal-ai/flux/schnell: completed")
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(fileContent(20_000)))).toBe(0)
      expect(fal.count("submit")).toBe(1)

      const listed = yield* cli(fal, ["jobs", "list", "--json"])
      expect(listed.status, listed.stderr).toBe(0)
      const rows = JSON.parse(listed.stdout) as Array<{ id: string; status: string; provider: string; requestId: string }>
      expect(rows).toMatchObject([{ id: "heron-1", status: "succeeded", provider: "falai", requestId: "req-1" }])
      const table = yield* cli(fal, ["jobs", "list", "--status", "succeeded"])
      expect(table.stdout).toMatch(/^ID\s+STATUS/)
      expect(table.stdout).toContain("heron-1")
      const shown = yield* cli(fal, ["jobs", "show", "heron-1"])
      expect(shown.stdout).toContain("status:      succeeded")
      expect(shown.stdout).toContain(`delivered:   ${out}`)
      const missing = yield* cli(fal, ["jobs", "show", "nope"])
      expect(missing.status).toBe(1)
      expect(missing.stderr).toBe('automarket: jobs: no generation "nope" (see `automarket jobs list`)\n')

      const stored = (JSON.parse(listed.stdout)[0] as { result: { output: { path: string } } }).result.output.path
      expect(fs.existsSync(stored)).toBe(true)
      const kept = yield* cli(fal, ["jobs", "prune", "--older-than", "1h"])
      expect(kept.stdout).toBe("pruned 0 generations\n")
      const pruned = yield* cli(fal, ["jobs", "prune", "--older-than", "0s"])
      expect(pruned.status, pruned.stderr).toBe(0)
      expect(pruned.stdout).toBe("pruned 1 generation\n")
      expect(fs.existsSync(stored)).toBe(false)
      expect((yield* cli(fal, ["jobs", "list"])).stdout).toBe("no generations\n")
      const bad = yield* cli(fal, ["jobs", "prune", "--older-than", "soon"])
      expect(bad.status).toBe(1)
      expect(bad.stderr).toContain('--older-than: "soon" is not a duration')
    }), 200_000)

  it.scopedLive("jobs cancel ID stops a detached generation: one cancel at fal, status cancelled", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 100_000 }))
      const started = yield* cli(fal, ["generate", "image", "a very slow owl", "--provider", "falai", "--detach", "--key", "owl-1"])
      expect(started.status, started.stderr).toBe(0)
      // Wait until the job was submitted and is being followed by the background process.
      for (let i = 0; i < 300 && fal.count("status") < 2; i++) yield* Effect.sleep("100 millis")
      expect(fal.count("status")).toBeGreaterThanOrEqual(2)
      const cancelled = yield* cli(fal, ["jobs", "cancel", "owl-1"])
      expect(cancelled.status, cancelled.stderr).toBe(0)
      expect(cancelled.stdout).toBe("cancelled owl-1 (falai job req-1)\n")
      const watched = yield* cli(fal, ["jobs", "watch", "owl-1"])
      expect(watched.status).toBe(1)
      expect(watched.stdout, (yield* cli(fal, ["jobs", "show", "owl-1"])).stdout).toBe("owl-1: cancelled\n")
      // The background process stops following it; give it a watch tick, then count.
      yield* Effect.sleep("2500 millis")
      expect(fal.count("cancel")).toBe(1)
      const again = yield* cli(fal, ["jobs", "cancel", "owl-1"])
      expect(again.stdout).toBe("owl-1 is already cancelled\n")
      expect(fal.count("cancel")).toBe(1)
      expect(fal.count("submit")).toBe(1)
    }), 200_000)
})
