/**
 * The soak suite's self-check (`npm run soak` is not part of `npm test`, this is): the runner
 * with the fault matrix narrowed to one provider and a few hundred load calls, so that the
 * suite's code (emulator faults, markers, expectations, the report) cannot rot unnoticed. It
 * checks that the suite runs and measures, not the library's promises (a cell or call that
 * does not hold is the soak run's finding, reported in RESULTS.md, not a failure here), except
 * for a few endings that must not change.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { LoadResult, MatrixResult } from "../../reliability/Results.js"

const root = path.resolve(import.meta.dirname, "..", "..")

describe("npm run soak (self-check)", () => {
  it("runs the fault matrix on fal.ai and 300 load calls, and writes the report", { timeout: 300_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "automarket-soak-check-"))
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "reliability", "run.ts")], {
        cwd: root,
        encoding: "utf8",
        timeout: 280_000,
        env: {
          ...process.env,
          SOAK_ONLY: "matrix,load",
          SOAK_OUT: path.join(dir, "RESULTS.md"),
          SOAK_JSON_DIR: dir,
          SOAK_MATRIX_PROVIDERS: "falai",
          SOAK_CALLS: "300",
          SOAK_CONCURRENCY: "32"
        }
      })
      expect(run.error).toBeUndefined()
      // The parts' own JSON: the runner wrote them from child processes.
      const matrix: MatrixResult = JSON.parse(readFileSync(path.join(dir, "matrix.json"), "utf8"))
      const load: LoadResult = JSON.parse(readFileSync(path.join(dir, "load.json"), "utf8"))

      expect(matrix.cells).toHaveLength(15)
      const applicable = matrix.cells.filter((cell) => cell.applicable)
      expect(applicable).toHaveLength(14) // every kind but truncated SSE
      for (const cell of applicable) expect(cell.applicable && cell.observed !== undefined, `${cell.kind} finished`).toBe(true)
      const cell = (kind: string) => applicable.find((c) => c.kind === kind)
      // Endings the markers and emulators must keep producing: a refused key, a failed job, one cancel at the wait cap.
      expect(cell("401")?.applicable === true ? cell("401")?.observed?.primary : undefined).toBe("InvalidApiKey")
      const failed = cell("jobFailed")
      expect(failed?.applicable === true ? failed.observed?.final : undefined).toBe("GenerationFailed")
      const capped = cell("waitCap")
      expect(capped?.applicable === true ? capped.observed?.cancels : undefined).toBe(1)

      expect(load.byKind.reduce((sum, kind) => sum + kind.calls, 0)).toBe(300)
      expect(load.byKind.some((kind) => kind.kind !== "none")).toBe(true)
      expect(load.byKind.reduce((sum, kind) => sum + (kind.outcomes.hung ?? 0), 0)).toBe(0)
      expect(Object.keys(load.emulators).sort()).toEqual(["falai", "openrouter", "replicate", "together"])
      expect(load.fds.before).toBeGreaterThan(0)

      const report = readFileSync(path.join(dir, "RESULTS.md"), "utf8")
      expect(report).toContain("| cores |")
      expect(report).toContain("## 1. Fault matrix")
      expect(report).toContain("## 2. Load")
      // Exit 0 exactly when the report says everything held.
      expect(run.status === 0).toBe(report.includes("everything held"))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
