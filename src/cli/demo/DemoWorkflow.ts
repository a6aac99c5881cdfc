/**
 * The demo as one durable workflow (`@effect/workflow` on the embedded engine of
 * `Durable.engineSqlite`): each step of `Demo.pipeline` (narrate scene i, picture scene i, music,
 * compose, transcribe, subtitles) is an activity named after the step, which keeps its output file
 * in the run's own folder (`<state folder>/demo/<run id>/`) and journals a `StepRecord` of it (the
 * file, provider, model, cost, the providers it fell back from, a narration's duration), never
 * bytes. A demo killed anywhere and run again with the same script and options continues from its
 * last finished step: the finished ones are shown as resumed and not run again.
 *
 * - The run id (the workflow's idempotency key) is a hash of the script's text and the settings
 *   that change the video (out path, size, pause, transition): a changed script is another run.
 * - A step that fails ends this process's run with its error, as before, but the run itself is
 *   suspended rather than failed: running the same demo again resumes it and tries that step
 *   again (a failure journaled by an earlier process is never final, only a success is).
 * - The engine resumes every unfinished workflow of the state folder when it starts; a demo run
 *   other than the one this process was asked for is set aside (suspended), to wait until its own
 *   script is run again (it would otherwise write another video no one is waiting for).
 * - When the run completes, its folder is removed and its journal forgotten, so the same demo
 *   run again later makes the video again, as a demo always did.
 *
 * @module
 */
