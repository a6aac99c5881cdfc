/**
 * `automarket jobs ...`: durable generations by id, and tickets as files.
 *
 * Every queued generation the command line starts is durable (see `durable/`): `jobs list`,
 * `jobs show ID`, `jobs watch ID` read the state store without running anything; `jobs resume
 * [ID|--all]` runs what a crash or a `--detach` left unfinished (its journal says where each one
 * was: nothing submitted twice); `jobs cancel ID` cancels one (its remote job once); `jobs prune
 * --older-than 7d` deletes finished ones with their journal and files.
 *
 * A ticket file (`generate ... --ticket FILE`) is the export format of one provider job:
 * `jobs resume FILE` follows that job to its result without submitting it again, `jobs cancel
 * FILE` stops it on the provider's side.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import { InvalidInput, type MediaError, MediaError as MediaErrorSchema } from "../../domain/Errors.js"
import {
  eventsOf,
  finalStatuses,
  type GenerationRow,
  GenerationStatus,
  GenerationStore
} from "../../durable/GenerationState.js"
import * as JobProgress from "../../domain/Progress.js"
import * as Jobs from "../../jobs/index.js"
import { extensionOf, save } from "../AssetFiles.js"
import type { UnreadableFile } from "../Errors.js"
import { readable } from "../InputFiles.js"
import { databaseOf, databaseOption, durationOption, hostLayer, storeLayer } from "../DurableHost.js"
import { table } from "../Format.js"
import { copyFile, output } from "../Output.js"
import * as Progress from "../Progress.js"

/**
 * The job API of the provider that issued a ticket, from its manifest; InvalidInput naming the
 * providers that have one when the ticket's provider is unknown or runs no queued jobs.
 */
export const jobClientFor = (
  ticket: Jobs.JobTicket
): Effect.Effect<Jobs.JobClient, MediaError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    // The providers are loaded only by these commands (start-up time of every other command).
    const { manifestOf, queuedProviders } = yield* Effect.promise(() => import("../../registry/Providers.js"))
    const jobs = manifestOf(ticket.provider)?.jobs
    if (jobs === undefined) {
      const queued = queuedProviders.map((manifest) => manifest.id).join(", ")
      return yield* Effect.fail(
        new InvalidInput({
          provider: "jobs",
          detail: `tickets of provider "${ticket.provider}" cannot be resumed (queued providers: ${queued})`,
          issues: [`provider: ${ticket.provider}`]
        })
      )
    }
    return yield* jobs
  })

/** Read and decode a ticket file; UnreadableFile when it cannot be read, InvalidInput when it is not a ticket. */
export const readTicket = (file: string): Effect.Effect<Jobs.JobTicket, InvalidInput | UnreadableFile> =>
  readable(file).pipe(Effect.zipRight(Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (error) =>
      new InvalidInput({ provider: "jobs", detail: `cannot read the ticket ${file}: ${String(error)}`, issues: [file] })
  })), Effect.flatMap(Jobs.decodeTicket))

const idOrTicketArg = Args.text({ name: "id|ticket" }).pipe(
  Args.withDescription("A generation id (see `jobs list`), or a ticket file written by `generate ... --ticket FILE`")
)

const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("A generation id (see `jobs list`)"))

const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

// A ticket file when the argument names something on disk, has a path separator or ends in
// `.json` (so that a missing or unreadable ticket is reported as such); else a generation id.
const isTicketFile = (arg: string): boolean => arg.includes("/") || arg.endsWith(".json") || fs.existsSync(arg)

