/**
 * Docker mode of the ServiceRuntime against a real Docker engine (scripts/docker-env.sh: Debian's
 * docker.io on a private socket, host networking) and the real images of scripts/docker-images.sh.
 * The three services come up in containers, the providers' round trips (compose, speak,
 * transcribe) go through them, and the faults (a container killed mid-job, a missing image, a
 * taken port, a health check that never passes) end in typed errors. Nothing of ours is left at
 * the end (asserted by listing with the label). One file, run in order: the containers are shared.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type Docker from "dockerode"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { promisify } from "node:util"
import * as AutoMarket from "../../src/registry/AutoMarket.js"
import { Audio, fromFile, text } from "../../src/domain/Asset.js"
import { Composition } from "../../src/domain/Composition.js"
import { isMediaError, type MediaError } from "../../src/domain/Errors.js"
import * as Chatterbox from "../../src/providers/chatterbox/index.js"
import * as FFmpegProvider from "../../src/providers/ffmpeg/FFmpegProvider.js"
import * as Whisper from "../../src/providers/whisper/index.js"
import * as DockerRuntime from "../../src/local/DockerRuntime.js"
import type { ServiceLocation } from "../../src/local/LocalService.js"
import { ServiceRuntime, type ServiceRuntimeService } from "../../src/local/ServiceRuntime.js"
import type { ServiceName } from "../../src/services/kit/ServerOptions.js"
import { makeClip, makeSpeech, probe } from "../services/ffmpeg/support.js"
import { wordErrorRate } from "../support/wer.js"
import { type Engine, freePort, startEngine, stopEngine } from "./engine.js"

const http = NodeHttpClient.layerUndici
const managed = { label: [`${DockerRuntime.managedLabel}=true`] }
const sentences = "The quick brown fox jumps over the lazy dog. I would like a cup of coffee. The children are playing in the park."

let engine: Engine | undefined
let docker: Docker
let work: string
let ports: Record<ServiceName, number>
let scope: Scope.CloseableScope
let runtime: ServiceRuntimeService

beforeAll(async () => {
  engine = startEngine()
  docker = engine.docker
  work = mkdtempSync(join(tmpdir(), "automarket-docker-"))
  mkdirSync(join(work, "media"))
  ports = { ffmpeg: await freePort(), tts: await freePort(), stt: await freePort() }
  scope = Effect.runSync(Scope.make())
  // The HTTP client lives in the same scope as the runtime (closed by the test that closes it).
  runtime = await Effect.runPromise(
    Effect.flatMap(Layer.buildWithScope(http, scope), (context) =>
      DockerRuntime.makeDocker({ port: (service) => ports[service], startTimeout: "90 seconds", memoryBytes: 768 * 1024 * 1024 }).pipe(
        Scope.extend(scope),
        Effect.provide(context)
      )
    )
  )
}, 20 * 60_000)

afterAll(async () => {
  try {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    // Whatever a failed test left behind (the last test asserts there is nothing).
    if (docker !== undefined) await Effect.runPromise(Effect.ignore(DockerRuntime.removeContainers(docker)))
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  } finally {
    stopEngine(engine)
  }
}, 120_000)

const location = (service: ServiceName): ServiceLocation => ({
  url: runtime.ensure(service),
  configured: false,
  running: Effect.map(runtime.status(service), (status) => status.running)
})

/** Our containers of `service`, running or not. */
const containersOf = (service: ServiceName) =>
  Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`${DockerRuntime.managedLabel}=true`, `${DockerRuntime.serviceLabel}=${service}`] } }))

const failure = <A>(self: Effect.Effect<A, MediaError>) =>
  Effect.flatMap(Effect.either(self), (result) => (Either.isLeft(result) ? Effect.succeed(result.left) : Effect.dieMessage("expected a failure")))

const speak = (words: string, format: "wav" | "opus" = "wav") =>
  Effect.flatMap(Chatterbox.make(location("tts"), { outputDir: join(work, "out") }), (p) => p.textToSpeech()).pipe(
    Effect.flatMap((model) => model.transform(text(words), { format })),
    Effect.provide(http)
  )

const audioFile = (path: string) => new Audio({ source: fromFile(path), mimeType: "audio/wav" })

