/**
 * Durable generations on a cluster of real processes: three `automarket worker` processes on one
 * throwaway Postgres, 200 generations (half fal, half Replicate, both emulated in this process on
 * 127.0.0.1) started by a client in this process through the library, in four waves of 50, and a
 * worker killed with SIGKILL once per wave (four kills, about 10 s apart), each time restarted on a
 * new port.
 *
 * The kills are placed outside the submit window (a submit intent journaled, the provider's answer
 * not yet kept: the one place where a kill may cost a second submit, by design): a wave's
 * generations all have their ticket before its kill, and the next wave starts after it. The
 * emulators hold a wave's jobs in the queue (each status poll answers "still queued") until its
 * kill and the replacement's joining are over, so each kill lands on about a third of the wave
 * mid-run.
 *
 * Measured at the emulators, where the polls arrive, and bounded by 10 s:
 * - takeover, per kill: from the SIGKILL until every job of the wave is polled again (the killed
 *   worker's jobs are not polled until its shards move; the others go on); beside it, when all
 *   shards are held again (Postgres advisory locks);
 * - handover, per replacement (started once the takeover is over, while the next wave starts):
 *   the longest a held job went without a poll while the newcomer took its share of shards.
 *
 * Then: all 200 succeed, the emulators count exactly 200 submits and no cancel, every stored and
 * delivered file holds the emulator's bytes, no `.part` file is left, and once the workers are
 * stopped (SIGTERM) no worker process and no `automarket` connection to Postgres remains.
 *
 * Why waves rather than 200 held at once: a running generation costs its worker a status poll per
 * poll interval and a read of its row every 500 ms (the cancel watch); 200 of them polled every
 * 100 ms saturate these 2 shared cores (2-3 polls a second instead of 10, heartbeats late by
 * seconds, shards moving for no reason), and a takeover measured there measures the overload.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { text } from "../../src/domain/Asset.js"
import { Durable } from "../../src/durable/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { type EmuRequest, fileContent, type JobPlan, makeFal, serve } from "../emulators/falai.js"
import { makeReplicate } from "../emulators/replicate.js"
import { type RunningPostgres, startPostgres } from "../support/Postgres.js"
import { freePort } from "../support/Ports.js"

/** The part of `pg` used here (the package ships no types). */
interface PgClient {
  readonly connect: () => Promise<unknown>
  readonly query: (sql: string, values?: ReadonlyArray<unknown>) => Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>> }>
  readonly end: () => Promise<void>
}
const pg: { readonly Client: new (config: { readonly connectionString: string; readonly application_name?: string }) => PgClient } =
  createRequire(import.meta.url)("pg")

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-cluster-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const generations = 200
/** One kill per wave. */
const waves = 4
const waveSize = generations / waves
/** At least this long between two kills (each also waits for its wave's submits and the previous takeover). */
const killEveryMs = 3_000
/** The issue's bound on a takeover. */
const takeoverBoundMs = 10_000
const pollInterval = 250
/** A job on a live worker is polled every `pollInterval`: one not polled for this long after a kill was on the killed worker. */
const stalledAfterMs = 1_500
/** Shards of the cluster (`shardsPerGroup` of the sharding settings in src/durable/Durable.ts, one group). */
const shards = 64
const falBytes = 4096
const replicateBytes = 2048

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const until = async (what: string, check: () => boolean | Promise<boolean>, ms: number, every = 50): Promise<number> => {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await pause(every)
  }
  return Date.now() - start
}


const filesUnder = (dir: string): Array<string> =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).map((name) => path.join(dir, name)) : []

/** Processes whose command line mentions `marker` (zombies have an empty one). */
const processesMentioning = (marker: string): Array<{ pid: number; cmdline: string }> =>
  fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ")
        return cmdline.includes(marker) ? [{ pid: Number(name), cmdline }] : []
      } catch {
        return []
      }
    })

/** CPU time a process has used so far, in ms (utime + stime of /proc/<pid>/stat, 100 ticks a second); undefined once it is gone. */
const cpuMillis = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** One `automarket worker` process. */
interface Worker {
  readonly slot: number
  readonly port: number
  readonly child: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Resolves with how long it took to print `worker ready:`. */
  ready: Promise<number>
  stderr: string
  /** Set when the test kills or stops it on purpose. */
  stopping: boolean
  /** Its CPU time, as last sampled. */
  cpuMs: number
}