const age = (since: number): string => {
  const seconds = Math.max(0, Math.round((Date.now() - since) / 1000))
  return seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)}m` : seconds < 172_800 ? `${Math.round(seconds / 3600)}h` : `${Math.round(seconds / 86_400)}d`
}

/** A generation row as JSON-ready data (its request, result and error decoded). */
const rowJson = (row: GenerationRow) => ({
  id: row.id,
  status: row.status,
  capability: row.capability,
  provider: row.provider ?? null,
  model: row.model ?? null,
  requestId: row.requestId ?? null,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString(),
  finishedAt: row.finishedAt !== undefined ? new Date(row.finishedAt).toISOString() : null,
  deadlineAt: row.deadlineAt !== undefined ? new Date(row.deadlineAt).toISOString() : null,
  submitWindowMs: row.intentAt !== undefined && row.submittedAt !== undefined ? row.submittedAt - row.intentAt : null,
  cancelRequested: row.cancelRequestedAt !== undefined,
  request: JSON.parse(row.request) as unknown,
  result: row.result !== undefined ? (JSON.parse(row.result) as unknown) : null,
  error: row.error !== undefined ? (JSON.parse(row.error) as unknown) : null
})

/** `automarket jobs list [--status S] [--json]`: durable generations, newest first. */
export const list = Command.make(
  "list",
  {
    status: Options.choice("status", GenerationStatus.literals).pipe(
      Options.withDescription("Only generations with this status"),
      Options.repeated
    ),
    limit: Options.integer("limit").pipe(Options.withDescription("At most this many (default 100)"), Options.withDefault(100)),
    json: jsonOption,
    database: databaseOption
  },
  ({ database, json, limit, status }) =>
    Effect.gen(function* () {
      const io = yield* output
      const store = yield* GenerationStore
      const rows = yield* Effect.orDie(store.list({ statuses: status, limit }))
      if (json) return yield* io.stdout(`${JSON.stringify(rows.map(rowJson), null, 2)}\n`)
      if (rows.length === 0) return yield* io.stdout("no generations\n")
      yield* io.stdout(
        `${table(
          ["ID", "STATUS", "CAPABILITY", "PROVIDER/MODEL", "JOB", "AGE"],
          rows.map((row) => [
            row.id,
            row.status + (row.cancelRequestedAt !== undefined && !finalStatuses.has(row.status) ? " (cancel asked)" : ""),
            row.capability,
            row.provider !== undefined ? `${row.provider}/${row.model ?? ""}` : "",
            row.requestId ?? "",
            age(row.createdAt)
          ])
        )}\n`
      )
    }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), storeLayer))))
).pipe(Command.withDescription("List durable generations, newest first"))

const findRow = (id: string) =>
  Effect.flatMap(GenerationStore, (store) =>
    Effect.flatMap(Effect.orDie(store.get(id)), (row) =>
      Option.match(row, {
        onNone: () => Effect.fail(new InvalidInput({ provider: "jobs", detail: `no generation "${id}" (see \`automarket jobs list\`)`, issues: [`id: ${id}`] })),
        onSome: Effect.succeed
      })
    )
  )

/** `automarket jobs show ID [--json]`: one generation: what was asked, where it is, what it made or why it failed. */
export const show = Command.make("show", { id: idArg, json: jsonOption, database: databaseOption }, ({ database, id, json }) =>
  Effect.gen(function* () {
    const io = yield* output
    const row = yield* findRow(id)
    const data = rowJson(row)
    if (json) return yield* io.stdout(`${JSON.stringify(data, null, 2)}\n`)
    const result = data.result as { output?: { path?: string; bytes?: number }; deliveredTo?: string } | null
    const error = data.error as { _tag?: string; provider?: string; detail?: string } | null
    const lines = [
      `id:          ${row.id}`,
      `status:      ${row.status}${data.cancelRequested && !finalStatuses.has(row.status) ? " (cancel asked)" : ""}`,
      `capability:  ${row.capability}`,
      `provider:    ${row.provider ?? "(not routed yet)"}${row.model !== undefined ? `/${row.model}` : ""}`,
      ...(row.requestId !== undefined ? [`job:         ${row.requestId} (submit window ${data.submitWindowMs ?? "?"} ms)`] : []),
      `created:     ${data.createdAt}`,
      ...(data.finishedAt !== null ? [`finished:    ${data.finishedAt}`] : []),
      ...(data.deadlineAt !== null ? [`deadline:    ${data.deadlineAt}`] : []),
      ...(result?.output?.path !== undefined ? [`result:      ${result.output.path} (${result.output.bytes ?? "?"} bytes)`] : []),
      ...(result?.deliveredTo !== undefined ? [`delivered:   ${result.deliveredTo}`] : []),
      ...(error !== null ? [`error:       ${error._tag}: ${error.provider}: ${error.detail}`] : [])
    ]
    yield* io.stdout(`${lines.join("\n")}\n`)
  }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), storeLayer))))
).pipe(Command.withDescription("Show one durable generation"))

