/**
 * Part 1 of `npm run soak`, the fault matrix: each kind of fault against each remote provider,
 * through the registry with a second provider configured (the other one of its family), and
 * what happened compared with what the README promises (Expectations.ts).
 *
 *   node --import tsx reliability/matrix.ts <out.json>
 *
 * Each cell has fresh emulators and fresh providers (one key each, the default 3 retries; the
 * per-request timeout, poll interval, download dir and loopback permission from the environment
 * the runner sets), so that no cell sees another's retired key or open circuit. The fault is
 * played on every request the call makes to the first provider. A "container killed" cell runs
 * the first provider's emulator in a child process (host.ts) and kills it with SIGKILL as soon as
 * it holds the call's request. Cells run a few at a time.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { writeFileSync } from "node:fs"
import * as Asset from "../src/domain/Asset.js"
import type { MediaError } from "../src/domain/Errors.js"
import * as Catalog from "../src/provider/Catalog.js"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import * as Emulators from "./Emulators.js"
import { type CellObservation, expectedCell, judgeCell, type Outcome } from "./Expectations.js"
import { faultKinds, type FaultKind, familyOf, markerText, notApplicable, type RemoteId, remoteIds, siblingOf, timing } from "./FaultPlan.js"
import { spawnHost } from "./Hosted.js"
import { observe } from "./Observed.js"
import * as Providers from "./Providers.js"
import type { MatrixCell, MatrixResult } from "./Results.js"

const out = process.argv[2] ?? "matrix.json"
const requestTimeoutMs = Number(process.env.SOAK_REQUEST_TIMEOUT_MS ?? "1000")
// 5 s: a job with a failed status poll (retried with backoff) finished in 3 s on a quiet machine but not on a crowded one.
const jobTimeoutMs = Number(process.env.SOAK_JOB_TIMEOUT_MS ?? "5000")
const concurrency = Number(process.env.SOAK_MATRIX_CONCURRENCY ?? "4")
const faults = timing(requestTimeoutMs, jobTimeoutMs)
const key = "soak-matrix-key"
const started = performance.now()
const log = (line: string) => process.stderr.write(`[matrix ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)

/** What a cell calls: a capability through `generateDetailed`, or `streamText`. */
type Call =
  | { readonly _tag: "text"; readonly label: string }
  | { readonly _tag: "image"; readonly label: string }
  | { readonly _tag: "video"; readonly label: string }
  | { readonly _tag: "stream"; readonly label: string }

const callOf = (provider: RemoteId, kind: FaultKind): Call => {
  if (familyOf(provider) === "queued") return { _tag: "video", label: "text-to-video" }
  if (kind === "truncatedSse") return { _tag: "stream", label: "streamText" }
  if (kind === "resultNotFound") return { _tag: "image", label: "text-to-image (result by URL)" }
  return { _tag: "text", label: "text-to-text" }
}

/** Run the call; its outcome and, when it failed, the error's message. */
const runCall = (
  registry: ProviderRegistry.ProviderRegistryService,
  call: Call,
  input: Asset.Text,
  order: ReadonlyArray<string>
): Effect.Effect<{ readonly final: Outcome; readonly message?: string }> => {
  const route = { providers: order }
  const ended = <A>(effect: Effect.Effect<A, MediaError>) =>
    Effect.map(Effect.either(effect), (result) =>
      Either.isRight(result) ? { final: "ok" as const } : { final: result.left._tag, message: result.left.message }
    )
  switch (call._tag) {
    case "text":
      return ended(registry.generateDetailed("text-to-text", input, route))
    case "image":
      return ended(registry.generateDetailed("text-to-image", input, { ...route, options: { extra: { response_format: "url" } } }))
    case "video":
      return ended(registry.generateDetailed("text-to-video", input, { ...route, options: { durationSeconds: 2 } }))
    case "stream":
      return ended(Stream.runCount(registry.streamText(input, route)))
  }
}

/** The first provider's emulator: in this process, or (killed cells) in a child process killed when it holds the request. */
const firstEmulator = (provider: RemoteId, kind: FaultKind) =>
  kind !== "killed"
    ? Effect.map(Emulators.start(provider, { timing: faults, keys: [key] }), (emulator) => ({ baseUrl: emulator.baseUrl, stats: emulator.stats }))
    : Effect.acquireRelease(
        Effect.promise(() => spawnHost({ providers: [provider], timing: faults, keys: [key] }, (_held, child) => child.kill("SIGKILL"))),
        (host) => Effect.promise(() => host.stop(1000))
      ).pipe(
        Effect.map((host) => ({
          baseUrl: host.urls[provider] ?? "",
          // The process is dead after the hold: its counts are those it printed when it held the request.
          stats: (): Emulators.EmulatorStats =>
            host.held[0]?.stats ?? { requests: 0, operations: 0, polls: 0, files: 0, cancels: 0, jobs: 0, doubleSubmits: 0 }
        }))
      )

