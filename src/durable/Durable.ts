/**
 * Durable generations from code: `Generations` starts, awaits, watches and cancels generations
 * that survive crashes (`Generation` workflows on Effect's cluster engine), by id.
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const generations = yield* Durable.Generations
 *   const id = yield* generations.start({ capability: "text-to-image", input: text("a fox"), key: "fox-1" })
 *   const result = yield* generations.await(id) // after a crash: the same call, the same result, paid once
 * })
 * program.pipe(Effect.provide(Durable.layerSqlite()), Effect.provide(registryLayer))
 * ```
 *
 * Two ways to host them:
 * - `layerSqlite`: the embedded default, one SQLite file (`AUTOMARKET_STATE_DIR`, default
 *   `$XDG_STATE_HOME/automarket`, else `~/.local/state/automarket`) and a runner in this process.
 *   Several processes may share the file: each generation runs in one of them at a time (shard
 *   locks in the file); one that dies leaves its generations to the next process that starts.
 * - `layerPg`: many workers on one Postgres; each is a cluster runner on a loopback port, or a
 *   client that only submits (`runner: "client"`).
 *
 * Webhooks: with a public URL (`publicUrl`, `AUTOMARKET_PUBLIC_URL`), fal and Replicate jobs are
 * submitted with the gateway's webhook route under it (`webhookPaths`) and are not polled while
 * it is awaited: a verified webhook sets the generation's `notified_at` (`Generations.notify`),
 * which the process running it sees at its next watch (`watchEvery`) and reads the job once; a
 * webhook that never comes is made up for by one read every `webhookFallbackPoll` (5 minutes).
 *
 * @module
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { WorkflowEngine } from "@effect/workflow/WorkflowEngine"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Asset, FileSource, withSource } from "../domain/Asset.js"
import type { JobCapability } from "../domain/Capability.js"
import { InvalidInput, type MediaError, MediaError as MediaErrorSchema } from "../domain/Errors.js"
import type { JobClient } from "../jobs/JobClient.js"
import * as Settings from "../jobs/Settings.js"
import { decodeTicket } from "../jobs/Ticket.js"
import * as MediaTypes from "../media/MediaTypes.js"
import { Budgets } from "../registry/Budget.js"
import { CostLedger, CurrentSpender } from "../registry/Ledger.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { manifestOf } from "../registry/Providers.js"
import * as Generation from "./Generation.js"
import { eventsOf, type GenerationEvent, GenerationStore, type GenerationRow, type ListOptions } from "./GenerationStore.js"
import * as GenerationStoreLayer from "./GenerationStore.js"
import * as LedgerSql from "./LedgerSql.js"
import * as Steps from "./Steps.js"

/** What a caller asks for when starting a durable generation. */
export interface StartRequest {
  readonly capability: JobCapability
  /** The input asset; bytes are written to the state folder first (a journal holds no bytes). */
  readonly input: Asset
  readonly options?: Readonly<Record<string, unknown>>
  /** Only this provider (and `model` on it); else the registry's route, journaled once. */
  readonly provider?: string
  readonly model?: string
  readonly route?: typeof Generation.RoutePreferences.Type
  /**
   * The idempotency key: the generation's id. A second start with the same key and request is
   * the same generation (its result, paid once); with another request, InvalidInput. Default: a
   * fresh id per call.
   */
  readonly key?: string
  /** The whole generation's budget, from now; the provider is told where it can be. */
  readonly timeout?: Duration.DurationInput
  /** Where to write the result file when done. */
  readonly deliverTo?: string
  /** Who spends it, for the ledger and budgets. Default: the fiber's `CurrentSpender`. */
  readonly who?: string
}

export type { GenerationEvent } from "./GenerationStore.js"

