/**
 * The job progress display of `generate`: pure formatting (bar, bytes, one line an event), the
 * plain-line mode (no repeats, downloads by quarters) and the terminal mode (one line redrawn
 * in place, throttled, log lines scrolled above it, ended when the scope closes).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Progress from "../../../src/cli/Progress.js"
import { JobEvent } from "../../../src/domain/Progress.js"

const who = { provider: "falai", model: "fal-ai/flux-pro" }

describe("job progress formatting", () => {
  it("bar, bytes and one line an event", () => {
    expect(Progress.bar(0, 10)).toBe("[----------]")
    expect(Progress.bar(0.45, 10)).toBe("[#####-----]")
    expect(Progress.bar(2, 4)).toBe("[####]")
    expect(Progress.bytes(512)).toBe("512 B")
    expect(Progress.bytes(1536)).toBe("1.5 KB")
    expect(Progress.bytes(3 * 1024 * 1024)).toBe("3.0 MB")
    expect(Progress.describeJob(JobEvent.Submitted({ ...who, jobId: "r-1" }))).toBe("falai fal-ai/flux-pro: submitted (job r-1)")
    expect(Progress.describeJob(JobEvent.Queued({ ...who, position: 4 }))).toBe("falai fal-ai/flux-pro: queued (position 4)")
    expect(Progress.describeJob(JobEvent.Queued({ ...who }))).toBe("falai fal-ai/flux-pro: queued")
    expect(Progress.describeJob(JobEvent.Running({ ...who, percent: 33.4, logs: [] }))).toBe("falai fal-ai/flux-pro: running 33%")
    expect(Progress.describeJob(JobEvent.Downloading({ ...who, received: 1024, total: 4096 }))).toBe(
      "falai fal-ai/flux-pro: downloading 1.0 KB of 4.0 KB (25%)"
    )
    expect(Progress.describeJob(JobEvent.Downloading({ ...who, received: 100 }))).toBe("falai fal-ai/flux-pro: downloading 100 B")
    expect(Progress.fractionOf(JobEvent.Queued({ ...who }))).toBeUndefined()
    expect(Progress.fractionOf(JobEvent.Completed(who))).toBe(1)
  })
})

describe("job progress display", () => {
  it.scoped("plain lines: one a change, log lines as they come, repeats dropped, downloads by quarters", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const display = yield* Progress.makeJobDisplay({ live: false, write: (t) => void written.push(t) })
      const events = [
        JobEvent.Submitted({ ...who, jobId: "r-1" }),
        JobEvent.Queued({ ...who, position: 2 }),
        JobEvent.Queued({ ...who, position: 2 }),
        JobEvent.Queued({ ...who, position: 1 }),
        JobEvent.Running({ ...who, logs: ["loading weights"] }),
        JobEvent.Running({ ...who, logs: [] }),
        JobEvent.Running({ ...who, percent: 50, logs: ["step 10/20"] }),
        JobEvent.Completed(who),
        ...[0, 100, 200, 260, 300, 500, 800, 1000].map((received) => JobEvent.Downloading({ ...who, received, total: 1000 }))
      ]
      for (const event of events) yield* display.onEvent(event)
      expect(written.join("").split("\n")).toEqual([
        "falai fal-ai/flux-pro: submitted (job r-1)",
        "falai fal-ai/flux-pro: queued (position 2)",
        "falai fal-ai/flux-pro: queued (position 1)",
        "falai fal-ai/flux-pro: loading weights",
        "falai fal-ai/flux-pro: running",
        "falai fal-ai/flux-pro: step 10/20",
        "falai fal-ai/flux-pro: running 50%",
        "falai fal-ai/flux-pro: completed",
        "falai fal-ai/flux-pro: downloading 0 B of 1000 B (0%)",
        "falai fal-ai/flux-pro: downloading 260 B of 1000 B (26%)",
        "falai fal-ai/flux-pro: downloading 500 B of 1000 B (50%)",
        "falai fal-ai/flux-pro: downloading 800 B of 1000 B (80%)",
        "falai fal-ai/flux-pro: downloading 1000 B of 1000 B (100%)",
        ""
      ])
    }))

  it.effect("on a terminal: one line redrawn in place with a bar, throttled, logs above it, ended when done", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      yield* Effect.scoped(
        Effect.gen(function* () {
          const display = yield* Progress.makeJobDisplay({ live: true, write: (t) => void written.push(t) }, { redrawMillis: 100 })
          yield* display.onEvent(JobEvent.Queued({ ...who, position: 3 }))
          yield* display.onEvent(JobEvent.Running({ ...who, percent: 10, logs: [] }))
          // Within 100 ms of the last frame and no new state: not redrawn.
          yield* display.onEvent(JobEvent.Running({ ...who, percent: 20, logs: [] }))
          yield* TestClock.adjust("100 millis")
          yield* display.onEvent(JobEvent.Running({ ...who, percent: 30, logs: ["halfway there"] }))
          yield* display.onEvent(JobEvent.Completed(who))
        })
      )
      expect(written).toEqual([
        "\r\x1b[2Kfalai fal-ai/flux-pro: queued (position 3)",
        "\r\x1b[2K[##------------------] falai fal-ai/flux-pro: running 10%",
        "\r\x1b[2Khalfway there\n\r\x1b[2K[######--------------] falai fal-ai/flux-pro: running 30%",
        "\r\x1b[2K[####################] falai fal-ai/flux-pro: completed",
        "\n"
      ])
    }))

  it.scoped("on a terminal, nothing drawn means nothing written at the end", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      yield* Effect.scoped(Progress.makeJobDisplay({ live: true, write: (t) => void written.push(t) }))
      expect(written).toEqual([])
    }))
})
