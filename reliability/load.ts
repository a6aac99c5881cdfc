/**
 * Part 2 of `npm run soak`, the load: many registry calls at a high concurrency across the four
 * emulated providers (in a process of their own, host.ts, so that this process's sockets are
 * only the client's), a share of them carrying a fault of every kind the load plays
 * (Expectations.loadKinds), and what was left behind afterwards: file descriptors, temporary
 * files, child processes, RSS.
 *
 *   node --import tsx reliability/load.ts <out.json>
 *
 * Settings (environment): SOAK_CALLS (10000), SOAK_CONCURRENCY (128), SOAK_FAULT_RATE (0.1),
 * SOAK_KEYS (keys per provider, 200: every 401 retires a key and every 402 rests one for an hour,
 * and the run must not run out of them), SOAK_SEED, SOAK_QUEUED_SHARE (0.15: the share of queued jobs), SOAK_LOAD_REQUEST_TIMEOUT_MS (5000), SOAK_LOAD_JOB_TIMEOUT_MS (20000),
 * SOAK_CALL_DEADLINE_MS (a call still running then counts as hung), SOAK_LOAD_BUDGET_S (480: no
 * call starts later; the calls not started are reported).
 *
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Asset from "../src/domain/Asset.js"
import { isFailover, type MediaError } from "../src/domain/Errors.js"
import * as Catalog from "../src/provider/Catalog.js"
import { random as seededRandom } from "../src/services/ffmpeg/Ambient.js"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import * as ProviderRegistry from "../src/registry/ProviderRegistry.js"
import { acceptedLoadOutcomes, expectedLoadOutcome, loadKinds, loadTimes, type Outcome } from "./Expectations.js"
import { familyOf, type FaultKind, markerText, type RemoteId, remoteIds, siblingOf, timing } from "./FaultPlan.js"
import { spawnHost } from "./Hosted.js"
import * as Providers from "./Providers.js"
import type { LoadKindResult, LoadResult } from "./Results.js"

const out = process.argv[2] ?? "load.json"
const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? "")
  return process.env[name] !== undefined && process.env[name] !== "" && Number.isFinite(value) ? value : fallback
}
const calls = numberFromEnv("SOAK_CALLS", 10_000)
const concurrency = numberFromEnv("SOAK_CONCURRENCY", 128)
const faultRate = numberFromEnv("SOAK_FAULT_RATE", 0.1)
const keysPerProvider = numberFromEnv("SOAK_KEYS", 200)
const seed = numberFromEnv("SOAK_SEED", 13)
const queuedShare = numberFromEnv("SOAK_QUEUED_SHARE", 0.15)
// Wider than the matrix's: 128 calls in flight on 2 shared cores answer slower than one call does,
// and a normal answer must not be taken for a slow one.
const requestTimeoutMs = numberFromEnv("SOAK_LOAD_REQUEST_TIMEOUT_MS", 5000)
const jobTimeoutMs = numberFromEnv("SOAK_LOAD_JOB_TIMEOUT_MS", 20_000)
const callDeadlineMs = numberFromEnv("SOAK_CALL_DEADLINE_MS", 60_000)
// No call starts after this many seconds of the run, so that a crowded machine gives a shorter
// run that says so, not a part killed by the runner's deadline with nothing written.
const budgetSeconds = numberFromEnv("SOAK_LOAD_BUDGET_S", 480)
const faults = timing(requestTimeoutMs, jobTimeoutMs)
const started = performance.now()
const log = (line: string) => process.stderr.write(`[load ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)

/** Seeded (the FFmpeg service's mulberry32), so that a run can be repeated call for call. */
const random = seededRandom(seed)
const pick = <A>(items: ReadonlyArray<A>): A => {
  const item = items[Math.floor(random() * items.length)]
  if (item === undefined) throw new Error("pick from an empty list")
  return item
}

/** What a call does: which registry method, on which family. */
type CallKind = "text" | "stream" | "image" | "video"

