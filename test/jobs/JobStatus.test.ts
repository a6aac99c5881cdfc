/** Reading provider log text: percent from tqdm bars and percent lines, lines out of redraws. */
import { describe, expect, it } from "@effect/vitest"
import { logLines, percentFromLogs } from "../../src/jobs/JobStatus.js"

describe("JobStatus log readers", () => {
  it("percent from tqdm bars and percent lines, the last one that has one", () => {
    expect(percentFromLogs(["loading", " 45%|####      | 45/100 [00:03<00:04]"])).toBe(45)
    expect(percentFromLogs(["10%|#", "progress: 62.5 %", "saving"])).toBe(62.5)
    expect(percentFromLogs(["no numbers here"])).toBeUndefined()
    expect(percentFromLogs(["420%| nonsense"])).toBeUndefined()
  })

  it("log text as lines: carriage-return redraws keep their last state", () => {
    expect(logLines("start\n 10%|#\r 20%|##\r 30%|###\ndone\n")).toEqual(["start", " 30%|###", "done"])
    expect(logLines(null)).toEqual([])
  })
})
