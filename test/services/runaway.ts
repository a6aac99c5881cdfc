/**
 * Helpers of the tests where an engine will not stop by itself (an ffmpeg reading a live
 * playlist, a stand-in engine that ignores SIGTERM): find its processes, tell whether a pid is
 * still alive, bound a wait without asserting a time, and, whatever the test found, kill what is
 * left so that no test leaves a process behind.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"

/** Process ids whose command line contains every one of `parts` (read from /proc). */
export const processesMentioning = async (...parts: ReadonlyArray<string>): Promise<ReadonlyArray<number>> => {
  const found: Array<number> = []
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const cmdline = await readFile(join("/proc", entry, "cmdline"), "utf8").catch(() => "")
    if (parts.every((part) => cmdline.includes(part))) found.push(Number(entry))
  }
  return found
}

/**
 * A stand-in engine: while the file `hang` exists in `dir` when it starts, it ignores SIGTERM and
 * never ends (its children, `sleep`s, inherit the ignored signal); otherwise it is `real` with the
 * same arguments (so the service's start-up check, and any later job, get the real engine). Its
 * command line contains `dir`, so a test finds it among the processes.
 */
export const stubbornEngine = (dir: string, name: string, real: string): string => {
  const path = join(dir, name)
  writeFileSync(
    path,
    `#!/bin/sh\nif [ -f "${join(dir, "hang")}" ]; then\n  trap '' TERM\n  while :; do sleep 0.05; done\nfi\nexec ${real} "$@"\n`
  )
  chmodSync(path, 0o755)
  return path
}