/** One planned call. */
interface PlannedCall {
  readonly index: number
  readonly call: CallKind
  readonly order: ReadonlyArray<RemoteId>
  readonly kind: FaultKind | "none"
  readonly expected: Outcome
}

/** The call a fault needs: a stream for a cut stream, an image by URL for a chat result fault, a job for a queued provider. */
const callFor = (provider: RemoteId, kind: FaultKind | "none"): CallKind => {
  if (familyOf(provider) === "queued") return "video"
  if (kind === "truncatedSse") return "stream"
  if (kind === "resultNotFound") return "image"
  // Calls without a fault are spread over every call the chat providers serve.
  return kind === "none" ? pick<CallKind>(["text", "text", "text", "stream", "image"]) : "text"
}

const plan = (): ReadonlyArray<PlannedCall> =>
  Array.from({ length: calls }, (_, i) => {
    const index = i + 1
    // A share of the calls go to the queued providers: each is a job (submit, polls, a file), about
    // eight requests where a chat call makes one, so the share sets the run's length.
    const provider = pick(random() < queuedShare ? (["falai", "replicate"] as const) : (["together", "openrouter"] as const))
    const kind: FaultKind | "none" = random() < faultRate ? pick(loadKinds(provider)) : "none"
    return {
      index,
      call: callFor(provider, kind),
      order: [provider, siblingOf(provider)],
      kind,
      expected: kind === "none" ? "ok" : expectedLoadOutcome(kind)
    }
  })

/** The file a result was downloaded to, when it is one (`source: FileSource`). */
const resultPath = (output: unknown): string | undefined => {
  if (typeof output !== "object" || output === null || !("source" in output)) return undefined
  const source = output.source
  return typeof source === "object" && source !== null && "path" in source && typeof source.path === "string" ? source.path : undefined
}

/** How one call ended. */
interface Ended {
  readonly outcome: Outcome | "hung"
  readonly provider?: string
  readonly message?: string
  /**
   * The call failed with an error that falls back, while its second provider was unavailable
   * (its circuit opened by other calls' faults): the registry had nothing to fall back to.
   */
  readonly noFallback?: boolean
}

const runOne = (registry: ProviderRegistry.ProviderRegistryService, planned: PlannedCall): Effect.Effect<Ended> => {
  const marker =
    planned.kind === "none"
      ? `[soak call=${planned.index}]`
      : markerText({ call: planned.index, at: planned.order[0] ?? "together", fault: planned.kind, times: loadTimes(planned.kind) })
  // The call's number keeps every input unique: a second job for the same input is a double submit.
  const input = Asset.text(`${marker} Say something short.`)
  const route = { providers: planned.order }
  const second = planned.order[1]
  const secondAvailable: Effect.Effect<boolean> =
    second === undefined
      ? Effect.succeed(false)
      : Effect.flatMap(registry.get(second), Option.match({ onNone: () => Effect.succeed(false), onSome: (provider) => provider.isAvailable }))
  let availableAtStart = true
  const detailed = <A extends { readonly provider: string; readonly output: unknown }>(effect: Effect.Effect<A, MediaError>): Effect.Effect<Ended> =>
    Effect.flatMap(Effect.either(effect), (result): Effect.Effect<Ended> => {
      if (Either.isLeft(result)) {
        const failed: Ended = { outcome: result.left._tag, message: result.left.message }
        if (!isFailover(result.left) || second === undefined) return Effect.succeed(failed)
        // Whether the registry could have fallen back: the second provider's state when the call
        // started (the registry routes then) and right after it.
        return Effect.map(secondAvailable, (after) => (availableAtStart && after ? failed : { ...failed, noFallback: true }))
      }
      // A downloaded result is the caller's file, not a leftover: removed as a caller done with it would.
      const file = resultPath(result.right.output)
      if (file !== undefined) rmSync(file, { force: true })
      return Effect.succeed<Ended>({ outcome: "ok", provider: result.right.provider })
    })
  const run = ((): Effect.Effect<Ended> => {
    switch (planned.call) {
      case "text":
        return detailed(registry.generateDetailed("text-to-text", input, route))
      case "image":
        return detailed(registry.generateDetailed("text-to-image", input, { ...route, options: { extra: { response_format: "url" } } }))
      case "video":
        return detailed(registry.generateDetailed("text-to-video", input, { ...route, options: { durationSeconds: 2 } }))
      case "stream":
        return Effect.map(Effect.either(Stream.runDrain(registry.streamText(input, route))), (result) =>
          Either.isRight(result) ? { outcome: "ok" } : { outcome: result.left._tag, message: result.left.message }
        )
    }
  })()
  return Effect.zipRight(
    Effect.map(secondAvailable, (available) => {
      availableAtStart = available
    }),
    run
  ).pipe(
    Effect.timeoutTo({ duration: Duration.millis(callDeadlineMs), onTimeout: (): Ended => ({ outcome: "hung" }), onSuccess: (ended) => ended })
  )
}

