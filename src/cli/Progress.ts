/**
 * Live displays of the command line.
 *
 * - `make`: a multi-step job (the demo): each step with its state, the provider doing it and the
 *   time it took. On a terminal the block of steps is redrawn in place a few times a second.
 * - `makeJobDisplay`: one long remote job (a queued generation and its download), drawn from the
 *   `JobEvent`s its provider reports: a progress bar redrawn in place on a terminal.
 *
 * When the output is not a terminal (a log, CI) each change is one plain line.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { JobEvent } from "../domain/Progress.js"

/** The state of one step. */
export type StepState = "pending" | "running" | "done" | "failed"

/** One step as shown. */
export interface Step {
  readonly id: string
  readonly label: string
  readonly state: StepState
  readonly provider?: string | undefined
  readonly note?: string | undefined
  readonly startedAt?: number | undefined
  readonly endedAt?: number | undefined
}

/** The display. */
export interface Progress {
  /** Add steps in the order they are shown. */
  readonly plan: (steps: ReadonlyArray<{ readonly id: string; readonly label: string }>) => Effect.Effect<void>
  /** Run `effect` as step `id`: running while it runs, done (with the provider it names) or failed after. */
  readonly step: <A, E, R>(
    id: string,
    effect: Effect.Effect<A, E, R>,
    describe?: (a: A) => { readonly provider?: string; readonly note?: string }
  ) => Effect.Effect<A, E, R>
  /**
   * Show step `id` as done without running it: its result was kept by an earlier run (a durable
   * run resumed), so it is marked `resumed` and has no time of its own.
   */
  readonly resumed: (id: string, detail?: { readonly provider?: string }) => Effect.Effect<void>
  /** The steps now. */
  readonly steps: Effect.Effect<ReadonlyArray<Step>>
}

/** Where the display writes. */
export interface ProgressOutput {
  readonly write: (text: string) => void
  /** Redraw in place (a terminal) or print a line per change. */
  readonly live: boolean
}

const seconds = (step: Step, now: number): string =>
  step.startedAt === undefined ? "" : `${(((step.endedAt ?? now) - step.startedAt) / 1000).toFixed(1)}s`

const mark: Record<StepState, string> = { pending: " ", running: ">", done: "✓", failed: "✗" }

/** One step as a line. */
export const render = (step: Step, index: number, total: number, now: number): string =>
  [
    `${mark[step.state]} [${index + 1}/${total}] ${step.label}`,
    step.provider !== undefined ? `(${step.provider})` : "",
    step.state === "pending" ? "" : seconds(step, now),
    step.note ?? ""
  ]
    .filter((part) => part !== "")
    .join("  ")

/** Make a display; on a live output a fiber redraws it until the scope closes (with a last frame). */
export const make = (output: ProgressOutput): Effect.Effect<Progress, never, Scope.Scope> =>
  Effect.gen(function* () {
    const steps = yield* Ref.make<ReadonlyArray<Step>>([])
    let drawn = 0

    const frame = Effect.flatMap(Effect.zip(Ref.get(steps), Clock.currentTimeMillis), ([list, now]) =>
      Effect.sync(() => {
        const lines = list.map((step, i) => render(step, i, list.length, now))
        output.write(`${drawn > 0 ? `\x1b[${drawn}F` : ""}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`)
        drawn = lines.length
      })
    )

    if (output.live) {
      yield* Effect.addFinalizer(() => frame)
      yield* Effect.forkScoped(Effect.repeat(frame, Schedule.spaced("200 millis")))
    }

    const change = (id: string, f: (step: Step, now: number) => Step) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(
          Ref.modify(steps, (list): [ReadonlyArray<Step>, ReadonlyArray<Step>] => {
            const next = list.map((step) => (step.id === id ? f(step, now) : step))
            return [next, next]
          }),
          (list) =>
            output.live
              ? Effect.void
              : Effect.sync(() => {
                  const i = list.findIndex((step) => step.id === id)
                  if (i >= 0) output.write(`${render(list[i]!, i, list.length, now)}\n`)
                })
        )
      )

    const plan = (list: ReadonlyArray<{ readonly id: string; readonly label: string }>) =>
      Ref.update(steps, (current) => [...current, ...list.map((s): Step => ({ ...s, state: "pending" }))])

    const step = <A, E, R>(
      id: string,
      effect: Effect.Effect<A, E, R>,
      describe?: (a: A) => { readonly provider?: string; readonly note?: string }
    ): Effect.Effect<A, E, R> =>
      Effect.zipRight(
        change(id, (s, now) => ({ ...s, state: "running", startedAt: now })),
        effect.pipe(
          Effect.tap((a) =>
            change(id, (s, now) => ({ ...s, state: "done", endedAt: now, ...describe?.(a) }))
          ),
          Effect.tapError((error) =>
            change(id, (s, now) => ({
              ...s,
              state: "failed",
              endedAt: now,
              note: typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
            }))
          )
        )
      )

    const resumed = (id: string, detail: { readonly provider?: string } = {}) =>
      change(id, (s) => ({ ...s, state: "done", startedAt: undefined, endedAt: undefined, ...detail, note: "resumed" }))

    return { plan, step, resumed, steps: Ref.get(steps) }
  })