/** Durable generations by id. */
export interface GenerationsService {
  /** Start a generation (or join the one with the same key); its id, as soon as it is journaled. */
  readonly start: (request: StartRequest) => Effect.Effect<string, MediaError>
  /** Wait for a generation's result; fails with its failure. InvalidInput for an unknown id. */
  readonly await: (id: string) => Effect.Effect<Generation.GenerationResult, MediaError>
  /** `start`, then `await`. */
  readonly run: (request: StartRequest) => Effect.Effect<Generation.GenerationResult, MediaError>
  /** A generation's row, None for an unknown id. */
  readonly status: (id: string) => Effect.Effect<Option.Option<GenerationRow>>
  /** Generations, newest first. */
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<GenerationRow>>
  /**
   * Cancel a generation: recorded at once (whichever process runs it stops), and when its job
   * was submitted the provider's cancel is sent from here, exactly once across all processes.
   * False when it is unknown or already finished.
   */
  readonly cancel: (id: string) => Effect.Effect<boolean>
  /**
   * Say that a generation's job changed on the provider's side (a verified webhook of fal or
   * Replicate): the process running it polls at once rather than at its next interval. False for
   * an unknown or finished generation.
   */
  readonly notify: (id: string) => Effect.Effect<boolean>
  /** A generation's progress events from `afterSeq` (default 0), live until it is finished. */
  readonly events: (id: string, options?: { readonly afterSeq?: number; readonly every?: Duration.DurationInput }) => Stream.Stream<GenerationEvent>
  /**
   * Resume every unfinished generation; their ids. Those never started are started; the others the
   * engine resumes by itself wherever their shard is owned (in this process, when it is the only one).
   */
  readonly resumeAll: Effect.Effect<ReadonlyArray<string>>
  /** Delete finished generations older than `age`, with their journal and result files; how many. */
  readonly prune: (age: Duration.DurationInput) => Effect.Effect<number>
}

/** The durable generations service. */
export class Generations extends Context.Tag("automarket/Generations")<Generations, GenerationsService>() {}

/** The environment variable naming the state folder. */
export const stateDirVar = "AUTOMARKET_STATE_DIR"

/** The state folder: `AUTOMARKET_STATE_DIR`, else `$XDG_STATE_HOME/automarket`, else `~/.local/state/automarket`. */
export const stateDir = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const own = env[stateDirVar]
  if (own !== undefined && own !== "") return path.resolve(own)
  const xdg = env.XDG_STATE_HOME
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, "automarket")
  return path.join(os.homedir(), ".local", "state", "automarket")
}

/** Options of the durable layers. */
export interface DurableOptions {
  /** The state folder (results, inputs, the SQLite file). Default `stateDir()`. */
  readonly stateDir?: string
  /** What to do on resume in the submit window, for providers that cannot be asked. Default `"fail"`. */
  readonly policy?: Generation.SubmitPolicy
  /** Job clients by provider id, instead of the built-in providers' (configured from the environment). */
  readonly jobClients?: Readonly<Record<string, JobClient>>
  /** How often a running job's row is read for a cancel request or a notification. Default 1 s. */
  readonly watchEvery?: Duration.DurationInput
  /**
   * Where the gateway that receives this deployment's webhooks is reachable from the providers
   * (`https://automarket.example.com`): fal and Replicate jobs are submitted with
   * `{publicUrl}/webhooks/fal` or `/webhooks/replicate` and are not polled while their webhook is
   * awaited. Default: the `AUTOMARKET_PUBLIC_URL` environment variable; neither: jobs are polled.
   */
  readonly publicUrl?: string
  /**
   * For a job submitted with a webhook: how long to wait for it before reading the job's status
   * anyway (a lost webhook still ends the job). Default 5 minutes.
   */
  readonly webhookFallbackPoll?: Duration.DurationInput
}

/** The environment variable naming the public URL webhooks are sent to (see `DurableOptions.publicUrl`). */
export const publicUrlVar = "AUTOMARKET_PUBLIC_URL"

/**
 * The path under the public URL where each provider's webhooks are received, by provider id: the
 * gateway mounts its receiver there. Providers not listed are polled.
 */
export const webhookPaths: Readonly<Record<string, string>> = { falai: "/webhooks/fal", replicate: "/webhooks/replicate" }