/** The open file descriptors of this process, with what each points at. */
const openFds = (): ReadonlyMap<string, string> => {
  const fds = new Map<string, string>()
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      // The descriptor readdir itself used is closed by now.
    }
  }
  return fds
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20

/** This process's children still alive (pid and command line), from /proc. */
const childProcesses = (): ReadonlyArray<string> =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
        // The command may contain spaces and parentheses: the fields after the last ")" are fixed.
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
        if (ppid !== process.pid) return []
        const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
        // tsx's esbuild service: the TypeScript loader running this very file, not the library's.
        if (command.includes("/@esbuild/")) return []
        return [`${pid} ${command}`]
      } catch {
        return []
      }
    })

/** Containers a Docker engine runs that look like ours, when an engine answers. */
const containers = (): LoadResult["containers"] => {
  try {
    const listed = execFileSync("docker", ["ps", "--format", "{{.Names}} {{.Image}}"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] })
    const ours = listed
      .split("\n")
      .filter((line) => line.includes("automarket"))
    return { checked: true, note: "docker ps after the run", ours }
  } catch {
    return { checked: false, note: "no Docker engine answered (`docker ps`): the load starts no container, its emulators are a process", ours: [] }
  }
}

const listFiles = (directory: string): ReadonlyArray<string> => {
  if (!existsSync(directory)) return []
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)))
}