/** The longest time any of `jobs` went without a status poll since `since`. */
interface GapWindow {
  readonly jobs: ReadonlySet<string>
  readonly since: number
  readonly lastSeen: Map<string, number>
  longestGapMs: number
}

/** A kill and what the emulators saw after it: the first poll of each of its wave's jobs. */
interface Kill {
  readonly wave: number
  readonly slot: number
  readonly pid: number
  readonly at: number
  readonly jobs: ReadonlyArray<string>
  readonly firstPollAfter: Map<string, number>
}

describe("3 workers on one Postgres, 200 generations, a worker SIGKILLed every few seconds", () => {
  it("all complete with one submit each; each killed worker's generations resume elsewhere within 10 s", async () => {
    const started = Date.now()
    const scope = Effect.runSync(Scope.make())
    const workers: Array<Worker> = []
    const unexpectedExits: Array<string> = []
    let server: RunningPostgres | undefined
    let db: PgClient | undefined
    let monitor: PgClient | undefined
    let client: ManagedRuntime.ManagedRuntime<Durable.Generations, unknown> | undefined
    let sampler: NodeJS.Timeout | undefined
    try {
      // Polls seen by the emulators, per job (`falai:req-1`, `replicate:pred1`): the last one, and the first after the latest kill.
      const lastPoll = new Map<string, number>()
      let currentKill: Kill | undefined
      // Open windows over some jobs: the longest time one of them went without a poll (a shard handed to a joining worker).
      const gapWindows = new Set<GapWindow>()
      const polled = (job: string) => {
        const now = Date.now()
        lastPoll.set(job, now)
        if (currentKill !== undefined && !currentKill.firstPollAfter.has(job)) currentKill.firstPollAfter.set(job, now)
        for (const window of gapWindows) {
          if (!window.jobs.has(job)) continue
          window.longestGapMs = Math.max(window.longestGapMs, now - (window.lastSeen.get(job) ?? window.since))
          window.lastSeen.set(job, now)
        }
      }
      const openGapWindow = (jobs: ReadonlyArray<string>): GapWindow => {
        const window: GapWindow = { jobs: new Set(jobs), since: Date.now(), lastSeen: new Map(), longestGapMs: 0 }
        gapWindows.add(window)
        return window
      }
      const closeGapWindow = (window: GapWindow): number => {
        gapWindows.delete(window)
        const now = Date.now()
        for (const job of window.jobs) window.longestGapMs = Math.max(window.longestGapMs, now - (window.lastSeen.get(job) ?? window.since))
        return window.longestGapMs
      }
      // A wave's jobs stay queued (the same answer to every poll) until the wave is released.
      let currentWave = 0
      const released = new Set<number>()
      const planJob = (): JobPlan => {
        const wave = currentWave
        return {
          get stuck() {
            return !released.has(wave)
          }
        }
      }
      const fal = makeFal({
        queueSteps: 1,
        runSteps: 1,
        fileBytes: falBytes,
        planJob,
        intercept: (request: EmuRequest, kind) => {
          const id = /\/requests\/([^/?]+)/.exec(request.url)?.[1]
          if (id !== undefined && kind === "status") polled(`falai:${id}`)
          return undefined
        }
      })
      const replicate = makeReplicate({
        startingSteps: 1,
        processingSteps: 1,
        fileBytes: replicateBytes,
        planJob,
        intercept: (request: EmuRequest, kind) => {
          const id = /^\/predictions\/([^/?]+)/.exec(request.url)?.[1]
          if (id !== undefined && kind === "get") polled(`replicate:${id}`)
          return undefined
        }
      })
      await Effect.runPromise(Scope.extend(Effect.all([serve(fal), serve(replicate)]), scope))

      server = await startPostgres()
      const url = server.url
      db = new pg.Client({ connectionString: url, application_name: "automarket-cluster-test" })
      await db.connect()
      const query = async (sql: string, values: ReadonlyArray<unknown> = []) => (await db!.query(sql, values)).rows
      // Shards are owned through Postgres advisory locks: a killed worker's go with its connections, and
      // once all are held again its shards have moved.
      const shardsHeld = async () => Number((await query("SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"))[0]!.n)
      // The sampler's own connection: one `pg` client runs one query at a time.
      monitor = new pg.Client({ connectionString: url, application_name: "automarket-cluster-test" })
      await monitor.connect()

      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR,
        XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
        XDG_STATE_HOME: process.env.XDG_STATE_HOME,
        AUTOMARKET_CACHE_DIR: path.join(root, "cache"),
        // One machine: the workers share the state folder (the output store) and the download folder.
        AUTOMARKET_STATE_DIR: path.join(root, "state"),
        AUTOMARKET_DOWNLOAD_DIR: path.join(root, "downloads"),
        FALAI_API_KEY: fal.settings.key,
        FALAI_BASE_URL: fal.baseUrl,
        FALAI_PLATFORM_URL: fal.baseUrl,
        REPLICATE_API_TOKEN: replicate.settings.token,
        REPLICATE_BASE_URL: replicate.baseUrl,
        AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1",
        AUTOMARKET_POLL_INTERVAL: `${pollInterval} millis`,
        NO_COLOR: "1"
      }

      const startWorker = async (slot: number): Promise<Worker> => {
        const port = await freePort()
        const child = spawn(process.execPath, [bin, "worker", "--database", url, "--port", String(port)], {
          env,
          stdio: ["ignore", "ignore", "pipe"]
        })
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.once("exit", (code, signal) => resolve({ code, signal }))
        )
        const since = Date.now()
        const worker: Worker = { slot, port, child, exited, ready: Promise.resolve(0), stderr: "", stopping: false, cpuMs: 0 }
        child.stderr!.on("data", (chunk: Buffer) => (worker.stderr += chunk.toString()))
        void exited.then(({ code, signal }) => {
          if (!worker.stopping) unexpectedExits.push(`worker ${slot} :${port} exited on its own (code ${code}, signal ${signal}):\n${worker.stderr}`)
        })
        worker.ready = until(
          `worker ${slot} on port ${port} to be ready`,
          () => {
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ${slot} exited before it was ready:\n${worker.stderr}`)
            return worker.stderr.includes("worker ready:")
          },
          60_000
        ).then(() => Date.now() - since)
        // Awaited where it matters; a failure is not also an unhandled rejection.
        worker.ready.catch(() => undefined)
        workers.push(worker)
        return worker
      }
      // How late the live workers' heartbeats get (a runner whose heartbeat is older than the shard lock expiry is taken for dead).
      const goneAddresses = new Set<string>()
      let oldestHeartbeatMs = 0
      let sampling = false
      sampler = setInterval(() => {
        for (const worker of workers) worker.cpuMs = cpuMillis(worker.child.pid!) ?? worker.cpuMs
        if (sampling) return
        sampling = true
        monitor!
          .query("SELECT address, (EXTRACT(EPOCH FROM (NOW() - last_heartbeat)) * 1000)::int AS age FROM cluster_runners")
          .then(({ rows }) => {
            for (const row of rows) if (!goneAddresses.has(String(row.address))) oldestHeartbeatMs = Math.max(oldestHeartbeatMs, Number(row.age))
          })
          .catch(() => undefined)
          .finally(() => (sampling = false))
      }, 250)
      const live = new Map<number, Worker>()
      // The first one creates the tables; the other two join it.
      const first = await startWorker(0)
      console.log(`worker 0 ready in ${await first.ready} ms`)
      live.set(0, first)
      for (const slot of [1, 2]) live.set(slot, await startWorker(slot))
      console.log(`workers 1, 2 ready in ${await live.get(1)!.ready}, ${await live.get(2)!.ready} ms`)

      const statusCounts = async () =>
        Object.fromEntries((await query("SELECT status, COUNT(*)::int AS n FROM automarket_generations GROUP BY status")).map((r) => [String(r.status), Number(r.n)]))
      // For a run that stalls: a few generations whose job is held but not polled, with their messages in the engine's journal.
      const stuckJournal = async () => {
        const unpolled = [...lastPoll.entries()].filter(([, at]) => at < Date.now() - stalledAfterMs).map(([job]) => job.slice(job.indexOf(":") + 1))
        if (unpolled.length === 0) return []
        const rows = await query(
          `SELECT g.id, g.status, m.tag, m.kind, m.processed, m.shard_id, (EXTRACT(EPOCH FROM (NOW() - m.last_read)) * 1000)::int AS read_ms_ago
           FROM automarket_generations g JOIN cluster_messages m ON m.entity_id = g.execution_id
           WHERE g.request_id = ANY($1) AND g.status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY g.id, m.rowid LIMIT 30`,
          [unpolled]
        )
        const locks = await query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return [
          `${unpolled.length} jobs not polled for ${stalledAfterMs} ms; advisory locks held: ${locks.map((r) => String(r.objid)).sort().join(",")}`,
          ...rows.map((r) => JSON.stringify(r))
        ]
      }
      const diagnosis = async () => {
        const failed = await query("SELECT id, error FROM automarket_generations WHERE status = 'failed' ORDER BY id LIMIT 3").catch(() => [])
        const stuck = await stuckJournal().catch((error: unknown) => [`(journal not read: ${String(error)})`])
        const tails = workers.map((w) => `--- worker ${w.slot} :${w.port} ---\n${w.stderr.split("\n").filter((line) => !/DeprecationWarning|trace-deprecation/.test(line)).slice(-12).join("\n")}`)
        return [
          JSON.stringify(await statusCounts().catch(() => ({}))),
          ...failed.map((r) => `${String(r.id)}: ${String(r.error)}`),
          ...stuck,
          ...unexpectedExits,
          ...tails
        ].join("\n")
      }
      const explained = <A>(promise: Promise<A>): Promise<A> =>
        promise.catch(async (error: unknown) => {
          throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnosis()}`)
        })

      // The client: this process starts the generations through the library (it runs none).
      client = ManagedRuntime.make(
        Durable.layerPg({ url, role: { _tag: "client" }, stateDir: path.join(root, "client-state") }).pipe(
          Layer.provide(ProviderRegistry.fromProviders([])),
          Layer.provide(FetchHttpClient.layer)
        )
      )
      const out = path.join(root, "out")
      const ids = Array.from({ length: generations }, (_, i) => `cluster-${String(i).padStart(3, "0")}`)
      const requestOf = (i: number): Durable.StartRequest => ({
        capability: "text-to-image",
        input: text(`a lighthouse, take ${i}`),
        ...(i % 2 === 0 ? { provider: "falai", model: "fal-ai/flux/schnell" } : { provider: "replicate", model: "black-forest-labs/flux-schnell" }),
        key: ids[i]!,
        deliverTo: path.join(out, `${ids[i]!}.png`)
      })

      interface KillRecord extends Kill {
        readonly takeoverMs: number
        readonly stalled: number
        readonly medianStalledMs: number
        readonly shardsMovedMs: number | undefined
      }
      const kills: Array<KillRecord> = []
      const joinGaps: Array<number> = []
      // The wave whose worker was just replaced: held until the replacement is ready and has taken its share of shards.
      let joining: { readonly wave: number; readonly replacement: Worker; readonly window: GapWindow } | undefined
      const allPolledWithin = (jobs: ReadonlyArray<string>, what: string) =>
        explained(until(what, () => jobs.every((job) => (lastPoll.get(job) ?? 0) >= Date.now() - stalledAfterMs), 30_000))
      const settleJoining = async (alsoPolled: ReadonlyArray<string>) => {
        if (joining === undefined) return
        const { wave, replacement, window } = joining
        const readyMs = await explained(replacement.ready)
        await allPolledWithin([...window.jobs, ...alsoPolled], `the jobs to be polled once worker ${replacement.slot} joined`)
        const longestGapMs = closeGapWindow(window)
        joinGaps.push(longestGapMs)
        console.log(
          `  worker ${replacement.slot} restarted on port ${replacement.port}: ready in ${readyMs} ms; ` +
            `while it joined, a held job of wave ${wave + 1} went at most ${longestGapMs} ms without a poll (shards handed over to it)`
        )
        released.add(wave)
        joining = undefined
      }
      let lastKillAt = 0
      const firstStart = Date.now()
      for (let wave = 0; wave < waves; wave++) {
        currentWave = wave
        const indexes = Array.from({ length: waveSize }, (_, i) => wave * waveSize + i)
        const waveIds = indexes.map((i) => ids[i]!)
        const startAt = Date.now()
        await client.runPromise(
          Effect.flatMap(Durable.Generations, (service) => Effect.forEach(indexes, (i) => service.start(requestOf(i)), { concurrency: 10, discard: true }))
        )
        const startedMs = Date.now() - startAt
        // Every generation of the wave has its ticket, and no other is started until the kill: none is in the submit window.
        const ticketedMs = await explained(
          until(
            `wave ${wave + 1}'s tickets`,
            async () => Number((await query("SELECT COUNT(*)::int AS n FROM automarket_generations WHERE ticket IS NOT NULL AND id = ANY($1)", [waveIds]))[0]!.n) === waveSize,
            90_000,
            100
          )
        )
        const jobs = (await query("SELECT provider, request_id FROM automarket_generations WHERE id = ANY($1)", [waveIds])).map(
          (r) => `${String(r.provider)}:${String(r.request_id)}`
        )
        console.log(`wave ${wave + 1}: ${waveSize} started in ${startedMs} ms, all submitted ${ticketedMs} ms later`)
        // The previous replacement is up (each kill lands on three ready workers), and every held job is being polled.
        await settleJoining(jobs)
        await allPolledWithin(jobs, `wave ${wave + 1}'s jobs to be polled`)
        await pause(Math.max(0, lastKillAt + killEveryMs - Date.now()))
        expect((await statusCounts())["submitting"]).toBeUndefined()

        // Every shard has its owner (no handover left from the last join).
        await explained(until(`all ${shards} shards to be held`, async () => (await shardsHeld()) === shards, 30_000, 100))
        const slot = wave % 3
        const victim = live.get(slot)!
        victim.stopping = true
        const kill: Kill = { wave, slot, pid: victim.child.pid!, at: Date.now(), jobs, firstPollAfter: new Map() }
        currentKill = kill
        victim.child.kill("SIGKILL")
        const sinceLastKill = lastKillAt === 0 ? undefined : kill.at - lastKillAt
        lastKillAt = kill.at
        let shardsMovedMs: number | undefined
        const shardWatch = (async () => {
          let lost = false
          while (shardsMovedMs === undefined && Date.now() - kill.at < 30_000) {
            const held = await shardsHeld()
            if (held < shards) lost = true
            else if (lost) shardsMovedMs = Date.now() - kill.at
            await pause(100)
          }
        })().catch(() => undefined)
        expect((await victim.exited).signal).toBe("SIGKILL")
        goneAddresses.add(`127.0.0.1:${victim.port}`)
        await explained(
          until(`every job of wave ${wave + 1} to be polled after the kill`, () => jobs.every((job) => kill.firstPollAfter.has(job)), 60_000).catch(
            (error: unknown) => {
              throw new Error(`${String(error)}: ${jobs.filter((job) => !kill.firstPollAfter.has(job)).length} of ${jobs.length} not polled again`)
            }
          )
        )
        currentKill = undefined
        await shardWatch
        const delays = jobs.map((job) => kill.firstPollAfter.get(job)! - kill.at).sort((a, b) => a - b)
        const stalled = delays.filter((ms) => ms > stalledAfterMs)
        const record: KillRecord = {
          ...kill,
          takeoverMs: delays.at(-1)!,
          stalled: stalled.length,
          medianStalledMs: stalled.length === 0 ? 0 : stalled[Math.floor(stalled.length / 2)]!,
          shardsMovedMs
        }
        kills.push(record)
        console.log(
          `  kill ${wave + 1}: worker ${slot} (pid ${kill.pid}) at +${((kill.at - started) / 1000).toFixed(1)} s` +
            `${sinceLastKill === undefined ? "" : ` (${(sinceLastKill / 1000).toFixed(1)} s after the previous)`}: ` +
            `all ${shards} shards held again after ${shardsMovedMs ?? "(not within 30 s)"} ms; ` +
            `${record.stalled} of ${waveSize} jobs stalled, all polled again after ${record.takeoverMs} ms (median stalled ${record.medianStalledMs} ms)`
        )
        // Restarted once its generations run elsewhere (a replacement booting beside the takeover slows it on 2 cores);
        // the next wave starts while it joins.
        const replacement = await startWorker(slot)
        live.set(slot, replacement)
        joining = { wave, replacement, window: openGapWindow(jobs) }
      }
      await settleJoining([])

      // ---- all 200 succeed.
      await explained(until("all generations to succeed", async () => (await statusCounts())["succeeded"] === generations, 90_000, 250))
      const allMs = Date.now() - firstStart
      console.log(`all ${generations} succeeded ${allMs} ms after the first start (${((generations * 1000) / allMs).toFixed(1)} a second, kills included)`)
      expect(unexpectedExits).toEqual([])

      // Each kill hit generations mid-run; its shards moved and its generations resumed within the bound,
      // and so did those handed to each replacement as it joined.
      expect(kills).toHaveLength(waves)
      for (const kill of kills) {
        expect(kill.stalled).toBeGreaterThan(0)
        expect(kill.shardsMovedMs).toBeLessThanOrEqual(takeoverBoundMs)
        expect(kill.takeoverMs).toBeLessThanOrEqual(takeoverBoundMs)
      }
      expect(joinGaps).toHaveLength(waves)
      for (const gap of joinGaps) expect(gap).toBeLessThanOrEqual(takeoverBoundMs)

      // Exactly one submit each, nothing cancelled, no input submitted twice.
      expect(fal.count("submit")).toBe(generations / 2)
      expect(replicate.count("create")).toBe(generations / 2)
      expect(fal.count("cancel") + replicate.count("cancel")).toBe(0)
      expect([...fal.jobsByInput().values(), ...replicate.predictionsByInput().values()].every((n) => n === 1)).toBe(true)

      // Every stored and delivered file holds the emulator's bytes.
      const rows = await query("SELECT id, provider, result FROM automarket_generations ORDER BY id")
      expect(rows).toHaveLength(generations)
      for (const row of rows) {
        const result = JSON.parse(String(row.result)) as { output: { path?: string; provider: string }; deliveredTo?: string }
        const expected = Buffer.from(fileContent(row.provider === "falai" ? falBytes : replicateBytes))
        expect(result.output.provider).toBe(row.provider)
        expect(result.deliveredTo).toBe(path.join(out, `${String(row.id)}.png`))
        expect(Buffer.compare(fs.readFileSync(result.output.path!), expected), result.output.path).toBe(0)
        expect(Buffer.compare(fs.readFileSync(result.deliveredTo!), expected), result.deliveredTo).toBe(0)
      }
      expect(fs.readdirSync(out)).toHaveLength(generations)
      expect(filesUnder(root).filter((name) => name.endsWith(".part"))).toEqual([])

      // ---- stop: the client, then the workers (SIGTERM); no process and no connection is left.
      await client.dispose()
      client = undefined
      const stopAt = Date.now()
      for (const worker of live.values()) {
        worker.stopping = true
        goneAddresses.add(`127.0.0.1:${worker.port}`)
        worker.child.kill("SIGTERM")
      }
      const exits = await Promise.all(
        [...live.values()].map((worker) => Promise.race([worker.exited, pause(30_000).then(() => ({ code: null, signal: null, timedOut: true }))]))
      )
      console.log(`workers stopped with SIGTERM in ${Date.now() - stopAt} ms: ${JSON.stringify(exits)}`)
      for (const exit of exits) expect(exit).toEqual({ code: 130, signal: null })
      expect(processesMentioning(url)).toEqual([])
      const connections = async () => Number((await query("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = 'automarket'"))[0]!.n)
      await until("no automarket connection left", async () => (await connections()) === 0, 10_000, 100).catch(async (error: unknown) => {
        throw new Error(`${String(error)}: ${await connections()} left`)
      })

      const polls = fal.count("status") + replicate.count("get")
      const cpuMs = workers.reduce((sum, worker) => sum + worker.cpuMs, 0)
      console.log(
        `summary: ${generations} generations, ${waves} kills, takeovers ${kills.map((k) => `${k.takeoverMs} ms`).join(", ")}; ` +
          `held jobs went at most ${joinGaps.map((ms) => `${ms} ms`).join(", ")} without a poll while a replacement joined; ` +
          `oldest heartbeat of a live worker ${oldestHeartbeatMs} ms; ${polls} status polls; workers used ${(cpuMs / 1000).toFixed(1)} s of CPU (${(cpuMs / generations).toFixed(0)} ms a generation); ` +
          `whole test ${((Date.now() - started) / 1000).toFixed(1)} s`
      )
    } finally {
      if (sampler !== undefined) clearInterval(sampler)
      await client?.dispose().catch(() => undefined)
      for (const worker of workers) {
        if (worker.child.exitCode === null && worker.child.signalCode === null) {
          worker.stopping = true
          worker.child.kill("SIGKILL")
        }
      }
      await Promise.all(workers.map((worker) => worker.exited))
      await db?.end().catch(() => undefined)
      await monitor?.end().catch(() => undefined)
      await server?.stop()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 240_000)
})