import * as EntityAddress from "@effect/cluster/EntityAddress"
import * as EntityId from "@effect/cluster/EntityId"
import * as EntityType from "@effect/cluster/EntityType"
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as Sharding from "@effect/cluster/Sharding"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import { type WorkflowEngine, WorkflowInstance } from "@effect/workflow/WorkflowEngine"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Durable from "../../durable/Durable.js"
import type { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { WriteFailed } from "../Errors.js"
import type { Progress } from "../Progress.js"
import * as Demo from "./Demo.js"
import { Script } from "./Script.js"

/** What a durable demo run is asked to do; `runId` is its idempotency key. */
export const DemoRequest = Schema.Struct({
  /** A hash of the script's text and the settings below (`runIdOf`). */
  runId: Schema.String,
  /** The run's folder, where the steps keep their files (removed when the run completes). */
  dir: Schema.String,
  script: Script,
  /** The video to write, an absolute path. */
  out: Schema.String,
  width: Schema.Number,
  height: Schema.Number,
  pause: Schema.Number,
  transition: Schema.Number
})
/** What a durable demo run is asked to do. */
export type DemoRequest = typeof DemoRequest.Type

/** The run id of a script's text with its settings: the same text and settings, the same run. */
export const runIdOf = (scriptText: string, settings: Demo.DemoSettings): string =>
  createHash("sha256")
    .update(JSON.stringify([scriptText, settings.out, settings.width, settings.height, settings.pause, settings.transition]))
    .digest("hex")
    .slice(0, 32)

/** The run's folder in a state folder. */
export const runFolder = (stateDir: string, runId: string): string => path.join(stateDir, "demo", runId)

/** The demo workflow. Its failures are never journaled (see the module's comment): it suspends instead. */
export const DemoWorkflow = Workflow.make({
  name: "automarket/Demo",
  payload: DemoRequest,
  success: Demo.DemoSummary,
  idempotencyKey: (request) => request.runId
})

/** The run this process was started for: the one it runs, shows and reports; the others wait. */
export interface DemoSessionService {
  /** The execution id of the run asked for. */
  readonly executionId: string
  readonly progress: Progress
  /** Told why a step failed; the run is suspended then, to be resumed by the next run of the same demo. */
  readonly failed: Deferred.Deferred<never, Demo.StepError>
  /**
   * Done when this process stops waiting for the run (Ctrl-C): no step starts after it, the run
   * is suspended, and the engine's shutdown waits only for the steps already running.
   */
  readonly stop: Deferred.Deferred<void>
}

/** The run this process was started for. */
export class DemoSession extends Context.Tag("automarket/cli/DemoSession")<DemoSession, DemoSessionService>() {}

const maxAttempts = 100

/**
 * Steps as activities of the running workflow, halting cleanly: once the session's `stop` is
 * done (Ctrl-C, or a step of this run failed) no step starts; the steps running finish (and are
 * journaled), then the run is suspended. Nothing in flight is cut off: an activity cut off would
 * run again at once (the engine retries interrupted activities) or leave the engine's shutdown
 * waiting for it.
 *
 * A step is journaled under its id and an attempt number: when the journal holds a failure of an
 * earlier process for it, the next attempt runs it again; a success whose file is still there is
 * returned as it is (shown as resumed), one whose file is gone is run again too. A step failing
 * here is reported to the session at once (`failed`), then the run halts.
 */
export const journaled = (
  dir: string,
  session: DemoSessionService
): Effect.Effect<Demo.StepRunner<WorkflowInstance | WorkflowEngine>, never, WorkflowInstance> =>
  Effect.gen(function* () {
    const instance = yield* WorkflowInstance
    // The steps running in this process now; `idle` is open when there is none.
    let running = 0
    const idle = yield* Effect.makeLatch(true)
    const begin = Effect.zipRight(Effect.sync(() => ++running), idle.close)
    const end = Effect.suspend(() => (--running === 0 ? idle.open : Effect.void))
    const halt = Effect.zipRight(idle.await, Workflow.suspend(instance))

    const attempt = <R>(id: string, work: Effect.Effect<Demo.StepRecord, Demo.StepError, R>, n: number) =>
      Effect.gen(function* () {
        // Set when the step runs in this process: unset, its result came from the journal.
        let ran = false
        const activity = Activity.make({
          name: id,
          success: Demo.StepRecord,
          error: Demo.StepError,
          execute: Effect.suspend(() => {
            ran = true
            return work
          })
        })
        const exit = yield* Effect.exit(Effect.provideService(activity, Activity.CurrentAttempt, n))
        return { exit, ran }
      })

    const run = <R>(id: string, work: Effect.Effect<Demo.StepRecord, Demo.StepError, R>) =>
      Effect.gen(function* () {
        // Each earlier process that failed this step journaled one failed attempt; the bound only
        // stops a journal that cannot be read from being asked forever.
        for (let n = 1; n <= maxAttempts; n++) {
          if (yield* Deferred.isDone(session.stop)) return yield* halt
          const { exit, ran } = yield* Effect.acquireUseRelease(begin, () => attempt(id, work, n), () => end)
          if (Exit.isSuccess(exit) && (ran || fs.existsSync(exit.value.file))) {
            if (!ran) yield* session.progress.resumed(id, { provider: exit.value.provider })
            return exit.value
          }
          if (Exit.isFailure(exit) && (ran || Cause.isInterruptedOnly(exit.cause) || n === maxAttempts)) {
            if (Cause.isInterruptedOnly(exit.cause)) return yield* exit
            yield* Deferred.failCause(session.failed, exit.cause)
            yield* Deferred.succeed(session.stop, undefined)
            return yield* halt
          }
        }
        return yield* Effect.dieMessage(`demo: step ${id} has no attempt left`)
      })

    return { dir, run }
  })

/**
 * Suspend a run this process was not started for, until its own demo is run again. Each of its
 * steps is asked for once, by name, with an execution that only suspends: a finished step answers
 * from the journal; a step that was running when its process died, which the engine delivers
 * again and holds until the body names it, is released (suspended, to run when its run resumes)
 * instead of holding this process's engine at shutdown.
 */
const setAside = (request: DemoRequest, instance: WorkflowInstance["Type"]) =>
  Effect.gen(function* () {
    const suspendItself = Effect.flatMap(WorkflowInstance, Workflow.suspend)
    // Each in a fiber of its own: a step answering "suspended" suspends (interrupts) only its fiber.
    const asked = yield* Effect.forEach(Demo.planOf(request.script), ({ id }) =>
      Effect.fork(Activity.make({ name: id, success: Demo.StepRecord, error: Demo.StepError, execute: suspendItself }))
    )
    yield* Effect.forEach(asked, Fiber.await, { discard: true })
    return yield* Workflow.suspend(instance)
  })

/** The workflow's body over the session: the run asked for runs, any other is set aside. */
const body = (request: DemoRequest, executionId: string) =>
  Effect.gen(function* () {
    const session = yield* DemoSession
    const instance = yield* WorkflowInstance
    if (executionId !== session.executionId) return yield* setAside(request, instance)
    const runner = yield* journaled(request.dir, session)
    return yield* Demo.pipeline(request.script, request, session.progress, runner).pipe(
      // What fails between the steps (writing the video): reported, and the run kept to be resumed.
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.zipRight(Deferred.failCause(session.failed, cause), Workflow.suspend(instance))
      )
    )
  })

