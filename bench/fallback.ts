// Fallback latency: the registry holds two providers; the first answers every call with 402
// (quota exhausted), the second normally. The emulator (bench/server.mjs --role fallback, another
// process) notes when the 402 answer finished and when the second provider's request arrived;
// the gap is what the library adds between the two: reading the refusal, mapping it to
// QuotaExceeded, retiring the key, moving to the next step of the fallback plan, and sending.
// Each call uses fresh providers (a retired key would otherwise make later calls skip the
// network). Prints one JSON line: { calls, gaps: [ms, ...] }.
//
//   node bench/.build/fallback.mjs <calls> <firstBaseUrl> <secondBaseUrl> <gapsUrl>
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as Asset from "../src/domain/Asset.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import * as Providers from "./support/Providers.js"

const [callsArg = "100", first = "", second = "", gapsUrl = ""] = process.argv.slice(2)
const calls = Number(callsArg)
const runtime = ManagedRuntime.make(httpClientLayer)
const input = Asset.text("Say something short.")

const once = Effect.gen(function* () {
  const providers = yield* Effect.all([Providers.together(first), Providers.openrouter(second)])
  const registry = yield* ProviderRegistry.make(providers)
  // Fail loudly if the call did not fall back (the measurement would be meaningless).
  const generation = yield* registry.generateDetailed("text-to-text", input)
  if (generation.provider !== "openrouter" || generation.attempts[0]?.error?.tag !== "QuotaExceeded") {
    return yield* Effect.die(new Error(`no fallback happened: ${JSON.stringify(generation.attempts)}`))
  }
})

// Warm-up (connections, JIT), then the measured calls.
for (let i = 0; i < 20; i++) await runtime.runPromise(once)
await fetch(gapsUrl)
for (let i = 0; i < calls; i++) await runtime.runPromise(once)
const gaps = (await (await fetch(gapsUrl)).json()) as Array<number>
await runtime.dispose()
process.stdout.write(JSON.stringify({ calls, gaps }) + "\n")
process.exit(0)