const main = async () => {
  const downloadDir = process.env.AUTOMARKET_DOWNLOAD_DIR ?? path.join(os.tmpdir(), "automarket")
  // The runner gives this process a temporary directory of its own (TMPDIR): every new file there is ours.
  const ownTmp = os.tmpdir() !== "/tmp"
  // tsx-*: the TypeScript loader's compile cache, written as it loads this suite's own modules.
  const tmpFiles = () =>
    ownTmp ? listFiles(os.tmpdir()).filter((file) => !file.startsWith("tsx-")) : readdirSync(os.tmpdir()).filter((name) => name.includes("automarket"))
  const tmpBefore = new Set(tmpFiles())
  const keys = Array.from({ length: keysPerProvider }, (_, i) => `soak-load-key-${i + 1}`)
  const planned = plan()
  // Measured before anything of the run exists: the host, the runtime and its sockets.
  const fdsBefore = openFds()
  const rssBefore = rssMb()
  let rssPeak = rssBefore
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMb())
  }, 250)

  log(`starting the emulators (${remoteIds.join(", ")}) in their own process`)
  const host = await spawnHost({ providers: remoteIds, timing: faults, keys })
  const runtime = ManagedRuntime.make(Layer.merge(httpClientLayer, Catalog.layerMemory()))
  log(`${calls} calls at concurrency ${concurrency}, ${Math.round(faultRate * 100)} % with a fault; ${keysPerProvider} keys a provider`)
  const callsStarted = performance.now()
  let done = 0
  const ended = await runtime.runPromise(
    Effect.gen(function* () {
      const providers = yield* Effect.forEach(remoteIds, (id) =>
        Providers.make(id, { baseUrl: host.urls[id] ?? "", keys, timeout: Duration.millis(requestTimeoutMs), jobTimeout: Duration.millis(jobTimeoutMs) })
      )
      const registry = yield* ProviderRegistry.make(providers)
      return yield* Effect.forEach(
        planned,
        (call) =>
          (performance.now() - callsStarted > budgetSeconds * 1000 ? Effect.succeed<Ended | undefined>(undefined) : runOne(registry, call)).pipe(Effect.tap(() =>
            Effect.sync(() => {
              done++
              if (done % 1000 === 0) log(`${done} calls done`)
            })
          )),
        { concurrency }
      )
    })
  )
  const callsSeconds = (performance.now() - callsStarted) / 1000
  const emulators = await host.stats()
  await runtime.dispose()
  await host.stop(5000)
  clearInterval(sampler)
  // Sockets closed by the peer are released by the next turns of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const fdsAfter = openFds()
  const leaked = [...fdsAfter].filter(([fd, target]) => fdsBefore.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`)

  const byKind = new Map<FaultKind | "none", { calls: number; expected: Outcome; outcomes: Partial<Record<Outcome | "hung", number>>; asExpected: number; circuitOpen: number; fellBack: number; examples: Array<string> }>()
  const byProvider: Partial<Record<RemoteId, number>> = {}
  let notRun = 0
  planned.forEach((call, i) => {
    const result = ended[i]
    if (result === undefined) {
      notRun++
      return
    }
    const entry = byKind.get(call.kind) ?? { calls: 0, expected: call.expected, outcomes: {}, asExpected: 0, circuitOpen: 0, fellBack: 0, examples: [] }
    entry.calls++
    entry.outcomes[result.outcome] = (entry.outcomes[result.outcome] ?? 0) + 1
    // A circuit opened by other calls' faults (503s that last) refuses at once with a typed
    // ProviderUnavailable, or leaves a failing call nothing to fall back to: the breaker doing
    // its work, counted apart so that it stays visible.
    const circuitOpen = (result.outcome === "ProviderUnavailable" && (result.message ?? "").includes("circuit open")) || result.noFallback === true
    if (circuitOpen) entry.circuitOpen++
    if (circuitOpen || (result.outcome !== "hung" && acceptedLoadOutcomes(call.kind).includes(result.outcome))) entry.asExpected++
    if (!circuitOpen && !(result.outcome !== "hung" && acceptedLoadOutcomes(call.kind).includes(result.outcome)) && entry.examples.length < 3) entry.examples.push(`call ${call.index} (${call.call}, ${call.order.join(" → ")}): ${result.outcome}${result.message !== undefined ? `: ${result.message.slice(0, 160)}` : ""}`)
    if (result.provider !== undefined && result.provider !== call.order[0]) entry.fellBack++
    const served = remoteIds.find((id) => id === result.provider)
    if (served !== undefined) byProvider[served] = (byProvider[served] ?? 0) + 1
    byKind.set(call.kind, entry)
  })
  const kinds: ReadonlyArray<LoadKindResult> = [...byKind].map(([kind, entry]) => ({ kind, ...entry }))
  const result: LoadResult = {
    calls,
    notRun,
    budgetSeconds,
    concurrency,
    faultRate,
    seconds: callsSeconds,
    callsPerSecond: (calls - notRun) / callsSeconds,
    byKind: kinds,
    byProvider,
    emulators,
    fds: { before: fdsBefore.size, after: fdsAfter.size, leaked },
    rssMb: { before: rssBefore, peak: rssPeak, after: rssMb() },
    tempFiles: {
      downloadDir: listFiles(downloadDir),
      tmpDir: tmpFiles().filter((file) => !tmpBefore.has(file))
    },
    childProcesses: childProcesses(),
    containers: containers(),
    settings: { requestTimeoutMs, jobTimeoutMs, pollInterval: process.env.AUTOMARKET_POLL_INTERVAL ?? "default", keysPerProvider, seed, queuedShare }
  }
  writeFileSync(out, JSON.stringify(result, null, 2))
  log(`wrote ${out}`)
}

await main()
process.exit(0)