const transcribe = (audio: Audio) =>
  Effect.flatMap(Whisper.make(location("stt")), (p) => p.speechToText()).pipe(
    Effect.flatMap((model) => model.transform(audio)),
    Effect.provide(http)
  )

describe("ServiceRuntime (docker mode) against a real engine", () => {
  it.effect("AUTOMARKET_SERVICE_RUNTIME=docker picks Docker mode; process stays the default", () =>
    Effect.gen(function* () {
      const modeWith = (env: Record<string, string>) =>
        Effect.scoped(
          Effect.map(Layer.build(AutoMarket.serviceRuntimeLayer()), (context) => Context.get(context, ServiceRuntime).mode).pipe(
            Effect.withConfigProvider(ConfigProvider.fromJson(env))
          )
        )
      expect(yield* modeWith({ AUTOMARKET_SERVICE_RUNTIME: "docker" })).toBe("docker")
      expect(yield* modeWith({})).toBe("process")
      const bad = yield* Effect.either(modeWith({ AUTOMARKET_SERVICE_RUNTIME: "kubernetes" }))
      expect(Either.isLeft(bad)).toBe(true)
    })
  )

  it.live(
    "ffmpeg: comes up in a labelled container (host network, init, limits) and composes two clips through it",
    () =>
      Effect.gen(function* () {
        expect(yield* runtime.status("ffmpeg")).toEqual({ service: "ffmpeg", running: false, healthy: false })
        const media = join(work, "media")
        const clips = [makeClip(media, "blue.mp4", "blue"), makeClip(media, "gray.mp4", "gray", { frequency: 550 })]
        const provider = yield* FFmpegProvider.make(location("ffmpeg"), { outputDir: join(work, "out") })
        const composer = yield* provider.videoComposer()
        const video = yield* composer.transform(
          Schema.decodeUnknownSync(Composition)({
            clips: clips.map((src) => ({ src })),
            layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
            output: { width: 320, height: 180 }
          })
        )
        const path = video.source._tag === "File" ? video.source.path : ""
        const probed = probe(path)
        expect(Math.abs(probed.duration - 3.5)).toBeLessThanOrEqual(0.1)
        expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"])
        expect(video.origin?.provider).toBe("ffmpeg")

        expect(yield* runtime.status("ffmpeg")).toEqual({ service: "ffmpeg", running: true, healthy: true, url: `http://127.0.0.1:${ports.ffmpeg}` })
        const [info] = yield* containersOf("ffmpeg")
        expect(info?.Labels).toMatchObject({ [DockerRuntime.serviceLabel]: "ffmpeg", [DockerRuntime.portLabel]: String(ports.ffmpeg) })
        expect(info?.Image).toBe("automarket/ffmpeg:latest")
        const inspected = yield* Effect.promise(() => docker.getContainer(info!.Id).inspect())
        expect(inspected.HostConfig.NetworkMode).toBe("host")
        expect(inspected.HostConfig.Init).toBe(true)
        expect(inspected.HostConfig.Memory).toBe(768 * 1024 * 1024)
        expect(inspected.HostConfig.NanoCpus).toBe(2e9)
      }).pipe(Effect.provide(http)),
    180_000
  )

  it.live(
    "tts -> stt: Chatterbox speaks and Whisper transcribes through two containers, WER <= 25 %, both healthy",
    () =>
      Effect.gen(function* () {
        const audio = yield* speak(sentences, "opus")
        expect(audio.origin?.provider).toBe("chatterbox")
        expect(audio.mimeType).toBe("audio/ogg")
        const heard = yield* transcribe(audio)
        const wer = wordErrorRate(sentences, heard.text)
        console.log(`docker tts -> stt: WER ${(wer * 100).toFixed(1)} %: "${heard.text}"`)
        expect(wer).toBeLessThanOrEqual(0.25)
        expect(heard.segments?.length).toBeGreaterThanOrEqual(2)
        expect(heard.origin?.provider).toBe("whisper")
        for (const service of ["tts", "stt"] as const) {
          expect(yield* runtime.status(service)).toEqual({ service, running: true, healthy: true, url: `http://127.0.0.1:${ports[service]}` })
          expect(yield* containersOf(service)).toHaveLength(1)
        }
      }),
    180_000
  )

  it.live(
    "a container killed mid-job: the job fails with a typed error, the next call gets the container restarted and healthy",
    () =>
      Effect.gen(function* () {
        const long = makeSpeech(join(work, "media"), "long.wav", Array.from({ length: 8 }, () => sentences).join(" "))
        const [before] = yield* containersOf("stt")
        const startedAt = (yield* Effect.promise(() => docker.getContainer(before!.Id).inspect())).State.StartedAt
        const url = `http://127.0.0.1:${ports.stt}`
        const job = yield* Effect.fork(transcribe(audioFile(long)))
        // Kill only once the service reports the job running.
        yield* Effect.promise(async () => {
          for (let i = 0; i < 200; i++) {
            const health = (await (await fetch(`${url}/health`)).json()) as { activeJobs: number }
            if (health.activeJobs > 0) return
            await new Promise((r) => setTimeout(r, 50))
          }
          throw new Error("the transcription never showed up as an active job")
        })
        yield* Effect.promise(() => docker.getContainer(before!.Id).kill())
        const error = yield* failure(Fiber.join(job))
        expect(isMediaError(error)).toBe(true)
        expect(["NetworkError", "ProviderUnavailable", "ServiceNotRunning", "Timeout"]).toContain(error._tag)
        console.log(`killed mid-job: ${error._tag}: ${error.message}`)
        const down = yield* runtime.status("stt")
        expect(down).toMatchObject({ running: false, healthy: false })
        expect(down.error).toMatch(/exited \(code 137\)/)

        const heard = yield* transcribe(audioFile(makeSpeech(join(work, "media"), "short.wav", sentences)))
        expect(wordErrorRate(sentences, heard.text)).toBeLessThanOrEqual(0.25)
        const [after] = yield* containersOf("stt")
        expect(after?.Id).toBe(before!.Id)
        const restarted = yield* Effect.promise(() => docker.getContainer(after!.Id).inspect())
        expect(restarted.State.Running).toBe(true)
        expect(Date.parse(restarted.State.StartedAt)).toBeGreaterThan(Date.parse(startedAt))
        expect(yield* runtime.status("stt")).toMatchObject({ running: true, healthy: true })
      }),
    180_000
  )

  it.live("closing the runtime's scope stops and removes the containers it started", () =>
    Effect.gen(function* () {
      expect((yield* Effect.promise(() => docker.listContainers({ all: true, filters: managed }))).length).toBe(3)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Effect.promise(() => docker.listContainers({ all: true, filters: managed }))).toEqual([])
    })
  )
})

