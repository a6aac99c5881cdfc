import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as path from "node:path"
import { MissingConfig, NetworkError } from "../../src/domain/Errors.js"
import * as Commands from "../../src/cli/Commands.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { capture } from "../support/CaptureConsole.js"
import { run as runCommand } from "../support/Run.js"
import { fake, model } from "../support/TestProviders.js"

const registry = Effect.gen(function* () {
  const together = yield* fake({
    id: "together",
    models: [model("meta-llama/Llama-3-8b", ["text-to-text"], 0.0000002), model("black-forest-labs/FLUX.1-schnell-Free", ["text-to-image"], 0)]
  })
  const fal = yield* fake({
    id: "falai",
    configured: false,
    notConfigured: new MissingConfig({ provider: "falai", setting: "FALAI_API_KEY", detail: "no API key configured (set FALAI_API_KEY)" })
  })
  const local = yield* fake({ id: "local", type: "local", discoveryFails: new NetworkError({ provider: "local", detail: "down" }) })
  return ProviderRegistry.fromProviders([together.provider, fal.provider, local.provider])
})

const runCli = (...args: Array<string>) =>
  Effect.gen(function* () {
    const io = capture()
    const layer = yield* registry
    const result = yield* Commands.run(["node", "automarket", ...args]).pipe(
      Effect.provide(layer),
      Effect.provide(NodeContext.layer),
      Effect.provide(NodeHttpClient.layerUndici),
      Effect.withConsole(io.console),
      Effect.either
    )
    return { ...io, result }
  })

describe("automarket (in-process, test providers)", () => {
  it.effect("providers: one row each with type, configured, available, health, capabilities", () =>
    Effect.gen(function* () {
      const { out, result } = yield* runCli("providers")
      expect(Either.isRight(result)).toBe(true)
      const lines = out.join("\n").split("\n")
      expect(lines[0]).toMatch(/^ID\s+TYPE\s+CONFIGURED\s+AVAILABLE\s+HEALTH\s+CAPABILITIES$/)
      expect(lines.find((l) => l.startsWith("together"))).toMatch(/^together\s+remote\s+yes\s+yes\s+healthy\s+text-to-text,text-to-image$/)
      expect(lines.find((l) => l.startsWith("falai"))).toMatch(/^falai\s+remote\s+no\s+no\s+unhealthy/)
      expect(lines.find((l) => l.startsWith("local"))).toMatch(/^local\s+local\s+yes/)
    }))

  it.effect("providers --json is parseable and complete", () =>
    Effect.gen(function* () {
      const { out } = yield* runCli("providers", "--json")
      const rows = JSON.parse(out.join("\n")) as Array<{ id: string; configured: boolean; health: { status: string } }>
      expect(rows.map((r) => r.id)).toEqual(["together", "falai", "local"])
      expect(rows.find((r) => r.id === "falai")).toMatchObject({ configured: false, health: { status: "unhealthy" } })
    }))

  it.effect("models --json lists discovered models; a failing provider is reported on stderr, not fatal; unconfigured ones are left out quietly", () =>
    Effect.gen(function* () {
      const { err, out, result } = yield* runCli("models", "--json")
      expect(Either.isRight(result)).toBe(true)
      const models = JSON.parse(out.join("\n")) as Array<{ id: string; provider: string }>
      expect(models.map((m) => m.id)).toEqual(["meta-llama/Llama-3-8b", "black-forest-labs/FLUX.1-schnell-Free"])
      expect(err.join("\n")).toMatch(/local: down/)
      expect(err.join("\n")).not.toMatch(/falai/)
      // Named, the unconfigured provider says what is missing.
      const named = yield* runCli("models", "--provider", "falai")
      expect(named.err.join("\n")).toMatch(/automarket: falai: no API key configured/)
    }))

  it.effect("models filters by capability, provider and price", () =>
    Effect.gen(function* () {
      const byCapability = yield* runCli("models", "--capability", "text-to-image")
      expect(byCapability.out.join("\n")).toMatch(/FLUX\.1-schnell-Free\s+text-to-image\s+free/)
      expect(byCapability.out.join("\n")).not.toMatch(/Llama/)
      const free = yield* runCli("models", "--free", "--provider", "together", "--json")
      expect((JSON.parse(free.out.join("\n")) as Array<{ id: string }>).map((m) => m.id)).toEqual(["black-forest-labs/FLUX.1-schnell-Free"])
      const table = yield* runCli("models", "--provider", "together")
      expect(table.out.join("\n")).toMatch(/Llama-3-8b\s+text-to-text\s+\$2\.00e-7\/image/)
    }))

  it.effect("an unknown provider or capability fails", () =>
    Effect.gen(function* () {
      const unknown = yield* runCli("models", "--provider", "nope")
      expect(Either.isLeft(unknown.result) && unknown.result.left).toMatchObject({ _tag: "UnknownProvider", id: "nope" })
      const badCapability = yield* runCli("models", "--capability", "mind-reading")
      expect(Either.isLeft(badCapability.result)).toBe(true)
    }))
})

describe("automarket (the real executable)", () => {
  const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
  const exec = (...args: Array<string>) => runCommand(process.execPath, [bin, ...args], { timeout: 90_000 })

  it("--help on every command, exit 0", async () => {
    for (const args of [["--help"], ["providers", "--help"], ["models", "--help"], ["speak", "--help"], ["transcribe", "--help"], ["compose", "--help"], ["serve", "--help"], ["demo", "--help"]]) {
      const run = await exec(...args)
      expect(run.status).toBe(0)
      expect(run.stdout).toMatch(/USAGE/)
    }
  })

  it("a failure is one line on stderr and exit code 1", async () => {
    const run = await exec("models", "--provider", "nope")
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split("\n")).toHaveLength(1)
    expect(run.stderr).toMatch(/^automarket: no provider "nope"/)
  })

  it("providers and models --json run on the default providers", async () => {
    const providers = await exec("providers")
    expect(providers.status).toBe(0)
    expect(providers.stdout).toMatch(/^ID\s+TYPE/)
    const models = await exec("models", "--json")
    expect(models.status).toBe(0)
    expect(Array.isArray(JSON.parse(models.stdout))).toBe(true)
  })
})
