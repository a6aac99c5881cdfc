// What the gateway adds to a chat completion: the same OpenAI-style request sent straight to the
// chat emulator (bench/server.mjs --role chat) and through an automarket gateway in front of it.
//
//   node bench/.build/gateway.mjs serve <emulator base url, …/v1>
//     The gateway in this process (Gateway.layer, as `automarket serve gateway` builds it on the
//     embedded SQLite file: durable generations, keys and spend in a temporary state folder; keys
//     checked by Access.layerKeys), its registry holding one provider, Together, pointed at the
//     emulator. One key with a rate limit far above what the benchmark sends. Prints
//     { port, secret } once listening; serves until stdin closes.
//   node bench/.build/gateway.mjs load <direct|gateway> <base url> <concurrency> <requests> <warmup>
//     `requests` chat completions with undici at `concurrency` (after `warmup` unmeasured ones);
//     the gateway's key from BENCH_GATEWAY_KEY. Prints { target, concurrency, requests, seconds,
//     rps, p50, p99, cpuMs }: the same figures, and the same percentile, as bench/chat.ts.
//
// The load loop is the one of bench/chat.ts's raw undici client, so that "direct" here is section
// 1's baseline; it is kept here because the gateway needs its own key and model name.
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Pool } from "undici"
import * as Durable from "../src/durable/Durable.js"
import * as Access from "../src/gateway/Access.js"
import * as Gateway from "../src/gateway/Gateway.js"
import { KeyStore } from "../src/gateway/KeyState.js"
import * as Keys from "../src/gateway/Keys.js"
import * as RateLimiter from "../src/gateway/RateLimiter.js"
import * as Webhooks from "../src/gateway/Webhooks.js"
import * as Catalog from "../src/provider/Catalog.js"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as Ledger from "../src/registry/Ledger.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import * as Providers from "./support/Providers.js"

const [mode = "serve", ...args] = process.argv.slice(2)
const prompt = "Say something short."
/** The emulator's one model; through the gateway it is named with its provider (no discovery on the way). */
const model = "bench/echo-small"

const serve = async (upstream: string) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-bench-gateway-"))
  // With a catalog, as `serve gateway` has (AutoMarket.layer): the model list is read from memory, not discovered per call.
  const registry = Layer.effect(ProviderRegistry.ProviderRegistry, Effect.flatMap(Providers.together(upstream), (provider) => ProviderRegistry.make([provider]))).pipe(
    Layer.provide(Catalog.layerMemory()),
    Layer.provideMerge(httpClientLayer)
  )
  const durable = Durable.layerSqlite({ stateDir }).pipe(Layer.provideMerge(registry))
  const access = Access.layerKeys().pipe(Layer.provideMerge(Keys.layer), Layer.provide(RateLimiter.layer()))
  const gateway = Gateway.layer({ host: "127.0.0.1", port: 0, stateDir, database: "sqlite" }).pipe(
    Layer.provideMerge(access),
    Layer.provide(Webhooks.layer()),
    Layer.provide(Ledger.layerMemory),
    Layer.provideMerge(durable)
  )
  const runtime = ManagedRuntime.make(gateway)
  const started = await runtime.runPromise(
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      const keys = yield* KeyStore
      // Far above any rate this machine reaches: the limiter is on the path, and never says no.
      const { secret } = yield* keys.create({ name: "bench", ratePerMinute: 100_000_000, spendLimitUsd: undefined, spendPeriod: "month" })
      const address = server.address
      return { port: address._tag === "TcpAddress" ? address.port : 0, secret: Redacted.value(secret) }
    })
  )
  process.stdout.write(JSON.stringify(started) + "\n")
  process.stdin.resume()
  process.stdin.on("end", () => {
    void runtime.dispose().finally(() => {
      fs.rmSync(stateDir, { recursive: true, force: true })
      process.exit(0)
    })
  })
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const load = async (target: string, baseUrl: string, concurrency: number, requests: number, warmup: number) => {
  const url = new URL(baseUrl)
  const pool = new Pool(url.origin, { connections: 128 })
  const route = `${url.pathname.replace(/\/$/, "")}/chat/completions`
  const bearer = target === "gateway" ? process.env.BENCH_GATEWAY_KEY : "bench-key-0123456789"
  if (bearer === undefined || bearer === "") throw new Error("BENCH_GATEWAY_KEY is not set")
  const headers = { "content-type": "application/json", authorization: `Bearer ${bearer}` }
  const body = JSON.stringify({ model: target === "gateway" ? `together/${model}` : model, messages: [{ role: "user", content: prompt }] })
  const call = async () => {
    const res = await pool.request({ method: "POST", path: route, headers, body })
    const json = (await res.body.json()) as { choices?: Array<{ message: { content: string } }> }
    if (res.statusCode !== 200 || typeof json.choices?.[0]?.message.content !== "string") {
      throw new Error(`HTTP ${res.statusCode}: ${JSON.stringify(json).slice(0, 300)}`)
    }
  }
  const run = async (total: number, latencies: Float64Array | undefined) => {
    let next = 0
    const worker = async () => {
      while (next < total) {
        const i = next++
        const start = performance.now()
        await call()
        if (latencies !== undefined) latencies[i] = performance.now() - start
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }
  await run(warmup, undefined)
  const latencies = new Float64Array(requests)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run(requests, latencies)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  latencies.sort()
  await pool.close()
  process.stdout.write(
    JSON.stringify({
      target,
      concurrency,
      requests,
      seconds,
      rps: requests / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      cpuMs: (cpu.user + cpu.system) / 1000
    }) + "\n"
  )
  process.exit(0)
}

if (mode === "serve") await serve(args[0] ?? "http://127.0.0.1:8080/v1")
else if (mode === "load") await load(args[0] ?? "direct", args[1] ?? "http://127.0.0.1:8080/v1", Number(args[2] ?? "1"), Number(args[3] ?? "1000"), Number(args[4] ?? "200"))
else throw new Error(`unknown mode ${mode} (serve or load)`)
