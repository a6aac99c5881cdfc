// What durability costs: generations of instant jobs on the fal emulator (served by this process
// on 127.0.0.1; a job is complete at its first status poll), through the provider directly and
// through durable generations, side by side.
//
//   node bench/.build/durable.mjs latency <n> <none|sqlite|pg> [postgres url]
//     n generations one after the other; prints { perGeneration: [ms...], journalRows }
//     (journalRows: rows the engine and the store wrote per generation).
//   node bench/.build/durable.mjs throughput <n> <workers: 0|1|3> [postgres url]
//     n generations at once; 0 workers: the provider directly, 64 at a time, in this process;
//     1 or 3: `automarket worker` processes on the Postgres database, the generations started by a
//     client here. Prints { seconds, perSecond } (workers' start-up not counted).
//   node bench/.build/durable.mjs postgres
//     starts a throwaway Postgres, prints { url } and keeps it until stdin closes.
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import pg from "pg"
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { text } from "../src/domain/Asset.js"
import * as Durable from "../src/durable/Durable.js"
import * as FalAi from "../src/providers/falai/index.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import { makeFal, serve } from "../test/emulators/falai.js"
import { startPostgres } from "../test/support/Postgres.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const bin = path.resolve(here, "..", "..", "bin", "automarket.mjs")
const [mode = "latency", countArg = "100", backend = "none", url = ""] = process.argv.slice(2)
const count = Number(countArg)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-bench-durable-"))
const scope = Effect.runSync(Scope.make())
const finish = async (result: unknown) => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0)
}