/** `automarket jobs watch ID`: a generation's progress, live, until it is finished (from any process that runs it). */
export const watch = Command.make("watch", { id: idArg, database: databaseOption }, ({ database, id }) =>
  Effect.gen(function* () {
    const io = yield* output
    yield* findRow(id)
    const store = yield* GenerationStore
    yield* Effect.scoped(
      Effect.gen(function* () {
        const display = yield* Progress.makeJobDisplay(io.progress)
        yield* Stream.runForEach(Stream.map(eventsOf(store, id, { every: "200 millis" }), (recorded) => recorded.event), (event) =>
          jobEventTags.has(event._tag)
            ? display.onEvent(event as unknown as JobProgress.JobEvent)
            : Effect.sync(() => io.progress.write(`${id}: ${String(event.status)}${event.error !== undefined ? ` (${String(event.error)})` : ""}\n`))
        )
      })
    )
    const row = yield* findRow(id)
    yield* io.stdout(`${id}: ${row.status}\n`)
    if (row.status === "failed" || row.status === "cancelled") return yield* Effect.fail(decodeError(row))
  }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), storeLayer))))
).pipe(Command.withDescription("Follow a durable generation's progress until it is finished"))

const jobEventTags = new Set(["Submitted", "Queued", "Running", "Downloading", "Completed"])

const decodeError = (row: GenerationRow): MediaError =>
  row.error !== undefined
    ? Schema.decodeUnknownSync(MediaErrorSchema)(JSON.parse(row.error))
    : new InvalidInput({ provider: "jobs", detail: `generation ${row.id} ${row.status}`, issues: [row.id] })

/** `automarket jobs prune --older-than 7d`: delete finished generations, their journal and result files. */
export const prune = Command.make(
  "prune",
  {
    olderThan: durationOption("older-than", "Finished longer ago than this (e.g. 7d, 12h)"),
    database: databaseOption
  },
  ({ database, olderThan }) =>
    Effect.gen(function* () {
      const io = yield* output
      const { Generations } = yield* Effect.promise(() => import("../../durable/Durable.js"))
      const generations = yield* Generations
      const count = yield* generations.prune(olderThan)
      yield* io.stdout(`pruned ${count} generation${count === 1 ? "" : "s"}\n`)
    }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), (db) => hostLayer(db)))))
).pipe(Command.withDescription("Delete finished durable generations older than a duration, with their journal and files"))

/**
 * `automarket jobs resume [ID|TICKET] [--all] [--out FILE]`: run unfinished durable generations
 * to their end (each from where its journal says it was), or follow a ticket's job.
 */
export const resume = Command.make(
  "resume",
  {
    target: idOrTicketArg.pipe(Args.optional),
    all: Options.boolean("all").pipe(Options.withDescription("Every unfinished generation")),
    quiet: Options.boolean("quiet").pipe(Options.withDescription("Print nothing but failures")),
    out: Options.file("out").pipe(
      Options.withAlias("o"),
      Options.withDescription("The file to write (default: where the generation was asked to deliver, else <id>.<extension>)"),
      Options.optional
    ),
    database: databaseOption
  },
  ({ all, database, out, quiet, target }) =>
    Option.isSome(target) && isTicketFile(target.value)
      ? resumeTicket(target.value, out)
      : resumeGenerations(Option.getOrUndefined(target), all, quiet, out, database)
).pipe(Command.withDescription("Run unfinished durable generations to their end (by id, or --all), or follow a ticket's job"))

