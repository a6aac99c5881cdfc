/**
 * `automarket serve` given impossible values, as a careless user would: a negative body limit,
 * a port out of range, no concurrency, an empty token, a non-number. Each is refused before the
 * service binds: the process exits with code 1 and one line on stderr naming the value; it never
 * announces that it listens. The same checks guard a service started as a library layer. And the
 * token and the allowed names given on the command line reach the service's front door.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ServiceStartFailed } from "../../../src/services/kit/Errors.js"
import { announcePrefix, optionsProblem, tokenEnvVar } from "../../../src/services/kit/ServerOptions.js"
import * as TtsServer from "../../../src/services/tts/Server.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
let root: string

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "automarket-serve-options-"))
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

interface Outcome {
  /** The exit code, or "listening" when the service announced itself (it was then stopped). */
  readonly exit: number | null | "listening"
  readonly stderr: string
  readonly child: ChildProcess
  readonly port?: number
}

/** Run `automarket serve <args>` until it exits or announces that it listens (then it is left running for the caller). */
const serve = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", ...args, "--work-dir", mkdtempSync(path.join(root, "work-"))], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, [tokenEnvVar]: "", ...env }
    })
    let stdout = ""
    let stderr = ""
    const deadline = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`neither exited nor listened within 60 s: ${stderr}`))
    }, 60_000)
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split("\n").find((l) => l.startsWith(announcePrefix))
      if (line !== undefined) {
        clearTimeout(deadline)
        const { port } = JSON.parse(line.slice(announcePrefix.length)) as { port: number }
        resolve({ exit: "listening", stderr, child, port })
      }
    })
    child.on("exit", (code) => {
      clearTimeout(deadline)
      resolve({ exit: code, stderr, child })
    })
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

const get = (url: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve, reject) => {
    Http.get(url, { headers }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    }).on("error", reject)
  })

describe("automarket serve: impossible values are refused at start, in one line", () => {
  for (const [name, args, words] of [
    ["a negative body limit", ["ffmpeg", "--port", "0", "--max-body-mb", "-1"], /largest request body.*-1048576/],
    ["a zero body limit", ["tts", "--port", "0", "--max-body-mb", "0"], /largest request body.* 0$/],
    ["a port out of range", ["stt", "--port", "99999"], /port must be an integer from 0 to 65535, not 99999/],
    ["a negative port", ["stt", "--port", "-5"], /port must be an integer from 0 to 65535, not -5/],
    ["no concurrency", ["ffmpeg", "--port", "0", "--concurrency", "0"], /concurrency must be an integer from 1 to \d+, not 0/],
    ["an empty token", ["tts", "--port", "0", "--token", ""], /token must be one or more characters/]
  ] as const) {
    it(`${name}: exit 1, one line, never listening`, async () => {
      const outcome = await serve(args)
      if (outcome.exit === "listening") await stop(outcome.child)
      expect(outcome.exit).toBe(1)
      const lines = outcome.stderr.split("\n").filter((line) => line !== "")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^automarket: /)
      expect(lines[0]).toMatch(words)
      expect(lines[0]).not.toContain("internal error")
    })
  }

  it("a non-number is refused before anything starts", async () => {
    const outcome = await serve(["ffmpeg", "--port", "eighty"])
    if (outcome.exit === "listening") await stop(outcome.child)
    expect(outcome.exit).toBe(1)
    expect(outcome.stderr).toContain("eighty")
  })

  it("binding beyond loopback without a token is refused, naming the way out", async () => {
    const outcome = await serve(["tts", "--port", "0", "--host", "0.0.0.0"])
    if (outcome.exit === "listening") await stop(outcome.child)
    expect(outcome.exit).toBe(1)
    const lines = outcome.stderr.split("\n").filter((line) => line !== "")
    expect(lines).toEqual([expect.stringMatching(/^automarket: tts: refusing to listen on 0\.0\.0\.0 without a token.*--allow-no-token/)])
  })
})

describe("automarket serve: the front door's options reach the service", () => {
  it("the token from the environment is required; --allow-host adds a name", async () => {
    const outcome = await serve(["tts", "--port", "0", "--allow-host", "media.internal"], { [tokenEnvVar]: "s3cret-token" })
    try {
      expect(outcome.exit, outcome.stderr).toBe("listening")
      const base = `http://127.0.0.1:${outcome.port}`
      expect(await get(`${base}/get_predefined_voices`)).toBe(401)
      expect(await get(`${base}/get_predefined_voices`, { authorization: "Bearer s3cret-token" })).toBe(200)
      expect(await get(`${base}/get_predefined_voices`, { authorization: "Bearer s3cret-token", host: `media.internal:${outcome.port}` })).toBe(200)
      expect(await get(`${base}/get_predefined_voices`, { authorization: "Bearer s3cret-token", host: `other.internal:${outcome.port}` })).toBe(403)
      expect(await get(`${base}/health`)).toBe(200)
    } finally {
      await stop(outcome.child)
    }
  })
})

describe("the same checks for a service started as a layer", () => {
  it("optionsProblem names what is wrong; the layer fails with ServiceStartFailed before binding", async () => {
    const fine = { host: "127.0.0.1", port: 0, maxBodyBytes: 1024, concurrency: 1 }
    expect(optionsProblem(fine)).toBeUndefined()
    expect(optionsProblem({ ...fine, port: 65536 })).toMatch(/port/)
    expect(optionsProblem({ ...fine, port: 1.5 })).toMatch(/port/)
    expect(optionsProblem({ ...fine, maxBodyBytes: Number.POSITIVE_INFINITY })).toMatch(/body/)
    expect(optionsProblem({ ...fine, concurrency: 0 })).toMatch(/concurrency/)
    expect(optionsProblem({ ...fine, concurrency: Number.NaN })).toMatch(/concurrency/)
    expect(optionsProblem({ ...fine, maxQueued: -1 })).toMatch(/queue/)
    expect(optionsProblem({ ...fine, engineTimeout: 0 })).toMatch(/engine timeout/)
    expect(optionsProblem({ ...fine, engineTimeout: Number.POSITIVE_INFINITY })).toMatch(/engine timeout/)
    expect(optionsProblem({ ...fine, maxQueued: 0, engineTimeout: "5 seconds" })).toBeUndefined()
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(TtsServer.layer({ ...fine, maxBodyBytes: -1 }))))
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(error).toBeInstanceOf(ServiceStartFailed)
    expect(readdirSync(root).filter((entry) => !entry.startsWith("work-"))).toEqual([])
  })
})