/** Whether a process is still running (a zombie, or no entry in /proc, is not). */
export const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The state follows the command name in parentheses, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** `promise`, or a failure naming `what` once `ms` have passed: a deadline, not a measurement. */
export const within = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** Wait (bounded) until some process mentions every one of `parts`; their pids. */
export const processesAppear = async (parts: ReadonlyArray<string>, ms = 15_000): Promise<ReadonlyArray<number>> => {
  const until = Date.now() + ms
  for (;;) {
    const found = await processesMentioning(...parts)
    if (found.length > 0) return found
    if (Date.now() > until) throw new Error(`no process mentioning ${parts.join(" and ")} within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Wait (bounded) until none of `pids` is alive; the ones still alive when the deadline passed. */
export const gone = async (pids: ReadonlyArray<number>, ms: number): Promise<ReadonlyArray<number>> => {
  const until = Date.now() + ms
  for (;;) {
    const left = pids.filter(alive)
    if (left.length === 0 || Date.now() > until) return left
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Cleanup: SIGKILL every process (started by this test) whose command line mentions all of `parts`. */
export const killLeftovers = async (...parts: ReadonlyArray<string>): Promise<void> => {
  for (const pid of await processesMentioning(...parts)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

/** A service under a runaway test, as the suite starts and speaks to it. */
export interface RunawayService {
  /** Start the service with this engine timeout, one job at a time, and `maxQueued` waiting (the default when undefined). */
  readonly start: (
    engineTimeout: Duration.DurationInput,
    workDir: string,
    maxQueued?: number
  ) => Promise<{ readonly url: string; readonly stop: () => Promise<void> }>
  /** Make the next engine run never end by itself (and ignore SIGTERM); `disarm` undoes it for later runs. */
  readonly arm: () => void
  readonly disarm: () => void
  /** The request whose engine run will not end. */
  readonly hanging: (url: string, signal?: AbortSignal) => Promise<Response>
  /** A request the service serves (its engine ends). */
  readonly served: (url: string) => Promise<Response>
  /** Wait (bounded) until the engine is in the state where it ignores SIGTERM, once it runs. */
  readonly settled?: (workDir: string) => Promise<void>
  /** Texts in the command line of the engine process that does not end (a path of the test's among them). */
  readonly marker: (workDir: string) => ReadonlyArray<string>
  /** How the service answers a run stopped at its timeout: the status and a part of the body. */
  readonly timedOut: { readonly status: number; readonly says: string }
  /** How it answers a request its shutdown interrupted. */
  readonly shutDown: { readonly status: number }
}

/**
 * The runaway suite's deadlines: the engine timeout it sets, and the kill grace (the runner's
 * default). The timeout also holds the next request, whose real engine runs on a machine busy
 * with other tests: it is a bound, long enough for that run, not a measure of it.
 */
export const runawayTimeout: Duration.DurationInput = "8 seconds"
const graceMs = 3000
const slackMs = 12_000


/**
 * The three ways a run that will not end must still end, for one service: its engine timeout
 * answers the request, a client that goes away takes it along, the service's shutdown stops it
 * and completes. Each time the engine's processes are gone (by pid), and, but for the shutdown,
 * the one slot is free again: a next request is served. `root` is a directory the test owns.
 */
export const runawaySuite = (name: string, service: RunawayService, root: () => string) =>
  describe(`${name}: an engine run that will not end by itself`, () => {
    const cleanups: Array<() => Promise<void>> = []
    afterEach(async () => {
      service.disarm()
      for (const cleanup of cleanups.splice(0)) await cleanup()
    })

    const started = async (engineTimeout: Duration.DurationInput, name: string, maxQueued?: number) => {
      const workDir = join(root(), name)
      const server = await service.start(engineTimeout, workDir, maxQueued)
      let stopped = false
      // Whatever the test found: no process of it left, the service closed.
      cleanups.push(async () => {
        await killLeftovers(...service.marker(workDir))
        if (!stopped) await server.stop()
      })
      return {
        url: server.url,
        workDir,
        stop: () => {
          stopped = true
          return server.stop()
        }
      }
    }

    const servedNext = async (url: string) => {
      const next = await within(service.served(url), 60_000, "the next request")
      expect(next.status).toBe(200)
    }

    it("the engine timeout stops it: the request is answered, its processes are gone, the slot is free", async () => {
      const server = await started(runawayTimeout, "timeout")
      service.arm()
      const answer = service.hanging(server.url)
      const pids = await processesAppear(service.marker(server.workDir))
      await service.settled?.(server.workDir)
      service.disarm()
      const response = await within(answer, 8000 + graceMs + slackMs, "the answer")
      expect(response.status).toBe(service.timedOut.status)
      expect(await response.text()).toContain(service.timedOut.says)
      expect(await gone(pids, graceMs + 5000)).toEqual([])
      await servedNext(server.url)
    })

    it("a client that goes away stops it: its processes are gone, the slot is free", async () => {
      const server = await started("1 hour", "disconnect")
      service.arm()
      const abort = new AbortController()
      const answer = service.hanging(server.url, abort.signal).catch((error: unknown) => error)
      const pids = await processesAppear(service.marker(server.workDir))
      await service.settled?.(server.workDir)
      service.disarm()
      abort.abort()
      expect(await answer).toBeInstanceOf(Error)
      expect(await gone(pids, graceMs + 5000)).toEqual([])
      await servedNext(server.url)
    })

    it("a full queue answers 503 with Retry-After at once, and the refused request's upload is not stored", async () => {
      const server = await started("1 hour", "full", 1)
      service.arm()
      const aborts = [new AbortController(), new AbortController()]
      cleanups.unshift(async () => aborts.forEach((abort) => abort.abort()))
      const running = service.hanging(server.url, aborts[0]!.signal).catch((error: unknown) => error)
      await processesAppear(service.marker(server.workDir))
      // The second waits for the slot, its upload stored in its job directory.
      const waiting = service.hanging(server.url, aborts[1]!.signal).catch((error: unknown) => error)
      const jobDirs = () => readdirSync(server.workDir).filter((name) => name.startsWith("job-"))
      for (let i = 0; i < 600 && jobDirs().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 25))
      expect(jobDirs()).toHaveLength(2)
      const refused = await within(service.served(server.url), 15_000, "the refusal")
      expect(refused.status).toBe(503)
      expect(refused.headers.get("retry-after")).toBe("5")
      expect(await refused.text()).toContain("busy")
      expect(jobDirs()).toHaveLength(2)
      aborts.forEach((abort) => abort.abort())
      await Promise.all([running, waiting])
    })

    it("shutdown stops it and completes: its processes are gone, the request answered, the files removed", async () => {
      const server = await started("1 hour", "shutdown")
      service.arm()
      const answer = service.hanging(server.url)
      const pids = await processesAppear(service.marker(server.workDir))
      await service.settled?.(server.workDir)
      service.disarm()
      await within(server.stop(), graceMs + slackMs, "the shutdown")
      expect(await gone(pids, 1000)).toEqual([])
      expect((await within(answer, 5000, "the answer")).status).toBe(service.shutDown.status)
      expect(readdirSync(server.workDir)).toEqual([])
    })
  })