/** A public URL checked: an absolute http(s) URL without query or fragment, its trailing slashes dropped. */
export const checkPublicUrl = (value: string, setting: string = publicUrlVar): Either.Either<string, ConfigError.ConfigError> => {
  const invalid = (why: string) => Either.left(ConfigError.InvalidData([setting], `${setting} must be an http(s) URL (${why})`))
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return invalid("not a URL")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid(`scheme ${url.protocol}`)
  if (url.search !== "" || url.hash !== "") return invalid("no query or fragment")
  if (url.username !== "" || url.password !== "") return invalid("no credentials")
  return Either.right(url.toString().replace(/\/+$/, ""))
}

/**
 * The public URL webhooks are sent to: `options.publicUrl`, else `AUTOMARKET_PUBLIC_URL` (read
 * once, here); None when neither is set. An invalid one is a ConfigError naming the setting.
 */
export const publicUrlOf = (options: Pick<DurableOptions, "publicUrl"> = {}): Effect.Effect<Option.Option<string>, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const given =
      options.publicUrl !== undefined
        ? Option.some({ value: options.publicUrl, setting: "publicUrl" })
        : Option.map(yield* Config.option(Config.string(publicUrlVar)), (value) => ({ value, setting: publicUrlVar }))
    if (Option.isNone(given) || given.value.value.trim() === "") return Option.none()
    return Option.some(yield* checkPublicUrl(given.value.value.trim(), given.value.setting))
  })

/** The webhook URL of a provider's jobs under `publicUrl`; undefined for a provider that sends none. */
export const webhookUrlOf = (publicUrl: string, provider: string): string | undefined => {
  const route = webhookPaths[provider]
  return route === undefined ? undefined : `${publicUrl}${route}`
}

const encodeRequest = Schema.encodeSync(Generation.GenerationRequest)
const decodeRequest = Schema.decodeUnknownSync(Generation.GenerationRequest)
const decodeResult = Schema.decodeUnknownSync(Generation.GenerationResult)
const decodeError = Schema.decodeUnknownSync(MediaErrorSchema)

// The request as compared between two starts with one key: everything but the deadline (a budget from "now").
const sameRequest = (a: string, b: string): boolean => {
  const strip = (json: string) => {
    // Neither the deadline (from now) nor who asks changes what is generated.
    const { deadlineAt: _, who: __, ...rest } = JSON.parse(json) as Record<string, unknown>
    return JSON.stringify(rest)
  }
  return strip(a) === strip(b)
}

const unknownId = (id: string) => new InvalidInput({ provider: "durable", detail: `no generation "${id}"`, issues: [`id: ${id}`] })

