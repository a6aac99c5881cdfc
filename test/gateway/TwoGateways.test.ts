/**
 * Two `automarket serve gateway` processes on one throwaway Postgres, with fal.ai emulated in this
 * process on 127.0.0.1: any gateway answers for any generation, whichever one took it.
 *
 * - A generation POSTed to gateway A (text-to-image on fal, with an Idempotency-Key) is read
 *   (`GET`) and watched (`GET .../events`, server-sent events up to the final status) through
 *   gateway B, and succeeds;
 * - a second one, which the emulator keeps queued, is cancelled through B: the emulator sees the
 *   cancel, and the generation ends cancelled;
 * - the same Idempotency-Key POSTed to A and B at the same moment is one generation and one submit.
 *
 * The key is made with `automarket keys create --database`, as an operator would; the gateways
 * read it from the same database. Its secret is never printed: it only goes into request headers.
 * At the end both gateways are stopped with SIGTERM and must exit on their own.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { makeFal, serve } from "../emulators/falai.js"
import { falCliEnv } from "../support/FalCliEnv.js"
import { type RunningPostgres, startPostgres } from "../support/Postgres.js"
import { run } from "../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-two-gateways-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const announce = "automarket-listening "
/** The prompt the emulator never lets out of the queue (the generation to cancel). */
const heldPrompt = "a lighthouse that waits"
const model = "fal-ai/flux/schnell"

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const until = async (what: string, check: () => boolean | Promise<boolean>, ms: number, every = 50): Promise<void> => {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await pause(every)
  }
}

/** One gateway process. */
interface GatewayProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
  /** `http://127.0.0.1:<port>`, from its announce line. */
  readonly origin: Promise<string>
}

const startGateway = (name: string, database: string, env: NodeJS.ProcessEnv): GatewayProcess => {
  const child = spawn(process.execPath, [bin, "serve", "gateway", "--port", "0", "--database", database], { env, stdio: ["ignore", "pipe", "pipe"] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  let stdout = ""
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const origin = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split("\n").find((l) => l.startsWith(announce))
      if (line !== undefined) {
        const { host, port } = JSON.parse(line.slice(announce.length)) as { host: string; port: number }
        resolve(`http://${host}:${port}`)
      }
    })
    void exited.then(({ code, signal }) => reject(new Error(`gateway ${name} exited before it listened (code ${code}, signal ${signal}):\n${stderr}`)))
  })
  origin.catch(() => undefined)
  return { name, child, exited, stderr: () => stderr, origin }
}

/** The parts of a generation the test reads. */
interface View {
  readonly id: string
  readonly status: string
  readonly provider: string | null
  readonly result: { readonly kind: string; readonly url: string | null } | null
}

/** One server-sent event. */
interface SseEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: Record<string, unknown>
}

/** Split a text/event-stream body into its events (comments such as keep-alives are skipped). */
const parseSse = (body: string): Array<SseEvent> =>
  body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .flatMap((block) => {
      const fields = new Map<string, string>()
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue
        const colon = line.indexOf(":")
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ""))
      }
      const data = fields.get("data")
      return data === undefined ? [] : [{ id: fields.get("id"), event: fields.get("event"), data: JSON.parse(data) as Record<string, unknown> }]
    })

const finalStatuses = new Set(["succeeded", "failed", "cancelled"])