if (mode === "postgres") {
  const server = await startPostgres()
  process.stdout.write(JSON.stringify({ url: server.url }) + "\n")
  process.stdin.resume()
  process.stdin.on("end", () => void server.stop().then(() => process.exit(0)))
} else {
  const fal = await Effect.runPromise(Scope.extend(serve(makeFal({ queueSteps: 0, runSteps: 0, fileBytes: 4096 })), scope))
  const env = {
    FALAI_API_KEY: fal.settings.key,
    FALAI_BASE_URL: fal.baseUrl,
    FALAI_PLATFORM_URL: fal.baseUrl,
    AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1",
    AUTOMARKET_POLL_INTERVAL: "20 millis",
    AUTOMARKET_DOWNLOAD_DIR: path.join(dir, "downloads")
  }
  Object.assign(process.env, env)
  const http = NodeHttpClient.layerUndici
  // One HTTP client for the provider, alive for the whole run.
  const base = ManagedRuntime.make(http)
  const made = await base.runPromise(FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("20 millis") }))
  const registry = ProviderRegistry.fromProviders([made.provider])
  const request = (i: number): Durable.StartRequest => ({
    capability: "text-to-image",
    input: text(`bench ${i}`),
    provider: "falai",
    model: "fal-ai/flux/schnell"
  })
  const direct = (i: number) =>
    Effect.flatMap(made.provider.textToImage("fal-ai/flux/schnell"), (model) => model.transform(text(`bench ${i}`)))

  if (mode === "latency") {
    const layer =
      backend === "sqlite"
        ? Durable.layerSqlite({ stateDir: path.join(dir, "state"), jobClients: { falai: made.jobs } })
        : backend === "pg"
          ? Durable.layerPg({ url, role: { _tag: "runner", host: "127.0.0.1", port: 34000 + Math.floor(Math.random() * 20000) }, stateDir: path.join(dir, "state"), jobClients: { falai: made.jobs } })
          : undefined
    const times: Array<number> = []
    if (layer === undefined) {
      for (let i = 0; i < 20; i++) await base.runPromise(direct(i))
      for (let i = 0; i < count; i++) {
        const t = performance.now()
        await base.runPromise(direct(i))
        times.push(performance.now() - t)
      }
      await finish({ perGeneration: times, journalRows: 0, windows: [] })
    } else {
      const runtime = ManagedRuntime.make(layer.pipe(Layer.provide(registry), Layer.provide(http)))
      const generations = await runtime.runPromise(Durable.Generations)
      for (let i = 0; i < 20; i++) await runtime.runPromise(generations.run(request(i)))
      for (let i = 0; i < count; i++) {
        const t = performance.now()
        await runtime.runPromise(generations.run(request(i)))
        times.push(performance.now() - t)
      }
      await runtime.dispose()
      // What the journal holds per generation (the engine's messages and replies, the store's rows).
      let rows = 0
      let windows: Array<number> = []
      const total = count + 20
      if (backend === "sqlite") {
        const Database = (await import("better-sqlite3")).default
        const db = new Database(path.join(dir, "state", "automarket.db"), { readonly: true })
        for (const table of ["cluster_messages", "cluster_replies", "automarket_generation_events", "automarket_generations"]) {
          rows += (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
        }
        windows = (db.prepare("SELECT submitted_at - intent_at AS w FROM automarket_generations").all() as Array<{ w: number }>).map((r) => Number(r.w))
        db.close()
      } else {
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        for (const table of ["cluster_messages", "cluster_replies", "automarket_generation_events", "automarket_generations"]) {
          rows += Number((await client.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n)
        }
        windows = (await client.query("SELECT submitted_at - intent_at AS w FROM automarket_generations")).rows.map((r) => Number(r.w))
        await client.query("TRUNCATE cluster_messages, cluster_replies, automarket_generation_events, automarket_generations")
        await client.end()
      }
      // The double-pay window: from the intent written to the ticket written, per generation.
      await finish({ perGeneration: times, journalRows: rows / total, windows })
    }
  } else {
    const workers = Number(backend)
    if (workers === 0) {
      const t = performance.now()
      await base.runPromise(Effect.forEach(Array.from({ length: count }, (_, i) => i), direct, { concurrency: 64, discard: true }))
      const seconds = (performance.now() - t) / 1000
      await finish({ seconds, perSecond: count / seconds })
    } else {
      const children: Array<ChildProcess> = []
      const ready = Array.from({ length: workers }, (_, w) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, [bin, "worker", "--database", url], {
            env: { ...process.env, AUTOMARKET_STATE_DIR: path.join(dir, `state-${w}`) },
            stdio: ["ignore", "ignore", "pipe"]
          })
          children.push(child)
          let stderr = ""
          child.stderr!.on("data", (chunk: Buffer) => {
            stderr += chunk.toString()
            if (stderr.includes("worker ready")) resolve()
          })
          child.once("exit", (code) => reject(new Error(`worker exited (${code}): ${stderr}`)))
        })
      )
      // Workers never outlive this process, whatever happens to it.
      const stopWorkers = () => {
        for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
      }
      process.once("exit", stopWorkers)
      await Promise.all(ready)
      const runtime = ManagedRuntime.make(
        Durable.layerPg({ url, role: { _tag: "client" }, stateDir: path.join(dir, "client") }).pipe(Layer.provide(registry), Layer.provide(http))
      )
      const generations = await runtime.runPromise(Durable.Generations)
      const t = performance.now()
      await runtime.runPromise(Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => generations.start(request(i)), { concurrency: 16, discard: true }))
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      for (;;) {
        const rows = (await client.query("SELECT status, COUNT(*) AS n FROM automarket_generations WHERE status IN ('succeeded', 'failed', 'cancelled') GROUP BY status")).rows
        const final = rows.reduce((sum: number, row: { n: string }) => sum + Number(row.n), 0)
        if (final >= count) {
          const failed = rows.filter((row: { status: string }) => row.status !== "succeeded")
          if (failed.length > 0) throw new Error(`generations did not all succeed: ${JSON.stringify(rows)}`)
          break
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      const seconds = (performance.now() - t) / 1000
      await client.query("TRUNCATE cluster_messages, cluster_replies, automarket_generation_events, automarket_generations")
      await client.end()
      await runtime.dispose()
      for (const child of children) {
        child.removeAllListeners("exit")
        child.kill("SIGTERM")
      }
      await Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)))))
      await finish({ seconds, perSecond: count / seconds })
    }
  }
}
