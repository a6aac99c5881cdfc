/**
 * A live display of a multi-step job: each step with its state, the provider doing it and the
 * time it took. On a terminal the block of steps is redrawn in place a few times a second; when
 * the output is not a terminal (a log, CI) each change is one plain line.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

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

    return { plan, step, steps: Ref.get(steps) }
  })
