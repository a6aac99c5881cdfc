/**
 * The providers against the services as a user runs them: each service started as its own
 * process by the command line (`automarket serve ffmpeg|tts|stt --port 0`), reached only over
 * its URL. The same suites as the in-process tests, plus a round trip through the default
 * registry configured by FFMPEG_SERVICE_URL, CHATTERBOX_DOCKER_URL and WHISPER_SERVICE_URL.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { text } from "../../src/domain/Asset.js"
import { defaultProviders } from "../../src/registry/Providers.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { ServiceRuntime } from "../../src/local/ServiceRuntime.js"
import { announcePrefix } from "../../src/services/kit/ServerOptions.js"
import { wordErrorRate } from "../support/wer.js"
import { chatterboxProviderSuite } from "./chatterbox/suite.js"
import { ffmpegProviderSuite } from "./ffmpeg/suite.js"
import { whisperProviderSuite } from "./whisper/suite.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")

interface Served {
  readonly child: ChildProcess
  readonly url: string
}

/** Start `automarket serve <service>` and wait for its announcement line. */
const serve = (service: string, ...args: Array<string>): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", service, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let buffered = ""
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`${service}: no announcement within 60 s: ${stderr}`)), 60_000)
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString()
      const line = buffered.split("\n").find((l) => l.startsWith(announcePrefix))
      if (line !== undefined) {
        clearTimeout(timer)
        const { host, port } = JSON.parse(line.slice(announcePrefix.length)) as { host: string; port: number }
        resolve({ child, url: `http://${host}:${port}` })
      }
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`${service} exited with ${code}: ${stderr}`))
    })
  })

const stop = (served: Served | undefined) =>
  new Promise<void>((resolve) => {
    if (served === undefined || served.child.exitCode !== null) return resolve()
    served.child.once("exit", () => resolve())
    served.child.kill("SIGTERM")
  })

let ffmpeg: Served | undefined
let tts: Served | undefined
let stt: Served | undefined

beforeAll(async () => {
  ;[ffmpeg, tts, stt] = await Promise.all([serve("ffmpeg", "--max-body-mb", "4"), serve("tts"), serve("stt")])
}, 120_000)

afterAll(async () => {
  await Promise.all([stop(ffmpeg), stop(tts), stop(stt)])
  expect([ffmpeg, tts, stt].every((s) => s?.child.exitCode !== null || s?.child.signalCode !== null)).toBe(true)
})

ffmpegProviderSuite("CLI-served ffmpeg", () => ffmpeg!.url)
chatterboxProviderSuite("CLI-served tts", () => tts!.url)
whisperProviderSuite("CLI-served stt", () => stt!.url)

describe("default registry configured by the service URLs", () => {
  // No runtime may start anything here: every provider must use the configured URL.
  const noRuntime = Layer.succeed(ServiceRuntime, {
    mode: "process",
    ensure: (service) => Effect.die(`tried to start ${service} although its URL is configured`),
    status: (service) => Effect.succeed({ service, running: false, healthy: false }),
    stop: () => Effect.void
  })

  it.scopedLive("speaks and transcribes through the registry, with no service started by the library", () =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry.ProviderRegistry
      const sentence = "The quick brown fox jumps over the lazy dog."
      const speech = yield* registry.generateDetailed("text-to-speech", text(sentence))
      expect(speech.provider).toBe("chatterbox")
      const transcript = yield* registry.generateDetailed("speech-to-text", speech.output)
      expect(transcript.provider).toBe("whisper")
      expect(wordErrorRate(sentence, transcript.output.text)).toBeLessThanOrEqual(0.25)
      const providers = yield* registry.all
      const local = providers.filter((p) => p.type === "local")
      expect(local.map((p) => p.id)).toEqual(["ffmpeg", "chatterbox", "whisper"])
      expect(yield* Effect.forEach(local, (p) => p.isAvailable)).toEqual([true, true, true])
    }).pipe(
      Effect.provide(
        Layer.unwrapEffect(
          Effect.sync(() =>
            ProviderRegistry.layer(...defaultProviders).pipe(
              Layer.provide(Layer.merge(noRuntime, NodeHttpClient.layerUndici)),
              Layer.provide(
                Layer.setConfigProvider(
                  ConfigProvider.fromMap(
                    new Map([
                      ["FFMPEG_SERVICE_URL", ffmpeg!.url],
                      ["CHATTERBOX_DOCKER_URL", tts!.url],
                      ["WHISPER_SERVICE_URL", stt!.url]
                    ])
                  )
                )
              )
            )
          )
        )
      )
    ))
})
