/**
 * The README's gateway examples, run as written: a key made with `automarket keys create`, a real
 * `automarket serve gateway` process on the embedded default (the local engines; OpenRouter's
 * emulator standing in for the chat example's text provider), each `sh` block between the
 * README's `gateway-examples` markers run by bash with `AUTOMARKET_GATEWAY` and `AUTOMARKET_KEY`
 * set, and the openai SDK example (`scratchpad/gateway-openai.ts`).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openrouter } from "../emulators/openrouter.js"
import { run } from "../support/Run.js"

const root = path.resolve(import.meta.dirname, "../..")
const bin = path.join(root, "bin", "automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-readme-gateway-"))
const scope = Effect.runSync(Scope.make())
let env: NodeJS.ProcessEnv = {}
let gateway: ChildProcess | undefined
let base = ""
let key = ""

/** The `sh` blocks between the README's gateway markers. */
const examples = (): ReadonlyArray<string> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("<!-- gateway-examples")
  const end = readme.indexOf("<!-- /gateway-examples -->")
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

beforeAll(async () => {
  const chat = await Effect.runPromise(Scope.extend(openrouter(), scope))
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    AUTOMARKET_STATE_DIR: path.join(dir, "state"),
    XDG_CACHE_HOME: path.join(dir, "cache"),
    OPENROUTER_API_KEY: "or-readme-key",
    OPENROUTER_BASE_URL: chat.baseUrl,
    AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1",
    NO_COLOR: "1"
  }
  // The README's first block, as a test runs it: the key, then the gateway on a free port.
  const created = await run(process.execPath, [bin, "keys", "create", "--name", "me", "--json"], { env, timeout: 60_000 })
  expect(created.status).toBe(0)
  key = (JSON.parse(created.stdout) as { secret: string }).secret
  gateway = spawn(process.execPath, [bin, "serve", "gateway", "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] })
  let err = ""
  gateway.stderr!.on("data", (chunk: Buffer) => void (err += chunk.toString()))
  base = await new Promise<string>((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`the gateway did not announce itself: ${err}`)), 60_000)
    gateway!.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const line = /automarket-listening (\{.*\})/.exec(out)
      if (line !== null) {
        clearTimeout(timer)
        const { host, port } = JSON.parse(line[1]!) as { host: string; port: number }
        resolve(`http://${host}:${port}`)
      }
    })
    gateway!.once("exit", (code) => reject(new Error(`the gateway exited (${code}): ${err}`)))
  })
}, 120_000)

afterAll(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway!.once("exit", resolve))
    gateway.kill("SIGTERM")
    await exited
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
})

const sh = (script: string) =>
  run("bash", ["-euo", "pipefail", "-c", script], { cwd: dir, env: { ...env, AUTOMARKET_GATEWAY: base, AUTOMARKET_KEY: key }, timeout: 120_000 })

describe("the README's gateway examples", () => {
  it("has the blocks this test runs", () => {
    expect(examples().length).toBe(4)
    expect(examples()[0]).toContain("automarket serve gateway")
  })

  it("speech, then its transcription", async () => {
    const result = await sh(examples()[1]!)
    expect(result.status).toBe(0)
    expect(fs.readFileSync(path.join(dir, "hello.wav")).subarray(0, 4).toString()).toBe("RIFF")
    expect((JSON.parse(result.stdout) as { text: string }).text.toLowerCase()).toContain("hello")
  }, 120_000)

  it("a durable generation: its events to the end, its result", async () => {
    const result = await sh(examples()[2]!)
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("event: Status")
    expect(result.stdout).toContain('"status":"succeeded"')
    expect(fs.readFileSync(path.join(dir, "durable.wav")).subarray(0, 4).toString()).toBe("RIFF")
  }, 120_000)

  it("chat", async () => {
    const result = await sh(examples()[3]!)
    expect(result.status).toBe(0)
    expect((JSON.parse(result.stdout) as { choices: ReadonlyArray<{ message: { content: string } }> }).choices[0]!.message.content).toBe("Echo: hi")
  }, 60_000)

  it("the openai SDK example", async () => {
    const result = await run(process.execPath, ["--import", "tsx", path.join(root, "scratchpad", "gateway-openai.ts")], {
      cwd: root,
      env: { ...env, AUTOMARKET_GATEWAY: base, AUTOMARKET_KEY: key },
      timeout: 120_000
    })
    expect(result.stderr).toBe("")
    const [speech, heard] = result.stdout.trim().split("\n")
    expect(speech).toMatch(/^speech: \d+ bytes from chatterbox$/)
    expect(heard!.toLowerCase()).toMatch(/^heard: .*hello/)
  }, 120_000)
})