/** The service over the engine, store and steps in context. */
export const make = (
  options: DurableOptions = {}
): Effect.Effect<GenerationsService, never, GenerationStore | WorkflowEngine | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const store = yield* GenerationStore
    const context = yield* Effect.context<WorkflowEngine>()
    const http = yield* Effect.context<HttpClient.HttpClient>()
    const dir = options.stateDir ?? stateDir()
    const withEngine = <A, E>(self: Effect.Effect<A, E, WorkflowEngine>) => Effect.provide(self, context)

    const start = (request: StartRequest): Effect.Effect<string, MediaError> =>
      Effect.gen(function* () {
        const journaled = yield* Effect.provideService(prepareGeneration(request, { stateDir: dir }), GenerationStore, store)
        yield* withEngine(Generation.Generation.execute(journaled, { discard: true }))
        return journaled.id
      })

    const await_ = (id: string): Effect.Effect<Generation.GenerationResult, MediaError> =>
      Effect.gen(function* () {
        const row = yield* Effect.orDie(store.get(id))
        if (Option.isNone(row)) return yield* Effect.fail(unknownId(id))
        if (row.value.status === "succeeded" && row.value.result !== undefined) return decodeResult(JSON.parse(row.value.result))
        if ((row.value.status === "failed" || row.value.status === "cancelled") && row.value.error !== undefined) {
          return yield* Effect.fail(decodeError(JSON.parse(row.value.error)))
        }
        // Unfinished: join the run (wherever it runs).
        return yield* withEngine(Generation.Generation.execute(decodeRequest(JSON.parse(row.value.request))))
      })

    const cancel = (id: string): Effect.Effect<boolean> =>
      cancelGeneration(id, options).pipe(Effect.provideService(GenerationStore, store), Effect.provide(http))

    const resumeAll = Effect.gen(function* () {
      const rows = yield* Effect.orDie(store.list({ statuses: ["pending", "submitting", "running", "delivering"], limit: 10_000 }))
      // A generation past `pending` has run a step: the engine holds its run and resumes it wherever its shard is
      // owned. Only a pending one may never have reached the engine (journaled here, its run not sent) and is sent;
      // sending every unfinished one again kept a joining worker busy re-sending while the others handed it shards.
      const unstarted = rows.filter((row) => row.status === "pending")
      // A send waits while its shard is in transit: several at once.
      yield* Effect.forEach(unstarted, (row) => withEngine(Generation.Generation.execute(decodeRequest(JSON.parse(row.request)), { discard: true })), {
        discard: true,
        concurrency: 16
      })
      return rows.map((row) => row.id)
    })

    const prune = (age: Duration.DurationInput) =>
      Effect.gen(function* () {
        const ids = yield* Effect.orDie(store.prune((yield* Clock.currentTimeMillis) - Duration.toMillis(Duration.decode(age))))
        yield* Effect.sync(() => {
          const outputs = path.join(dir, "outputs")
          const names = fs.existsSync(outputs) ? fs.readdirSync(outputs) : []
          const pruned = new Set(ids.map((id) => id.replace(/[^A-Za-z0-9_.-]/g, "_")))
          for (const name of names) {
            const stem = name.slice(0, name.lastIndexOf(".") === -1 ? name.length : name.lastIndexOf("."))
            if (pruned.has(stem)) fs.rmSync(path.join(outputs, name), { force: true })
          }
        })
        return ids.length
      })

    return {
      start,
      await: await_,
      run: (request) => Effect.flatMap(start(request), await_),
      status: (id) => Effect.orDie(store.get(id)),
      list: (opts) => Effect.orDie(store.list(opts)),
      cancel,
      notify: (id) => Effect.orDie(store.notify(id)),
      events: (id, opts) => eventsOf(store, id, opts),
      resumeAll,
      prune
    }
  })

/**
 * Journal a generation without running it: its row in the store, its request as it will run
 * (bytes written to the state folder first). The same key with the same request is the same
 * generation (its journaled request is returned); with another request, InvalidInput. A process
 * that runs generations (`start`, `await`, `resumeAll`, a worker) runs it.
 */
export const prepareGeneration = (
  request: StartRequest,
  options: { readonly stateDir?: string } = {}
): Effect.Effect<Generation.GenerationRequest, MediaError, GenerationStore> =>
  Effect.gen(function* () {
    const store = yield* GenerationStore
    const dir = options.stateDir ?? stateDir()
    const id = request.key ?? randomUUID()
    if (id.length === 0 || id.length > 200) {
      return yield* Effect.fail(new InvalidInput({ provider: "durable", detail: "an idempotency key is 1 to 200 characters", issues: ["key"] }))
    }
    const input = yield* storable(dir, id, request.input)
    const now = yield* Clock.currentTimeMillis
    const payload: Generation.GenerationRequest = {
      id,
      capability: request.capability,
      input,
      ...(request.options !== undefined ? { options: request.options } : {}),
      ...(request.provider !== undefined ? { provider: request.provider } : {}),
      ...(request.model !== undefined ? { model: request.model } : {}),
      ...(request.route !== undefined ? { route: request.route } : {}),
      ...(request.timeout !== undefined ? { deadlineAt: now + Duration.toMillis(Duration.decode(request.timeout)) } : {}),
      ...(request.deliverTo !== undefined ? { deliverTo: path.resolve(request.deliverTo) } : {}),
      who: request.who ?? (yield* CurrentSpender)
    }
    const json = JSON.stringify(encodeRequest(payload))
    const executionId = yield* Generation.Generation.executionId(payload)
    const created = yield* Effect.orDie(store.create({ id, executionId, capability: request.capability, request: json, deadlineAt: payload.deadlineAt }))
    if (created) return payload
    const existing = yield* Effect.orDie(store.get(id))
    if (Option.isNone(existing)) return payload
    if (!sameRequest(existing.value.request, json)) {
      return yield* Effect.fail(
        new InvalidInput({ provider: "durable", detail: `the key "${id}" was used for another request (a key names one generation)`, issues: ["key"] })
      )
    }
    return decodeRequest(JSON.parse(existing.value.request))
  })