const resumeGenerations = (
  id: string | undefined,
  all: boolean,
  quiet: boolean,
  out: Option.Option<string>,
  database: Option.Option<string>
) =>
  Effect.gen(function* () {
    const io = yield* output
    if (id === undefined && !all) {
      return yield* Effect.fail(new InvalidInput({ provider: "jobs", detail: "give a generation id, a ticket file, or --all", issues: ["id"] }))
    }
    const { Generations } = yield* Effect.promise(() => import("../../durable/Durable.js"))
    const generations = yield* Generations
    const ids = id !== undefined ? [id] : yield* generations.resumeAll
    if (id !== undefined) yield* findRow(id)
    if (ids.length === 0) return quiet ? undefined : yield* io.stdout("nothing to resume\n")
    const failures = yield* Effect.forEach(
      ids,
      (each) =>
        generations.await(each).pipe(
          Effect.flatMap((result) =>
            Effect.gen(function* () {
              const stored = result.output
              let written = result.deliveredTo
              if (Option.isSome(out) && stored.path !== undefined) written = yield* copyFile(out.value, stored.path)
              if (!quiet) yield* io.stdout(`${each}: ${written ?? stored.path ?? stored.text ?? ""} by ${stored.provider}/${stored.model}\n`)
              return 0
            })
          ),
          Effect.catchAll((error) =>
            Effect.as(io.stdout(`${each}: failed: ${error instanceof Error ? error.message : String(error)}\n`), 1)
          )
        ),
      { concurrency: 16 }
    )
    const failed = failures.reduce((a, b) => a + b, 0)
    if (failed > 0 && id !== undefined) return yield* Effect.fail(decodeError(yield* findRow(id)))
    if (failed > 0) return yield* Effect.fail(new InvalidInput({ provider: "jobs", detail: `${failed} of ${ids.length} generations failed`, issues: [] }))
  }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), (db) => hostLayer(db)))))

/** Follow a ticket's job to its result and save it (the export format: no journal). */
const resumeTicket = (file: string, out: Option.Option<string>) =>
    Effect.gen(function* () {
      const io = yield* output
      const ticket = yield* readTicket(file)
      const jobs = yield* jobClientFor(ticket)
      const written = yield* Effect.scoped(
        Effect.gen(function* () {
          const display = yield* Progress.makeJobDisplay(io.progress)
          const asset = yield* JobProgress.listen(jobs.resume(ticket), display.onEvent)
          if (asset._tag === "Text") {
            yield* io.stdout(asset.text.endsWith("\n") ? asset.text : `${asset.text}\n`)
            return undefined
          }
          const target = Option.getOrElse(out, () => `${ticket.requestId}.${extensionOf(asset.mimeType)}`)
          return yield* save(asset, target)
        })
      )
      if (written !== undefined) yield* io.stdout(`${written} by ${ticket.provider}/${ticket.model} (job ${ticket.requestId})\n`)
    })

/** `automarket jobs cancel ID|TICKET`: cancel a durable generation (its remote job once), or a ticket's job. */
export const cancel = Command.make("cancel", { target: idOrTicketArg, database: databaseOption }, ({ database, target }) =>
  isTicketFile(target)
    ? Effect.gen(function* () {
        const io = yield* output
        const ticket = yield* readTicket(target)
        const jobs = yield* jobClientFor(ticket)
        yield* jobs.cancel(ticket)
        yield* io.stdout(`cancelled ${ticket.provider} job ${ticket.requestId}\n`)
      })
    : Effect.gen(function* () {
        const io = yield* output
        const row = yield* findRow(target)
        const { cancelGeneration } = yield* Effect.promise(() => import("../../durable/Durable.js"))
        const cancelled = yield* cancelGeneration(target)
        if (!cancelled) return yield* io.stdout(`${target} is already ${row.status}\n`)
        yield* io.stdout(`cancelled ${target}${row.requestId !== undefined ? ` (${row.provider} job ${row.requestId})` : ""}\n`)
      }).pipe(Effect.provide(Layer.unwrapEffect(Effect.map(databaseOf(database), storeLayer))))
).pipe(Command.withDescription("Cancel a durable generation (its remote job, once), or a ticket's job on the provider's side"))

/** `automarket jobs <list|show|watch|resume|cancel|prune>`. */
export const jobs = Command.make("jobs").pipe(
  Command.withDescription("Durable generations by id (list, show, watch, resume, cancel, prune), and tickets of queued jobs"),
  Command.withSubcommands([list, show, watch, resume, cancel, prune])
)