/** The demo workflow registered with the engine in context, for the session's run. */
export const layer: Layer.Layer<never, never, DemoSession | ProviderRegistry | HttpClient.HttpClient | WorkflowEngine> =
  DemoWorkflow.toLayer(body)

/**
 * Forget a finished run: its messages and replies in the engine's journal (the engine keeps
 * them forever), so the same demo run again is a new run. Done only where the engine's message
 * storage is in context (`Durable.engineSqlite` offers it without declaring it); else kept.
 */
const forget = (executionId: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const storage = yield* Effect.serviceOption(MessageStorage.MessageStorage)
    const sharding = yield* Effect.serviceOption(Sharding.Sharding)
    if (Option.isNone(storage) || Option.isNone(sharding)) return
    const entityId = EntityId.make(executionId)
    yield* storage.value.clearAddress(
      EntityAddress.make({
        entityType: EntityType.EntityType.make(`Workflow/${DemoWorkflow.name}`),
        entityId,
        shardId: sharding.value.getShardId(entityId, "default")
      })
    )
  }).pipe(Effect.ignore)

/** How a durable demo runs: the options of `Demo.run`, the script's text (for the run id) and the state folder. */
export interface DurableDemoOptions extends Demo.DemoOptions {
  /** The script as it was read: its hash names the run. */
  readonly scriptText: string
  /** Default `Durable.stateDir()`. */
  readonly stateDir?: string
}

/**
 * Run the demo as a durable workflow on the embedded engine of the state folder: continued from
 * its last finished step when the same demo was killed (or failed) before. Fails with the
 * failing step's error, leaving the run to be resumed.
 */
export const run = (
  options: DurableDemoOptions
): Effect.Effect<Demo.DemoSummary, Demo.StepError, ProviderRegistry | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const settings = Demo.settingsOf(options)
    const stateDir = options.stateDir ?? Durable.stateDir()
    const runId = runIdOf(options.scriptText, settings)
    const request: DemoRequest = { runId, dir: runFolder(stateDir, runId), script: options.script, ...settings }
    const executionId = yield* DemoWorkflow.executionId(request)
    const failed = yield* Deferred.make<never, Demo.StepError>()
    const stop = yield* Deferred.make<void>()
    yield* options.progress.plan(Demo.planOf(options.script))
    // The state folder is created when the engine's layer is made: a folder that cannot be is this command's failure to write.
    const engine = Layer.unwrapEffect(
      Effect.try({ try: () => Durable.engineSqlite({ stateDir }), catch: (cause) => new WriteFailed({ path: stateDir, cause }) })
    ).pipe(Layer.mapError((cause) => (cause instanceof WriteFailed ? cause : new WriteFailed({ path: Durable.sqliteFile(stateDir), cause }))))
    const hosted = layer.pipe(
      Layer.provide(Layer.succeed(DemoSession, { executionId, progress: options.progress, failed, stop })),
      Layer.provideMerge(engine)
    )
    return yield* Effect.gen(function* () {
      // A run this demo left suspended (a failed step, or put aside by another demo) goes on now.
      yield* DemoWorkflow.resume(executionId)
      const summary = yield* Effect.raceFirst(DemoWorkflow.execute(request), Deferred.await(failed)).pipe(
        Effect.onInterrupt(() => Deferred.succeed(stop, undefined))
      )
      yield* Effect.sync(() => fs.rmSync(request.dir, { recursive: true, force: true }))
      yield* forget(executionId)
      return summary
    }).pipe(
      Effect.provide(hosted),
      // The engine's own warnings (a runner it no longer sees while it shuts down) are not the
      // user's business; the progress display and the one line of a failure are.
      Logger.withMinimumLogLevel(LogLevel.Error)
    )
  })
