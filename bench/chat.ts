// One per-call overhead measurement: `requests` chat completions by one client at one concurrency
// against the emulator at `url`, after `warmup` unmeasured ones. Prints one JSON line:
// { client, concurrency, requests, seconds, rps, p50, p99, cpuMs }.
//
//   node --import tsx bench/chat.ts <client> <concurrency> <requests> <warmup> <baseUrl>
//
// Clients: undici (raw Pool), transform (provider text-to-text), registry (ProviderRegistry.generate
// with a fallback provider), openai (SDK), ai (Vercel AI SDK generateText).
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { Pool } from "undici"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as Asset from "../src/domain/Asset.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import * as Catalog from "../src/provider/Catalog.js"
import * as Providers from "./support/Providers.js"

const [client = "undici", concurrencyArg = "1", requestsArg = "1000", warmupArg = "200", baseUrl = "http://127.0.0.1:8080/v1"] =
  process.argv.slice(2)
const concurrency = Number(concurrencyArg)
const requests = Number(requestsArg)
const warmup = Number(warmupArg)
const prompt = "Say something short."
const model = "bench/echo-small"
const body = JSON.stringify({ model, messages: [{ role: "user", content: prompt }] })

/** A client: a function making one call, and how to close it. */
interface Client {
  readonly call: () => Promise<unknown>
  /** Effect-native clients run their loop in one Effect instead of one promise a call. */
  readonly effect?: Effect.Effect<unknown, unknown>
  readonly runtime?: ManagedRuntime.ManagedRuntime<never, never>
  readonly close: () => Promise<void>
}

const makeClient = async (name: string): Promise<Client> => {
  switch (name) {
    case "undici": {
      const url = new URL(baseUrl)
      const pool = new Pool(url.origin, { connections: 128 })
      const path = `${url.pathname.replace(/\/$/, "")}/chat/completions`
      const headers = { "content-type": "application/json", authorization: "Bearer bench-key-0123456789" }
      return {
        call: async () => {
          const res = await pool.request({ method: "POST", path, headers, body })
          const json = (await res.body.json()) as { choices: Array<{ message: { content: string } }> }
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
          return json.choices[0]!.message.content
        },
        close: () => pool.close()
      }
    }
    case "transform": {
      const runtime = ManagedRuntime.make(httpClientLayer)
      const provider = await runtime.runPromise(Providers.together(baseUrl))
      const textModel = await runtime.runPromise(provider.textToText(model))
      const input = Asset.text(prompt)
      const effect = Effect.map(textModel.transform(input), (text) => text.text)
      return { call: () => runtime.runPromise(effect), effect, runtime, close: () => runtime.dispose() }
    }
    case "registry": {
      const registryLayer = Layer.effect(
        ProviderRegistry.ProviderRegistry,
        Effect.flatMap(
          Effect.all([Providers.together(baseUrl), Providers.openrouter(baseUrl)]),
          ProviderRegistry.make
        )
      ).pipe(Layer.provide(Layer.merge(httpClientLayer, Catalog.layerMemory())))
      const runtime = ManagedRuntime.make(registryLayer)
      const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
      const input = Asset.text(prompt)
      const effect = Effect.map(registry.generate("text-to-text", input), (text) => text.text)
      return { call: () => runtime.runPromise(effect), effect, runtime: runtime as never, close: () => runtime.dispose() }
    }
    case "openai": {
      const { default: OpenAI } = await import("openai")
      const openai = new OpenAI({ baseURL: baseUrl, apiKey: "bench-key-0123456789" })
      return {
        call: async () => {
          const answer = await openai.chat.completions.create({ model, messages: [{ role: "user", content: prompt }] })
          return answer.choices[0]!.message.content
        },
        close: async () => {}
      }
    }
    case "ai": {
      const { generateText } = await import("ai")
      const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible")
      const provider = createOpenAICompatible({ name: "bench", baseURL: baseUrl, apiKey: "bench-key-0123456789" })
      const chat = provider.chatModel(model)
      return {
        call: async () => (await generateText({ model: chat, prompt })).text,
        close: async () => {}
      }
    }
    default:
      throw new Error(`unknown client ${name}`)
  }
}

async function startProfile(): Promise<Session> {
  const session = new Session()
  session.connect()
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
  await post("Profiler.enable")
  await post("Profiler.setSamplingInterval", { interval: 200 })
  await post("Profiler.start")
  return session
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const result = await new Promise<{ profile: unknown }>((resolve, reject) =>
    session.post("Profiler.stop", (error, value) => (error ? reject(error) : resolve(value as { profile: unknown })))
  )
  writeFileSync(file, JSON.stringify(result.profile))
  session.disconnect()
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

// Promise clients: `concurrency` loops taking the next request number until all are made.
const runPromises = async (c: Client, total: number, latencies: Float64Array | undefined) => {
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const start = performance.now()
      await c.call()
      if (latencies !== undefined) latencies[i] = performance.now() - start
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

// Effect clients: the same loops as fibers, in one Effect run (how an Effect program calls it).
const runEffects = (c: Client, total: number, latencies: Float64Array | undefined) => {
  const effect = c.effect!
  let next = 0
  const worker = Effect.suspend(() => {
    const loop: Effect.Effect<void, unknown> = Effect.suspend(() => {
      if (next >= total) return Effect.void
      const i = next++
      const start = performance.now()
      return Effect.flatMap(effect, () => {
        if (latencies !== undefined) latencies[i] = performance.now() - start
        return loop
      })
    })
    return loop
  })
  return c.runtime!.runPromise(Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true }))
}

const c = await makeClient(client)
const run = c.effect !== undefined ? runEffects : runPromises
await run(c, warmup, undefined)
// BENCH_PROFILE=<file>: a V8 CPU profile of the measured requests only (not start-up, not warm-up).
const profileFile = process.env.BENCH_PROFILE
const session = profileFile !== undefined && profileFile !== "" ? await startProfile() : undefined
const latencies = new Float64Array(requests)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await run(c, requests, latencies)
const seconds = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
latencies.sort()
if (session !== undefined) await stopProfile(session, profileFile!)
await c.close()
process.stdout.write(
  JSON.stringify({
    client,
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
