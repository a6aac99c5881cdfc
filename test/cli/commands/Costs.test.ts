/**
 * `automarket costs` as a user runs it, after `automarket generate` paid for an image on the fal
 * emulator (on 127.0.0.1): the ledger in the state folder holds what fal billed; a budget in
 * `AUTOMARKET_BUDGETS` then stops the next image before fal sees a submit, in one line with exit
 * code 1; the report groups by provider or day, reads a time range, and refuses a bad grouping.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { makeFal, serve } from "../../emulators/falai.js"
import { falCliEnv } from "../../support/FalCliEnv.js"
import { run } from "../../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-costs-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const seedream = "fal-ai/bytedance/seedream/v4/text-to-image"

describe("automarket costs", () => {
  it.scopedLive("reports what generate paid, and a budget stops the next call before fal sees it", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 1, runSteps: 1 }))
      const env = falCliEnv(fal, dir)
      const cli = (args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}) =>
        Effect.promise(() => run(process.execPath, [bin, ...args], { env: { ...env, ...extra }, timeout: 120_000 }))

      const made = yield* cli(["generate", "image", "a lighthouse", "--provider", "falai", "--model", seedream, "--out", path.join(dir, "one.png")])
      expect(made.status, made.stderr).toBe(0)
      expect([...fal.billed.values()]).toEqual([0.03])

      const report = yield* cli(["costs", "--json"])
      expect(report.status, report.stderr).toBe(0)
      const json = JSON.parse(report.stdout) as { by: string; totalUsd: number; calls: number; unknownCalls: number; groups: Array<{ key: string; costUsd: number; calls: number }> }
      expect(json).toMatchObject({ by: "provider", totalUsd: 0.03, calls: 1, unknownCalls: 0 })
      expect(json.groups).toEqual([{ key: "falai", costUsd: 0.03, calls: 1, unknownCalls: 0 }])

      const table = yield* cli(["costs", "--by", "day"])
      expect(table.status, table.stderr).toBe(0)
      const today = new Date().toISOString().slice(0, 10)
      expect(table.stdout).toMatch(new RegExp(`^${today}\\s+\\$0\\.03\\s+1`, "m"))
      expect(table.stdout).toMatch(/^total\s+\$0\.03\s+1/m)

      const later = yield* cli(["costs", "--since", "2999-01-01"])
      expect(later.stdout).toContain("nothing spent")

      // $0.04 a day: the second image ($0.03 more) would pass it.
      const submits = fal.count("submit")
      const refused = yield* cli(["generate", "image", "another", "--provider", "falai", "--model", seedream, "--out", path.join(dir, "two.png")], {
        AUTOMARKET_BUDGETS: JSON.stringify({ global: { day: 0.04 } })
      })
      expect(refused.status).toBe(1)
      expect(refused.stderr).toMatch(/budget of global \(\$0\.04\) would be passed/)
      expect(fal.count("submit")).toBe(submits)
      expect(fs.existsSync(path.join(dir, "two.png"))).toBe(false)

      const malformed = yield* cli(["costs"], { AUTOMARKET_BUDGETS: "{not json" })
      expect(malformed.status).toBe(1)
      expect(malformed.stderr).toContain("AUTOMARKET_BUDGETS")

      const bad = yield* cli(["costs", "--by", "colour"])
      expect(bad.status).toBe(1)
      expect(bad.stderr).toContain('--by: "colour" is not one of provider, model, key, day, capability')
    }), 240_000)
})
