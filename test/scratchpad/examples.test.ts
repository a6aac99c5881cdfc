import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")
const run = (file: string) => {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scratchpad", file)], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000
  })
  return { status: result.status, out: result.stdout, err: result.stderr }
}

describe("scratchpad examples run", () => {
  it("custom-provider.ts: falls back from the out-of-credit provider to the local one", () => {
    const { err, out, status } = run("custom-provider.ts")
    expect(err).toBe("")
    expect(status).toBe(0)
    expect(out.trim().split("\n")).toEqual([
      "tried broke-cloud/big-model: QuotaExceeded",
      "tried shouter/caps: ok",
      "answer: HELLO FROM AUTOMARKET"
    ])
  })

  it("fallback-plan.ts: moves on after RateLimited, stops on InvalidInput", () => {
    const { out, status } = run("fallback-plan.ts")
    expect(status).toBe(0)
    expect(out.trim().split("\n")).toEqual(["steady says: what is an ExecutionPlan?", "stopped on InvalidInput"])
  })
})