describe("two gateways on one Postgres", () => {
  it("a generation started on A is read, watched and cancelled on B; one Idempotency-Key on both at once is one submit", async () => {
    const started = Date.now()
    const scope = Effect.runSync(Scope.make())
    const gateways: Array<GatewayProcess> = []
    let server: RunningPostgres | undefined
    try {
      const fal = makeFal({
        queueSteps: 1,
        runSteps: 1,
        planJob: (input) => (input.prompt === heldPrompt ? { stuck: true } : undefined)
      })
      await Effect.runPromise(Scope.extend(serve(fal), scope))
      server = await startPostgres()
      const database = server.url
      // One machine: both gateways share the state folder (where results are stored).
      const env = falCliEnv(fal, root, { AUTOMARKET_STATE_DIR: path.join(root, "state") })

      const created = await run(process.execPath, [bin, "keys", "create", "--name", "two gateways", "--json", "--database", database], { env, timeout: 60_000 })
      expect(created.status, created.stderr).toBe(0)
      const secret = (JSON.parse(created.stdout) as { secret: string }).secret
      const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" }

      // A first (it creates the cluster's tables), then B beside it.
      const a = startGateway("A", database, env)
      gateways.push(a)
      const originA = await a.origin
      const b = startGateway("B", database, env)
      gateways.push(b)
      const originB = await b.origin
      expect(originA).not.toBe(originB)

      const post = (origin: string, idempotencyKey: string, prompt: string) =>
        fetch(`${origin}/v1/generations`, {
          method: "POST",
          headers: { ...headers, "idempotency-key": idempotencyKey },
          body: JSON.stringify({ capability: "text-to-image", input: { type: "text", text: prompt }, provider: "falai", model })
        })
      const get = async (origin: string, id: string): Promise<View> => {
        const response = await fetch(`${origin}/v1/generations/${encodeURIComponent(id)}`, { headers })
        expect(response.status, await response.clone().text()).toBe(200)
        return (await response.json()) as View
      }
      /** The generation's events through `origin`, read until the final status (the stream may stay open). */
      const watch = async (origin: string, id: string): Promise<Array<SseEvent>> => {
        const response = await fetch(`${origin}/v1/generations/${encodeURIComponent(id)}/events`, { headers, signal: AbortSignal.timeout(30_000) })
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
        let body = ""
        try {
          for (;;) {
            const events = parseSse(body.slice(0, body.lastIndexOf("\n\n") + 2))
            if (events.some((e) => e.data._tag === "Status" && finalStatuses.has(String(e.data.status)))) return events
            const chunk = await reader.read()
            if (chunk.done) throw new Error(`the events of ${id} ended before its final status:\n${body}\n${gateways.map((g) => `${g.name}: ${g.stderr()}`).join("\n")}`)
            body += chunk.value
          }
        } finally {
          await reader.cancel().catch(() => undefined)
        }
      }

      // ---- started on A, read and watched on B.
      const first = await post(originA, "fox-1", "a red fox in the snow")
      expect(first.status, await first.clone().text()).toBe(202)
      const firstView = (await first.json()) as View
      expect(firstView.id).toMatch(/^key_[0-9a-f]+\.fox-1$/)
      expect((await get(originB, firstView.id)).id).toBe(firstView.id)
      const events = await watch(originB, firstView.id)
      const statuses = events.filter((e) => e.data._tag === "Status").map((e) => e.data.status)
      expect(statuses.at(-1)).toBe("succeeded")
      expect(events.map((e) => e.data._tag)).toContain("Submitted")
      // Sequence numbers rise: the stream is the journal in order.
      const seqs = events.flatMap((e) => (e.id !== undefined ? [Number(e.id)] : []))
      expect(seqs.length).toBeGreaterThan(3)
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      const done = await get(originB, firstView.id)
      expect(done).toMatchObject({ status: "succeeded", provider: "falai", result: { kind: "image", mime_type: "image/png", bytes: 4096 } })
      expect(fal.jobsByInput().get(JSON.stringify({ prompt: "a red fox in the snow" }))).toBe(1)

      // ---- held in the queue, cancelled on B.
      const held = await post(originA, "held-1", heldPrompt)
      expect(held.status, await held.clone().text()).toBe(202)
      const heldId = ((await held.json()) as View).id
      await until("the held generation to be submitted", () => fal.count("submit") === 2, 20_000)
      await until("the held generation to be polled", () => [...fal.jobs.values()].some((job) => job.input.prompt === heldPrompt && job.polls > 0), 20_000)
      const cancel = await fetch(`${originB}/v1/generations/${encodeURIComponent(heldId)}`, { method: "DELETE", headers })
      expect(cancel.status, await cancel.clone().text()).toBe(202)
      await until("the held generation to end cancelled", async () => (await get(originB, heldId)).status === "cancelled", 20_000, 100)
      await until("the emulator to see the cancel", () => fal.count("cancel") === 1, 10_000)
      const cancelledEvents = await watch(originA, heldId)
      expect(cancelledEvents.filter((e) => e.data._tag === "Status").at(-1)?.data.status).toBe("cancelled")

      // ---- one Idempotency-Key on A and B at the same moment: one generation, one submit.
      const [onA, onB] = await Promise.all([post(originA, "race-1", "two owls"), post(originB, "race-1", "two owls")])
      expect([onA.status, onB.status], `${await onA.clone().text()}\n${await onB.clone().text()}`).toEqual([202, 202])
      const [raceA, raceB] = [(await onA.json()) as View, (await onB.json()) as View]
      expect(raceA.id).toBe(raceB.id)
      expect((await watch(originA, raceA.id)).filter((e) => e.data._tag === "Status").at(-1)?.data.status).toBe("succeeded")

      // Exactly one submit per generation, and the one cancel.
      expect(fal.count("submit")).toBe(3)
      expect([...fal.jobsByInput().values()]).toEqual([1, 1, 1])
      expect(fal.count("cancel")).toBe(1)

      // ---- both stop on SIGTERM.
      for (const gateway of gateways) gateway.child.kill("SIGTERM")
      const exits = await Promise.all(
        gateways.map((gateway) => Promise.race([gateway.exited, pause(20_000).then(() => ({ code: null, signal: null, timedOut: true }))]))
      )
      expect(exits.map((exit) => "timedOut" in exit), gateways.map((g) => g.stderr()).join("\n")).toEqual([false, false])
      for (const exit of exits) expect(exit.signal).toBeNull()
      console.log(`two gateways: exits ${JSON.stringify(exits)}; whole test ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      for (const gateway of gateways) {
        if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill("SIGKILL")
      }
      await Promise.all(gateways.map((gateway) => gateway.exited))
      await server?.stop()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, 90_000)
})
