// What routing costs as the catalog grows: one provider (built with the real `Provider.make`)
// whose discovery lists `size` synthetic text-to-image models at assorted prices (some free), its
// transform answering at once in-process, so that the only work besides the transform is the
// registry's: candidates, ranking, availability, the fallback plan. Per call, one at a time:
// `ProviderRegistry.generate` and, as the baseline, the model's `transform` called directly.
// Prints one JSON line: { size, calls, registryUs, directUs }.
//
//   node bench/.build/routing.mjs <size> <calls> <warmup>
import * as Effect from "effect/Effect"
import * as Asset from "../src/domain/Asset.js"
import type { ProviderModel } from "../src/domain/Model.js"
import * as Provider from "../src/provider/Provider.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"

const [sizeArg = "2000", callsArg = "20000", warmupArg = "2000"] = process.argv.slice(2)
const size = Number(sizeArg)
const calls = Number(callsArg)
const warmup = Number(warmupArg)

const models: ReadonlyArray<ProviderModel> = Array.from({ length: size }, (_, i) => ({
  id: `synthetic/model-${i}`,
  provider: "synthetic",
  name: `Synthetic ${i}`,
  capabilities: i % 3 === 0 ? ["text-to-image", "image-to-image"] : ["text-to-image"],
  pricing: i % 7 === 0 ? [] : [{ usd: 0.001 + ((i * 7919) % 1000) / 100_000, unit: "image", applies: "output" }],
  free: i % 7 === 0 && i % 2 === 0
}))
const image = new Asset.Image({ source: Asset.fromBytes(new Uint8Array([137, 80, 78, 71])), mimeType: "image/png" })

const program = Effect.gen(function* () {
  const provider = yield* Provider.make({
    id: "synthetic",
    name: "Synthetic",
    type: "remote",
    configured: true,
    discover: Effect.succeed(models),
    transforms: { "text-to-image": () => Effect.succeed(image) }
  })
  const registry = yield* ProviderRegistry.make([provider])
  const input = Asset.text("a lighthouse")
  const model = yield* provider.model("text-to-image", (yield* registry.findBest("text-to-image")).pipe((best) => (best._tag === "Some" ? best.value.model?.id : undefined)))
  const viaRegistry = (n: number) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* registry.generate("text-to-image", input)
    })
  const direct = (n: number) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* model.transform(input)
    })
  const timed = (self: Effect.Effect<void, unknown>) =>
    Effect.gen(function* () {
      const start = process.hrtime.bigint()
      yield* self
      return Number(process.hrtime.bigint() - start) / 1000 / calls
    })
  yield* viaRegistry(warmup)
  yield* direct(warmup)
  const directUs = yield* timed(direct(calls))
  const registryUs = yield* timed(viaRegistry(calls))
  return { size, calls, registryUs, directUs }
})

const result = await Effect.runPromise(program.pipe(Effect.withTracerEnabled(false)))
process.stdout.write(`${JSON.stringify(result)}\n`)