const runCell = (provider: RemoteId, kind: FaultKind, index: number): Effect.Effect<MatrixCell, never, HttpClient.HttpClient> => {
  const note = notApplicable(familyOf(provider), kind)
  const expected = expectedCell(provider, kind)
  if (note !== undefined || expected === undefined) {
    return Effect.succeed({ provider, kind, applicable: false, note: note ?? "no expectation" })
  }
  const call = callOf(provider, kind)
  const sibling = siblingOf(provider)
  const cellStarted = performance.now()
  const seconds = () => (performance.now() - cellStarted) / 1000
  return Effect.scoped(
    Effect.gen(function* () {
      const first = yield* firstEmulator(provider, kind)
      const second = yield* Emulators.start(sibling, { timing: faults, keys: [key] })
      const setup = (baseUrl: string): Providers.ProviderSetup => ({ baseUrl, keys: [key], jobTimeout: Duration.millis(jobTimeoutMs) })
      // Built into the cell's scope: a catalog offered only while `make` runs is closed before the
      // call, and the providers' model lookups would wait on its finished refresh fibers for ever.
      const catalog = yield* Layer.build(Catalog.layerMemory())
      const made = yield* Effect.all([Providers.make(provider, setup(first.baseUrl)), Providers.make(sibling, setup(second.baseUrl))]).pipe(
        Effect.provide(catalog)
      )
      const watched = observe(made[0])
      const registry = yield* ProviderRegistry.make([watched.provider, made[1]])
      const input = Asset.text(`${markerText({ call: index, at: provider, fault: kind, times: "all" })} Say something short.`)
            const ended = yield* runCall(registry, call, input, [provider, sibling])
      const stats = first.stats()
      const observed: CellObservation = {
        primary: watched.log.outcomes[0] ?? "ok",
        attempts: kind === "resultNotFound" ? stats.files : stats.operations,
        fallback: second.stats().operations > 0,
        final: ended.final,
        jobs: stats.jobs,
        cancels: stats.cancels,
        doubleSubmits: stats.doubleSubmits
      }
      const differences = judgeCell(expected, observed)
      log(`${provider} × ${kind}: ${differences.length === 0 ? "as expected" : differences.join("; ")}`)
      const cell: MatrixCell = {
        provider,
        kind,
        applicable: true,
        call: call.label,
        expected,
        observed,
        differences,
        seconds: seconds(),
        ...(ended.message !== undefined ? { message: ended.message.slice(0, 300) } : {})
      }
      return cell
    })
  ).pipe(
    Effect.timeout("120 seconds"),
    Effect.catchAllCause((cause) =>
      Effect.succeed<MatrixCell>({
        provider,
        kind,
        applicable: true,
        call: call.label,
        expected,
        observed: undefined,
        differences: ["the cell did not finish"],
        seconds: seconds(),
        error: String(cause).slice(0, 500)
      })
    )
  )
}

const runtime = ManagedRuntime.make(httpClientLayer)
// SOAK_MATRIX_PROVIDERS / SOAK_MATRIX_KINDS (comma lists) narrow the matrix: the self-check runs one provider.
const listFromEnv = <A extends string>(name: string, all: ReadonlyArray<A>): ReadonlyArray<A> => {
  const wanted = (process.env[name] ?? "").split(",").filter((x) => x !== "")
  return wanted.length === 0 ? all : all.filter((x) => wanted.includes(x))
}
const cells = listFromEnv("SOAK_MATRIX_PROVIDERS", remoteIds).flatMap((provider) =>
  listFromEnv("SOAK_MATRIX_KINDS", faultKinds).map((kind) => ({ provider, kind }))
)
log(`${cells.length} cells, ${concurrency} at a time; request timeout ${requestTimeoutMs} ms, job budget ${jobTimeoutMs} ms`)
const results = await runtime.runPromise(
  Effect.forEach(cells, ({ kind, provider }, index) => runCell(provider, kind, index + 1), { concurrency })
)
await runtime.dispose()
const result: MatrixResult = {
  settings: {
    requestTimeoutMs,
    jobTimeoutMs,
    slowMs: faults.slowMs,
    retryAfterSeconds: faults.retryAfterSeconds,
    pollInterval: process.env.AUTOMARKET_POLL_INTERVAL ?? "default",
    retries: 3,
    concurrency
  },
  cells: results,
  seconds: (performance.now() - started) / 1000
}
writeFileSync(out, JSON.stringify(result, null, 2))
log(`wrote ${out}`)
process.exit(0)
