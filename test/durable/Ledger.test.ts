/**
 * The cost ledger over a mixed run, against what the emulators billed: a chat on OpenRouter (its
 * own `usage.cost`), an image on Together (megapixels at its listed price), a queued video on fal
 * through a durable generation, a fal job that fails (not billed) and one cancelled (not billed).
 * The ledger's total equals the sum of the emulators' bills, entry by entry, and a budget then
 * stops the next video before it is submitted: fal sees no submit. The ledger is the SQL one in
 * the durable layer's SQLite file; the same file reads back through a second client.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { text } from "../../src/domain/Asset.js"
import { Durable } from "../../src/durable/index.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as OpenRouter from "../../src/providers/openrouter/OpenRouterProvider.js"
import * as Together from "../../src/providers/together/TogetherProvider.js"
import * as Budget from "../../src/registry/Budget.js"
import { CostLedger } from "../../src/registry/Ledger.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import { openrouter as openRouter } from "../emulators/openrouter.js"
import { together } from "../emulators/together.js"
import { env } from "../providers/falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-ledger-"))
const stateDir = path.join(dir, "state")
const scope = Effect.runSync(Scope.make())
const fal = makeFal({ queueSteps: 1, runSteps: 1 })
const video = "fal-ai/minimax/video-01"
// $0.60 a day: the run below spends about $0.53; a second video ($0.50) would pass it.
const limits: Budget.BudgetLimits = { global: { day: 0.6 } }
type Emulators = { readonly tg: Effect.Effect.Success<ReturnType<typeof together>>; readonly or: Effect.Effect.Success<ReturnType<typeof openRouter>> }
let emulators: Emulators
let runtime: ManagedRuntime.ManagedRuntime<Durable.Generations | CostLedger | ProviderRegistry.ProviderRegistry, unknown>

const remote = (baseUrl: string, key: string) => ({ apiKeys: [Redacted.make(key)], baseUrl, timeout: Duration.seconds(5), retries: 0 })

beforeAll(async () => {
  emulators = await Effect.runPromise(Effect.all({ tg: together(), or: openRouter() }).pipe(Scope.extend(scope)))
  const providers = Effect.gen(function* () {
    const tg = yield* Together.make(remote(emulators.tg.baseUrl, "tg-key-0123456789"))
    const or = yield* OpenRouter.make(remote(emulators.or.baseUrl, "or-key-0123456789"))
    const queued = yield* FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("10 millis") }).pipe(
      Effect.provide(clientLayer(fal)),
      Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
    )
    return { list: [tg, or, queued.provider], jobs: queued.jobs }
  })
  const layer = Layer.unwrapScoped(
    Effect.map(providers, ({ jobs, list }) => {
      const registry = ProviderRegistry.fromProviders(list)
      return Durable.layerSqlite({ stateDir, jobClients: { falai: jobs }, watchEvery: "20 millis" }).pipe(
        Layer.provide(clientLayer(fal)),
        Layer.provideMerge(registry),
        // The budgets sit under the durable layer: its steps and the registry's calls ask the same ones.
        Layer.provideMerge(Budget.layer(limits))
      )
    })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  runtime = ManagedRuntime.make(layer as Layer.Layer<Durable.Generations | CostLedger | ProviderRegistry.ProviderRegistry, unknown>)
  await runtime.runPromise(Effect.void)
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
})

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0)

describe("the cost ledger over a mixed run", () => {
  it("holds what the emulators billed: a chat, an image, a queued video; a failed and a cancelled job at nothing", async () => {
    await runtime.runPromise(
      Effect.gen(function* () {
        const registry = yield* ProviderRegistry.ProviderRegistry
        const generations = yield* Durable.Generations
        // A chat on OpenRouter (Together left out): OpenRouter's own cost.
        yield* registry.generate("text-to-text", text("hello"), { exclude: ["together", "falai"] })
        // An image on Together, 1024x1024 of FLUX.1-dev at $0.025 a megapixel.
        yield* registry.generate("text-to-image", text("a lighthouse"), {
          exclude: ["openrouter", "falai"],
          models: { together: "black-forest-labs/FLUX.1-dev" },
          options: { width: 1024, height: 1024 }
        })
        // A fal job that fails: fal bills nothing.
        fal.settings.failWith = "CUDA out of memory"
        const failed = yield* Effect.exit(generations.run({ capability: "text-to-video", input: text("storm"), provider: "falai", model: video, key: "failed-1" }))
        expect(Exit.isFailure(failed)).toBe(true)
        // A fal job cancelled while it runs: fal bills nothing.
        fal.settings.queueSteps = 1_000
        const id = yield* generations.start({ capability: "text-to-video", input: text("calm"), provider: "falai", model: video, key: "cancelled-1" })
        yield* Effect.repeat(generations.status(id), { until: (row) => row._tag === "Some" && row.value.ticket !== undefined, schedule: Schedule.spaced("20 millis") })
        expect(yield* generations.cancel(id)).toBe(true)
        const cancelled = yield* Effect.exit(generations.await(id))
        expect(Exit.isFailure(cancelled)).toBe(true)
        // The cancel is final at once (its row); the run that held the job stops at its next look at the
        // store and writes the job's entry then, releasing what it held of the budget.
        const ledger = yield* CostLedger
        yield* Effect.repeat(ledger.entries(), {
          until: (entries) => entries.some((entry) => entry.generationId === id),
          schedule: Schedule.spaced("20 millis")
        }).pipe(Effect.timeout("10 seconds"))
        fal.settings.queueSteps = 1
        // A queued video that finishes: $0.50 a video.
        const done = yield* generations.run({ capability: "text-to-video", input: text("waves"), provider: "falai", model: video, key: "video-1" })
        expect(done.output.costUsd).toBe(0.5)
      })
    )
    const entries = await runtime.runPromise(Effect.flatMap(CostLedger, (ledger) => ledger.entries()))
    const billed = [...emulators.or.state.billed, ...emulators.tg.state.billed, ...fal.billed.values()]
    expect(billed).toHaveLength(3)
    expect(entries.map((entry) => [entry.provider, entry.status, entry.costSource])).toEqual([
      ["openrouter", "succeeded", "provider"],
      ["together", "succeeded", "catalog"],
      ["falai", "failed", "catalog"],
      ["falai", "cancelled", "catalog"],
      ["falai", "succeeded", "catalog"]
    ])
    // Entry by entry, and in total: what each emulator billed.
    expect(entries[0]!.costUsd).toBeCloseTo(emulators.or.state.billed[0]!, 12)
    expect(entries[1]!.costUsd).toBeCloseTo(emulators.tg.state.billed[0]!, 12)
    expect(entries.slice(2).map((entry) => entry.costUsd)).toEqual([0, 0, 0.5])
    expect(sum(entries.map((entry) => entry.costUsd ?? Number.NaN))).toBeCloseTo(sum(billed), 12)
    // The durable entries name their generation and the provider's job.
    expect(entries.slice(2).map((entry) => entry.generationId)).toEqual(["failed-1", "cancelled-1", "video-1"])
    expect(entries.slice(2).every((entry) => entry.jobId !== undefined && entry.who.startsWith("local:"))).toBe(true)
    // Resuming a finished generation writes nothing again.
    await runtime.runPromise(Effect.flatMap(Durable.Generations, (generations) => generations.await("video-1")))
    expect(await runtime.runPromise(Effect.flatMap(CostLedger, (ledger) => ledger.entries()))).toHaveLength(5)
  }, 60_000)

  it("stops the next video before its submit once the budget would be passed: fal sees no request", async () => {
    const submits = fal.count("submit")
    const exit = await runtime.runPromise(
      Effect.exit(
        Effect.flatMap(Durable.Generations, (generations) =>
          generations.run({ capability: "text-to-video", input: text("more waves"), provider: "falai", model: video, key: "video-2" })
        )
      )
    )
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("BudgetExceeded")
    expect(fal.count("submit")).toBe(submits)
    // The registry's way in is refused the same: nothing sent.
    const direct = await runtime.runPromise(
      Effect.exit(Effect.flatMap(ProviderRegistry.ProviderRegistry, (registry) => registry.generate("text-to-video", text("again"), { models: { falai: video } })))
    )
    expect(Exit.isFailure(direct) && JSON.stringify(direct.cause)).toContain("BudgetExceeded")
    expect(fal.count("submit")).toBe(submits)
    // The report a user reads: by provider, largest first.
    const byProvider = await runtime.runPromise(Effect.flatMap(CostLedger, (ledger) => ledger.totals("provider")))
    expect(byProvider.map((group) => [group.key, group.calls])).toEqual([
      ["falai", 3],
      ["together", 1],
      ["openrouter", 1]
    ])
  }, 60_000)
})
