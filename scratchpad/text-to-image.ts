/**
 * text-to-image: the registry's choice for the capability (a remote provider when one has a key;
 * otherwise the local slide renderer). Run: `npx tsx scratchpad/text-to-image.ts [out.png]`
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { Asset, AutoMarket, ProviderRegistry } from "../src/index.js"

const out = process.argv[2] ?? "slide.png"

const program = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const image = yield* registry.generate("text-to-image", Asset.text("A quiet harbour at dawn"), {
    options: { width: 640, height: 360, extra: { slide: { title: "Harbour", body: "A quiet harbour at dawn" } } }
  })
  if (image.source._tag === "File") fs.copyFileSync(image.source.path, out)
  console.log(`${out}: ${image.mimeType} ${image.width}x${image.height} by ${image.origin?.provider}/${image.origin?.model}`)
})

Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer)))).catch((error) => {
  console.error(error)
  process.exit(1)
})
