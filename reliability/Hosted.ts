/**
 * Starting `host.ts` (emulators in a process of their own) and reading what it says: the URLs
 * it serves, and the requests it holds for a `killed` fault (the caller kills it then, with
 * SIGKILL, as a container dies).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import type { EmulatorStats } from "./Emulators.js"
import type { RemoteId } from "./FaultPlan.js"
import type { HostConfig } from "./host.js"

/** A request the host held, and its emulator's counts at that moment. */
export interface Held {
  readonly id: RemoteId
  readonly path: string
  readonly stats: EmulatorStats | undefined
}

/** A running host. */
export interface Hosted {
  readonly urls: Readonly<Partial<Record<RemoteId, string>>>
  /** `GET <control>/stats`: every emulator's counts. */
  readonly control: string
  /** Every emulator's counts, asked of the running host. */
  readonly stats: () => Promise<Partial<Record<RemoteId, EmulatorStats>>>
  readonly child: ChildProcess
  /** The requests held so far. */
  readonly held: ReadonlyArray<Held>
  /** Resolves at the first held request. */
  readonly firstHeld: Promise<Held>
  /** SIGTERM, then SIGKILL after `graceMs` if it has not exited. Resolves when it exited. */
  readonly stop: (graceMs?: number) => Promise<void>
}

/** The host's `/stats` answer: an object of counts per emulator (the host is ours; a shallow check suffices). */
const isStats = (body: unknown): body is Partial<Record<RemoteId, EmulatorStats>> => typeof body === "object" && body !== null && !Array.isArray(body)

/** Where the suite's programs are. */
export const reliabilityDir: string = import.meta.dirname

/** Start a host with `config`; `onHeld` is told of each held request (e.g. to kill the host at once). */
export const spawnHost = (config: HostConfig, onHeld?: (held: Held, child: ChildProcess) => void): Promise<Hosted> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(reliabilityDir, "host.ts"), JSON.stringify(config)], {
      cwd: path.resolve(reliabilityDir, ".."),
      stdio: ["ignore", "pipe", "inherit"]
    })
    const held: Array<Held> = []
    let firstHeld: (held: Held) => void = () => {}
    const first = new Promise<Held>((done) => {
      firstHeld = done
    })
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    let ready = false
    let buffered = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8")
      let newline = buffered.indexOf("\n")
      while (newline !== -1) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf("\n")
        let event: { event?: string; urls?: Partial<Record<RemoteId, string>>; control?: string; id?: RemoteId; path?: string; stats?: EmulatorStats }
        try {
          event = JSON.parse(line)
        } catch {
          continue
        }
        if (event.event === "ready" && event.urls !== undefined && event.control !== undefined) {
          ready = true
          resolve({
            urls: event.urls,
            control: event.control,
            stats: () => {
              const control = event.control ?? ""
              return fetch(`${control}/stats`)
                .then((res) => res.json())
                .then((body) => (isStats(body) ? body : {}))
            },
            child,
            held,
            firstHeld: first,
            stop: (graceMs = 5000) => {
              if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
              child.kill("SIGTERM")
              const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
              return exited.then(() => clearTimeout(timer))
            }
          })
        } else if (event.event === "held" && event.id !== undefined) {
          const one: Held = { id: event.id, path: event.path ?? "", stats: event.stats }
          held.push(one)
          onHeld?.(one, child)
          firstHeld(one)
        }
      }
    })
    child.once("exit", (code, signal) => {
      if (!ready) reject(new Error(`the emulator host exited (${code ?? signal}) before it was ready`))
    })
  })