describe("ServiceRuntime (docker mode) faults", () => {
  const scoped = <A>(options: DockerRuntime.DockerRuntimeOptions, use: (runtime: ServiceRuntimeService) => Effect.Effect<A, MediaError>) =>
    Effect.scoped(Effect.flatMap(DockerRuntime.makeDocker(options), use)).pipe(Effect.provide(http))

  it.live("a missing image: ServiceNotRunning naming the image, no container made", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const error = yield* failure(scoped({ image: () => "automarket/missing:nope", port: () => port }, (r) => r.ensure("tts")))
      expect(error._tag).toBe("ServiceNotRunning")
      expect(error.message).toContain("image automarket/missing:nope not found")
      expect(yield* containersOf("tts")).toEqual([])
    })
  )

  it.live("a taken port: ServiceNotRunning saying which port is in use, no container left", () =>
    Effect.gen(function* () {
      const server = net.createServer()
      const port = yield* Effect.promise(() => new Promise<number>((done) => server.listen(0, "127.0.0.1", () => done((server.address() as net.AddressInfo).port))))
      const error = yield* failure(scoped({ port: () => port }, (r) => r.ensure("tts"))).pipe(
        Effect.ensuring(Effect.promise(() => new Promise<void>((done) => server.close(() => done()))))
      )
      expect(error._tag).toBe("ServiceNotRunning")
      expect(error.message).toContain(`port 127.0.0.1:${port} is already in use`)
      expect(yield* containersOf("tts")).toEqual([])
    })
  )

  it.live("a container that exits at once: ServiceNotRunning with its exit code and last output, no container left", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const command = () => ["node", "-e", `console.error("cannot serve: listen EADDRINUSE"); process.exit(3)`]
      const error = yield* failure(scoped({ port: () => port, command, startTimeout: "30 seconds" }, (r) => r.ensure("ffmpeg")))
      expect(error._tag).toBe("ServiceNotRunning")
      expect(error.message).toMatch(/exited \(code 3\) before it was healthy: cannot serve: listen EADDRINUSE/)
      expect(yield* containersOf("ffmpeg")).toEqual([])
    })
  )

  it.live(
    "a health check that never passes: Timeout within the deadline, the container removed",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        // A stand-in that listens but answers /health with 503 forever.
        const command = (_: ServiceName, p: number) => ["node", "-e", `require("http").createServer((q, s) => { s.statusCode = 503; s.end() }).listen(${p}, "127.0.0.1")`]
        const started = Date.now()
        const error = yield* failure(scoped({ port: () => port, command, startTimeout: "4 seconds" }, (r) => r.ensure("stt")))
        const elapsed = Date.now() - started
        expect(error._tag).toBe("Timeout")
        expect(error.message).toContain("not healthy")
        expect(elapsed).toBeGreaterThanOrEqual(4000)
        expect(elapsed).toBeLessThan(9000)
        expect(yield* containersOf("stt")).toEqual([])
      }),
    60_000
  )

  it.live(
    "a healthy container of ours started by another runtime is reused and left running; foreign containers are never touched",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        // Another user's container (no label of ours) from the same image.
        const foreign = yield* Effect.promise(() =>
          docker.createContainer({ Image: "automarket/tts:latest", Entrypoint: ["node", "-e", "setInterval(() => {}, 1000)"], HostConfig: { NetworkMode: "host", Init: true } })
        )
        yield* Effect.addFinalizer(() => Effect.promise(() => foreign.remove({ force: true })))
        yield* Effect.promise(() => foreign.start())
        const url = yield* scoped({ port: () => port, keep: true }, (r) => r.ensure("tts"))
        const [kept] = yield* containersOf("tts")
        expect(kept?.State).toBe("running")
        const reused = yield* scoped({ port: () => port }, (r) =>
          Effect.gen(function* () {
            expect(yield* r.ensure("tts")).toBe(url)
            return yield* r.status("tts")
          })
        )
        expect(reused).toEqual({ service: "tts", running: true, healthy: true, url })
        const [still] = yield* containersOf("tts")
        expect(still).toMatchObject({ Id: kept!.Id, State: "running" })
        expect(yield* Effect.orDie(DockerRuntime.removeContainers(docker))).toBe(1)
        expect((yield* Effect.promise(() => foreign.inspect())).State.Running).toBe(true)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "the CLI: services up, status, logs and down",
    () =>
      Effect.gen(function* () {
        const cli = (...args: Array<string>) =>
          Effect.promise(() =>
            promisify(execFile)(process.execPath, [resolve(import.meta.dirname, "../../bin/automarket.mjs"), "services", ...args], {
              env: { ...process.env, AUTOMARKET_SERVICE_RUNTIME: "docker" },
              timeout: 120_000
            })
          )
        const port = yield* Effect.promise(freePort)
        const up = yield* cli("up", "tts", "--port", String(port))
        expect(up.stdout.trim()).toBe(`tts\thttp://127.0.0.1:${port}`)
        const status = yield* cli("status", "tts")
        expect(status.stdout).toMatch(new RegExp(`tts\\s+yes\\s+yes\\s+http://127\\.0\\.0\\.1:${port}`))
        const logs = yield* cli("logs", "tts")
        expect(logs.stdout).toContain(`automarket-listening {"service":"tts","host":"127.0.0.1","port":${port}}`)
        const down = yield* cli("down")
        expect(down.stdout.trim()).toBe("removed 1 container")
        expect(yield* containersOf("tts")).toEqual([])
      }),
    180_000
  )

  it.live("after the suite no container or network of ours is left", () =>
    Effect.gen(function* () {
      expect(yield* Effect.promise(() => docker.listContainers({ all: true, filters: managed }))).toEqual([])
      expect(yield* Effect.promise(() => docker.listNetworks({ filters: managed }))).toEqual([])
    })
  )
})