// Bytes are kept as a file of the state folder: the journal holds the request as JSON.
const storable = (dir: string, id: string, input: Asset): Effect.Effect<Asset> => {
  if (input._tag === "Text" || input.source._tag !== "Bytes") return Effect.succeed(input)
  const bytes = input.source.bytes
  const file = path.join(dir, "inputs", `${id.replace(/[^A-Za-z0-9_.-]/g, "_")}.${MediaTypes.fileExtensionOf(input.mimeType)}`)
  return Effect.sync(() => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    fs.writeFileSync(file, bytes, { mode: 0o600 })
    // A copy of the asset's own class: a spread would be a plain object, which the journal's schema cannot encode.
    return withSource(input, new FileSource({ path: file }))
  })
}

/** A built-in provider's job client, configured from the environment; undefined for providers without queued jobs. */
const jobClientFromManifest = (provider: string): Effect.Effect<JobClient | undefined, ConfigError.ConfigError, HttpClient.HttpClient> => {
  const jobs = manifestOf(provider)?.jobs
  return jobs === undefined ? Effect.succeed(undefined) : jobs
}

/**
 * Cancel a generation by id, from any process (no runner needed): the request is recorded (the
 * process running it, if any, stops it), and when its job was submitted the provider's cancel is
 * sent from here, claimed in the store so it is sent exactly once whoever else tries. False when
 * the id is unknown or the generation already finished.
 */
export const cancelGeneration = (
  id: string,
  options: Pick<DurableOptions, "jobClients"> = {}
): Effect.Effect<boolean, never, GenerationStore | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const store = yield* GenerationStore
    const asked = yield* Effect.orDie(store.requestCancel(id))
    if (!asked) return false
    const row = yield* Effect.orDie(store.get(id))
    if (Option.isSome(row) && row.value.ticket !== undefined && row.value.provider !== undefined) {
      const ticket = yield* Effect.orDie(decodeTicket(row.value.ticket))
      const jobs = options.jobClients?.[ticket.provider] ?? (yield* Effect.orDie(jobClientFromManifest(ticket.provider)))
      // Sent from here: the process running it may be gone.
      if (jobs !== undefined) yield* Steps.cancelOnce(store, jobs, id, ticket)
    }
    // Nothing in flight at the provider (no ticket, no submit being sent), or its cancel sent: cancelled now,
    // whether or not a process is running it (one that is stops on its own and records the same).
    if (Option.isSome(row) && (row.value.ticket !== undefined || row.value.intentAt === undefined)) {
      const request = decodeRequest(JSON.parse(row.value.request))
      const error = Generation.cancelledError(request, row.value.provider ?? "durable", row.value.requestId)
      // Its final event before its final row, as the steps write them (readers of the events end on it).
      yield* Steps.appendStatus(store, id, "cancelled", { error: error.message })
      yield* Effect.ignore(store.recordFailure(id, "cancelled", JSON.stringify(Schema.encodeSync(MediaErrorSchema)(error))))
    }
    return true
  })