/** A progress bar of `width` cells for `fraction` (clamped to 0..1), e.g. `[#####-----]`. */
export const bar = (fraction: number, width = 20): string => {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${"#".repeat(done)}${"-".repeat(width - done)}]`
}

/** A byte count for people: `512 B`, `1.5 KB`, `12.0 MB`. */
export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ["KB", "MB", "GB", "TB"]
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** How far a job is, 0..1, when its event says. */
export const fractionOf = (event: JobEvent): number | undefined => {
  switch (event._tag) {
    case "Running":
      return event.percent !== undefined ? event.percent / 100 : undefined
    case "Downloading":
      return event.total !== undefined && event.total > 0 ? event.received / event.total : undefined
    case "Completed":
      return 1
    default:
      return undefined
  }
}

/** One event as a line of text (without the bar or the log lines). */
export const describeJob = (event: JobEvent): string => {
  const who = `${event.provider} ${event.model}:`
  switch (event._tag) {
    case "Submitted":
      return `${who} submitted (job ${event.jobId})`
    case "Queued":
      return `${who} queued${event.position !== undefined ? ` (position ${event.position})` : ""}`
    case "Running":
      return `${who} running${event.percent !== undefined ? ` ${Math.round(event.percent)}%` : ""}`
    case "Downloading": {
      const fraction = fractionOf(event)
      return event.total !== undefined
        ? `${who} downloading ${bytes(event.received)} of ${bytes(event.total)}${fraction !== undefined ? ` (${Math.round(fraction * 100)}%)` : ""}`
        : `${who} downloading ${bytes(event.received)}`
    }
    case "Completed":
      return `${who} completed`
  }
}

interface JobLineState {
  /** Whether a live line is on screen (to be ended when done). */
  readonly drawn: boolean
  readonly lastTag: string | undefined
  readonly lastLine: string | undefined
  readonly lastDrawAt: number
  /** Quarters of a download already printed (plain mode). */
  readonly quarter: number
}

/** The display of one job. */
export interface JobDisplay {
  /** Show an event (pass it to `Progress.listen` of src/domain/Progress.ts). */
  readonly onEvent: (event: JobEvent) => Effect.Effect<void>
}

/**
 * Make a job display. On a live output the line with the bar is redrawn in place (at most every
 * `redrawMillis`, default 100, unless the job changes state) and log lines scroll above it; the
 * line is ended when the scope closes. Otherwise each state change, each new log line and each
 * quarter of a download is one plain line; repeats (a queue poll with the same position) are
 * not printed.
 */
export const makeJobDisplay = (
  output: ProgressOutput,
  options: { readonly redrawMillis?: number } = {}
): Effect.Effect<JobDisplay, never, Scope.Scope> =>
  Effect.gen(function* () {
    const redrawMillis = options.redrawMillis ?? 100
    const state = yield* Ref.make<JobLineState>({ drawn: false, lastTag: undefined, lastLine: undefined, lastDrawAt: Number.NEGATIVE_INFINITY, quarter: -1 })

    if (output.live) {
      yield* Effect.addFinalizer(() => Effect.flatMap(Ref.get(state), (s) => (s.drawn ? Effect.sync(() => output.write("\n")) : Effect.void)))
    }

    const logsOf = (event: JobEvent): ReadonlyArray<string> => (event._tag === "Running" ? event.logs : [])

    const live = (event: JobEvent, now: number) =>
      Ref.modify(state, (s): [string | undefined, JobLineState] => {
        const logs = logsOf(event)
        const fraction = fractionOf(event)
        const line = `${fraction !== undefined ? `${bar(fraction)} ` : ""}${describeJob(event)}`
        const due = event._tag !== s.lastTag || logs.length > 0 || now - s.lastDrawAt >= redrawMillis
        if (!due || (line === s.lastLine && logs.length === 0)) return [undefined, s]
        const text = `${logs.map((log) => `\r\x1b[2K${log}\n`).join("")}\r\x1b[2K${line}`
        return [text, { ...s, drawn: true, lastTag: event._tag, lastLine: line, lastDrawAt: now }]
      })

    const plain = (event: JobEvent) =>
      Ref.modify(state, (s): [string | undefined, JobLineState] => {
        const logs = logsOf(event).map((log) => `${event.provider} ${event.model}: ${log}\n`)
        const line = describeJob(event)
        if (event._tag === "Downloading") {
          // A line when the download starts and at each quarter, not one a chunk.
          const fraction = fractionOf(event)
          const quarter = fraction !== undefined ? Math.floor(fraction * 4) : 0
          if (s.lastTag === "Downloading" && quarter <= s.quarter) return [undefined, s]
          return [`${line}\n`, { ...s, lastTag: event._tag, lastLine: line, quarter }]
        }
        const repeat = line === s.lastLine
        const text = `${logs.join("")}${repeat ? "" : `${line}\n`}`
        return [text === "" ? undefined : text, { ...s, lastTag: event._tag, lastLine: line, quarter: -1 }]
      })

    const onEvent = (event: JobEvent) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(output.live ? live(event, now) : plain(event), (text) =>
          text === undefined ? Effect.void : Effect.sync(() => output.write(text))
        )
      )

    return { onEvent }
  })
