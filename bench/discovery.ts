// Discovery: the full model lists of the Together and OpenRouter providers (1,000 models each)
// from an emulator (bench/server.mjs --role discovery, its own process), through the Catalog on
// disk: cold (empty cache directory: network, decode, categorization, store) and warm (a new
// catalog over the same directory, as the next process would have: read and decode the
// entries). The providers are made with the catalog in context, so their `models` go through it
// (Provider.make registers each provider's discovery under its base URL).
// Prints one JSON line: { providers, models, cold: [ms], warm: [ms], slowest: [ms], description }.
//
//   node bench/.build/discovery.mjs <repeats>
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as Catalog from "../src/provider/Catalog.js"
import * as Providers from "./support/Providers.js"

const repeats = Number(process.argv[2] ?? "3")
const here = path.dirname(fileURLToPath(import.meta.url))
const server = spawn(process.execPath, [path.join(here, "..", "server.mjs"), "--role", "discovery"], { stdio: ["ignore", "pipe", "inherit"] })
const port = await new Promise<number>((resolve) => server.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port)))
const base = `http://127.0.0.1:${port}`
const sources = [
  { id: "together", baseUrl: `${base}/together`, make: Providers.together },
  { id: "openrouter", baseUrl: `${base}/openrouter`, make: Providers.openrouter }
]

/** All providers' models through a catalog over `directory`, in parallel; ms and the number of models. */
const timeCatalog = async (directory: string, only?: string): Promise<{ ms: number; models: number }> => {
  const runtime = ManagedRuntime.make(Layer.merge(httpClientLayer, Catalog.layer({ directory }).pipe(Layer.provide(NodeContext.layer))))
  const lists = await runtime.runPromise(
    Effect.gen(function* () {
      // Made with the catalog in context, each provider registers its discovery there (Provider.make).
      const chosen = sources.filter((s) => only === undefined || s.id === only)
      const models = yield* Effect.forEach(chosen, (s) => Effect.map(s.make(s.baseUrl), (provider) => provider.models))
      const start = performance.now()
      const found = yield* Effect.all(models, { concurrency: "unbounded" })
      return { ms: performance.now() - start, models: found.reduce((n, list) => n + list.length, 0) }
    })
  )
  await runtime.dispose()
  return lists
}

const cold: Array<number> = []
const warm: Array<number> = []
const slowest: Array<number> = []
let models = 0
// One unmeasured round first (JIT, connections).
const warmupDir = mkdtempSync(path.join(os.tmpdir(), "automarket-bench-catalog-"))
await timeCatalog(warmupDir)
rmSync(warmupDir, { recursive: true, force: true })
for (let r = 0; r < repeats; r++) {
  const directory = mkdtempSync(path.join(os.tmpdir(), "automarket-bench-catalog-"))
  try {
    const c = await timeCatalog(directory)
    cold.push(c.ms)
    models = c.models
    warm.push((await timeCatalog(directory)).ms)
    const alone: Array<number> = []
    for (const s of sources) {
      const own = mkdtempSync(path.join(os.tmpdir(), "automarket-bench-catalog-"))
      alone.push((await timeCatalog(own, s.id)).ms)
      rmSync(own, { recursive: true, force: true })
    }
    slowest.push(Math.max(...alone))
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}
server.kill("SIGTERM")
process.stdout.write(
  JSON.stringify({
    providers: sources.length,
    models,
    cold,
    warm,
    slowest,
    description: `Full model lists of ${sources.map((s) => s.id).join(" and ")} (${models} models in all, 1,000 each, categorized by each provider's rules) from an emulator in another process, through the Catalog on disk (Catalog.layer over a fresh temporary directory). Cold: empty directory (network, decode, categorization, store). Warm: a new catalog over the same directory, as the next process would have it (read, decode). "Slowest provider alone": the slower of the providers discovered each on its own, cold. ${repeats} repeats. fal.ai and Replicate are not included: their discovery pages through several endpoints the emulator does not serve yet.`
  }) + "\n"
)
process.exit(0)