/** The steps of `Generation` over the registry and store in context, as a layer. */
export const stepsLayer = (
  options: DurableOptions = {}
): Layer.Layer<Generation.GenerationSteps, ConfigError.ConfigError, GenerationStore | ProviderRegistry | HttpClient.HttpClient> =>
  Layer.effect(
    Generation.GenerationSteps,
    Effect.gen(function* () {
      const store = yield* GenerationStore
      const registry = yield* ProviderRegistry
      const http = yield* Effect.context<HttpClient.HttpClient>()
      const dir = options.stateDir ?? stateDir()
      const downloadDir = yield* Settings.downloadDir
      const publicUrl = yield* publicUrlOf(options)
      // The ledger of the state database (the hosting layers offer it) and the caller's budgets, when there are.
      const ledger = yield* Effect.serviceOption(CostLedger)
      const budgets = yield* Effect.serviceOption(Budgets)
      const clients = new Map<string, Option.Option<JobClient>>()
      const jobClient = (provider: string): Effect.Effect<Option.Option<JobClient>> =>
        Effect.suspend(() => {
          const known = clients.get(provider)
          if (known !== undefined) return Effect.succeed(known)
          const given = options.jobClients?.[provider]
          const made: Effect.Effect<Option.Option<JobClient>> =
            given !== undefined
              ? Effect.succeed(Option.some(given))
              : options.jobClients !== undefined
                ? Effect.succeed(Option.none())
                : Effect.provide(jobClientFromManifest(provider), http).pipe(
                    Effect.map(Option.fromNullable),
                    Effect.orElseSucceed(() => Option.none<JobClient>())
                  )
          return Effect.tap(made, (client) => Effect.sync(() => clients.set(provider, client)))
        })
      return Steps.make({
        store,
        registry,
        jobClient,
        outputDir: path.join(dir, "outputs"),
        downloadDir,
        policy: options.policy ?? "fail",
        ...(options.watchEvery !== undefined ? { watchEvery: options.watchEvery } : {}),
        ...(Option.isSome(publicUrl) ? { webhookUrl: (provider: string) => webhookUrlOf(publicUrl.value, provider) } : {}),
        ...(options.webhookFallbackPoll !== undefined ? { webhookFallbackPoll: options.webhookFallbackPoll } : {}),
        ...(Option.isSome(ledger) ? { ledger: ledger.value } : {}),
        ...(Option.isSome(budgets) ? { budgets: budgets.value } : {})
      })
    })
  )

/**
 * The generations service and the workflow registered with the engine in context, over the
 * store in context: what every hosting layer shares.
 */
export const hostLayer = (
  options: DurableOptions = {}
): Layer.Layer<Generations, ConfigError.ConfigError, WorkflowEngine | GenerationStore | ProviderRegistry | HttpClient.HttpClient> =>
  Layer.effect(Generations, make(options)).pipe(Layer.provideMerge(Generation.layer), Layer.provide(stepsLayer(options)))

/** Sharding settings every process on one database shares (they are also read from generic environment variables, so all are given). */
const commonSharding = {
  shardsPerGroup: 64,
  entityMessagePollInterval: Duration.millis(500),
  entityReplyPollInterval: Duration.millis(25),
  refreshAssignmentsInterval: Duration.seconds(1),
  shardLockRefreshInterval: Duration.seconds(1),
  shardLockExpiration: Duration.seconds(5),
  runnerHealthCheckInterval: Duration.seconds(2),
  // A shard that moves (a runner joined or is stopping) is handed over once its entities stopped, and
  // a generation stops only when interrupted: it resumes from its journal on the next owner, so the
  // default wait of 15 s for it to end by itself only held up every generation on the moving shard.
  entityTerminationTimeout: Duration.seconds(1)
} satisfies Partial<ShardingConfig.ShardingConfig["Type"]>

/**
 * Sharding on Postgres: a shard is held through an advisory lock of its runner's session, which no
 * other runner can take while that session lives, whatever the expiry; so the expiry only says
 * how soon a dead runner is noticed, and its shards taken over (a SQLite lock is a row that
 * expires: there a short expiry could hand a slow process's shards to another while it runs them).
 */
const pgSharding = {
  ...commonSharding,
  shardLockExpiration: Duration.seconds(3),
  refreshAssignmentsInterval: Duration.millis(500)
} satisfies Partial<ShardingConfig.ShardingConfig["Type"]>

/** The embedded engine's sharding: a runner named after this process (its shard locks are its own). */
export const embeddedSharding = (): Partial<ShardingConfig.ShardingConfig["Type"]> => ({
  ...commonSharding,
  runnerAddress: Option.some(RunnerAddress.make(`automarket-${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, 1)),
  runnerListenAddress: Option.none()
})

/** The path of the embedded SQLite file in a state folder. */
export const sqliteFile = (dir: string): string => path.join(dir, "automarket.db")

/**
 * The embedded engine alone: Effect's workflow engine on a single runner in this process, its
 * journal and the generations store in a SQLite file of the state folder (`automarket.db`).
 * Other workflows (the demo's) register with it; `layerSqlite` adds the generations.
 */
export const engineSqlite = (
  options: { readonly stateDir?: string; readonly filename?: string } = {}
): Layer.Layer<WorkflowEngine | GenerationStore | CostLedger | SqlClient.SqlClient, unknown> => {
  const dir = options.stateDir ?? stateDir()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const sqlite = SqliteClient.layer({ filename: options.filename ?? sqliteFile(dir) })
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(SingleRunner.layer({ shardingConfig: embeddedSharding(), runnerStorage: "sql" })))
  // The SQL client is offered too: other tables of the same database (the gateway's keys) use it.
  return Layer.mergeAll(engine, GenerationStoreLayer.layer, LedgerSql.layer).pipe(Layer.provideMerge(sqlite))
}

/** The generations store alone over the embedded SQLite file (no runner): for reading and cancelling. */
export const storeSqlite = (
  options: { readonly stateDir?: string; readonly filename?: string } = {}
): Layer.Layer<GenerationStore | CostLedger | SqlClient.SqlClient, unknown> => {
  const dir = options.stateDir ?? stateDir()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  return Layer.merge(GenerationStoreLayer.layer, LedgerSql.layer).pipe(Layer.provideMerge(SqliteClient.layer({ filename: options.filename ?? sqliteFile(dir) })))
}

/** The generations store alone over Postgres (no runner): for reading and cancelling. */
export const storePg = (url: string | Redacted.Redacted): Layer.Layer<GenerationStore | CostLedger | SqlClient.SqlClient, unknown> =>
  Layer.merge(GenerationStoreLayer.layer, LedgerSql.layer).pipe(
    Layer.provideMerge(PgClient.layer({ url: typeof url === "string" ? Redacted.make(url) : url, applicationName: "automarket" }))
  )

/**
 * The embedded default: a SQLite file in the state folder and a runner in this process. Every
 * unfinished generation in the file is resumed when this layer starts (by this process, or by
 * the one holding its shard; a process that died releases its shards after 5 s).
 */
export const layerSqlite = (
  options: DurableOptions & { readonly filename?: string } = {}
): Layer.Layer<Generations | GenerationStore | CostLedger | WorkflowEngine | SqlClient.SqlClient, unknown, ProviderRegistry | HttpClient.HttpClient> => {
  const dir = options.stateDir ?? stateDir()
  return hostLayer({ ...options, stateDir: dir }).pipe(Layer.provideMerge(engineSqlite({ ...options, stateDir: dir })))
}

/** Where a Postgres-hosted process stands: a runner listening on a loopback port, or a client that only submits and reads. */
export type PgRole = { readonly _tag: "runner"; readonly host: string; readonly port: number } | { readonly _tag: "client" }

/**
 * Many workers on one Postgres (`url`: `postgres://user@host:port/db`). A `runner` hosts
 * generations (its shards move to the others when it dies: about 3-5 s with these settings); a
 * `client` starts, awaits, lists and cancels them without running any.
 */
export const layerPg = (
  options: DurableOptions & { readonly url: string | Redacted.Redacted; readonly role: PgRole }
): Layer.Layer<Generations | GenerationStore | CostLedger | WorkflowEngine | SqlClient.SqlClient, unknown, ProviderRegistry | HttpClient.HttpClient> => {
  const dir = options.stateDir ?? stateDir()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
  const pg = PgClient.layer({ url, applicationName: "automarket" })
  const role = options.role
  const cluster =
    role._tag === "runner"
      ? NodeClusterSocket.layer({
          storage: "sql",
          shardingConfig: {
            ...pgSharding,
            runnerAddress: Option.some(RunnerAddress.make(role.host, role.port)),
            runnerListenAddress: Option.none()
          }
        })
      : NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: { ...pgSharding, runnerAddress: Option.none() } })
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(cluster))
  return hostLayer({ ...options, stateDir: dir }).pipe(
    Layer.provideMerge(engine),
    Layer.provideMerge(Layer.merge(GenerationStoreLayer.layer, LedgerSql.layer)),
    Layer.provideMerge(pg)
  )
}
