/**
 * The real `automarket` executable against a tiny OpenAI-compatible chat server on 127.0.0.1
 * (Together's wire format: `GET /v1/models`, `POST /v1/chat/completions` streamed as SSE),
 * configured with TOGETHER_BASE_URL and TOGETHER_API_KEY: streamed deltas reach stdout in
 * order, and each as it arrives (the server holds the rest of the answer until the first delta
 * has been seen on stdout); Ctrl-C exits 130; `generate image --out` writes the file;
 * `models --free` lists only the free models.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { run } from "../../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")

const models = [
  { id: "meta-llama/Llama-3.3-70B-Instruct-Turbo-Free", object: "model", type: "chat", display_name: "Llama 3.3 70B Free", context_length: 131072, pricing: { input: 0, output: 0, hourly: 0, base: 0, finetune: 0 } },
  { id: "Qwen/Qwen2.5-72B-Instruct-Turbo", object: "model", type: "chat", display_name: "Qwen 2.5 72B", context_length: 32768, pricing: { input: 1.2, output: 1.2, hourly: 0, base: 0, finetune: 0 } },
  { id: "black-forest-labs/FLUX.1-schnell", object: "model", type: "image", display_name: "FLUX.1 schnell", pricing: { input: 0, output: 0, hourly: 0, base: 0.0027, finetune: 0 } }
]

const deltas = ["The ", "quick ", "brown ", "fox"]
const png = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82])

interface Server {
  readonly url: string
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined; body: string }>
  /** Resolved by a test to let the server send the deltas after the first. */
  gate: Promise<void>
  /** Streamed answers whose connection is still open. */
  openStreams: number
  close: () => Promise<void>
}

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: "chat-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`

const startServer = (): Promise<Server> =>
  new Promise((resolve) => {
    const requests: Server["requests"] = []
    const sockets = new Set<import("node:net").Socket>()
    const server = http.createServer((req, res) => {
      let body = ""
      req.on("data", (c: Buffer) => (body += c.toString()))
      req.on("end", () => {
        requests.push({ method: req.method ?? "", path: req.url ?? "", authorization: req.headers.authorization, body })
        if (req.headers.authorization !== "Bearer test-key") {
          res.writeHead(401, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: { message: "Invalid API key", code: "invalid_api_key" } }))
          return
        }
        if (req.method === "GET" && req.url === "/v1/models") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify(models))
          return
        }
        if (req.method === "POST" && req.url === "/v1/chat/completions") {
          const request = JSON.parse(body) as { stream?: boolean }
          if (request.stream !== true) {
            res.writeHead(200, { "content-type": "application/json" })
            res.end(JSON.stringify({ id: "chat-1", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: deltas.join("") }, finish_reason: "stop" }] }))
            return
          }
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
          state.openStreams++
          res.on("close", () => state.openStreams--)
          res.write(": keep-alive\n\n")
          res.write(chunk(deltas[0]!))
          void state.gate.then(() => {
            for (const delta of deltas.slice(1)) res.write(chunk(delta))
            res.write(`data: ${JSON.stringify({ id: "chat-1", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } })}\n\n`)
            res.end("data: [DONE]\n\n")
          })
          return
        }
        if (req.method === "POST" && req.url === "/v1/images/generations") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ id: "img-1", model: "black-forest-labs/FLUX.1-schnell", data: [{ index: 0, b64_json: png.toString("base64") }] }))
          return
        }
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }))
      })
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    const state: Server = {
      url: "",
      requests,
      gate: Promise.resolve(),
      openStreams: 0,
      close: () =>
        new Promise((done) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => done())
        })
    }
    server.listen(0, "127.0.0.1", () => {
      resolve(Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
    })
  })

let server: Server
let cacheDir: string
beforeAll(async () => {
  server = await startServer()
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-generate-exe-"))
})
afterAll(async () => {
  await server.close()
  fs.rmSync(cacheDir, { recursive: true, force: true })
})
beforeEach(() => {
  server.gate = Promise.resolve()
  server.requests.length = 0
})

/** The environment of the executable: only the loopback Together configured, the cache in a temp dir. */
const env = (): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ["FALAI_API_KEY", "FAL_KEY", "OPENROUTER_API_KEY", "REPLICATE_API_TOKEN"]) delete clean[name]
  return { ...clean, TOGETHER_BASE_URL: `${server.url}/v1`, TOGETHER_API_KEY: "test-key", TOGETHER_RETRIES: "0", AUTOMARKET_CACHE_DIR: cacheDir }
}

describe("automarket generate (the real executable, loopback SSE chat server)", () => {
  it("generate text --stream writes the deltas to stdout in order, exit 0", async () => {
    const ran = await run(process.execPath, [bin, "generate", "text", "Say something", "--provider", "together", "--stream", "--max-tokens", "16"], {
      env: env(),
      timeout: 90_000
    })
    expect(ran.stderr).toBe("")
    expect(ran.status).toBe(0)
    expect(ran.stdout).toBe("The quick brown fox\n")
    const chat = server.requests.find((r) => r.path === "/v1/chat/completions")
    expect(chat?.authorization).toBe("Bearer test-key")
    expect(JSON.parse(chat!.body)).toMatchObject({ stream: true, max_tokens: 16, messages: [{ role: "user", content: "Say something" }] })
  }, 100_000)

  it("each delta reaches stdout as it arrives: the rest of the answer is sent only after the first delta is seen", async () => {
    let release!: () => void
    server.gate = new Promise((resolve) => (release = resolve))
    const child = spawn(process.execPath, [bin, "generate", "text", "Say something", "--provider", "together", "--stream"], {
      env: env(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const arrivals: Array<string> = []
    const firstSeen = new Promise<void>((resolve) => {
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString()
        arrivals.push(c.toString())
        if (stdout.startsWith("The ")) resolve()
      })
    })
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    try {
      await firstSeen
      // Only the first delta has been sent: it is on stdout already, nothing else is.
      expect(stdout).toBe("The ")
      release()
      expect(await exited).toBe(0)
    } finally {
      clearTimeout(timer)
      release()
    }
    expect(stderr).toBe("")
    expect(stdout).toBe("The quick brown fox\n")
    expect(arrivals[0]).toBe("The ")
  }, 100_000)

  it("Ctrl-C (SIGINT) mid-stream interrupts the generation: exit 130, no error line, the connection closed", async () => {
    server.gate = new Promise<void>(() => undefined)
    const child = spawn(process.execPath, [bin, "generate", "text", "Say something", "--provider", "together", "--stream"], {
      env: env(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const firstSeen = new Promise<void>((resolve) =>
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString()
        if (stdout.startsWith("The ")) resolve()
      })
    )
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    try {
      await firstSeen
      const streamClosed = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (server.openStreams === 0) {
            clearInterval(check)
            resolve()
          }
        }, 20)
      })
      expect(server.openStreams).toBe(1)
      child.kill("SIGINT")
      expect(await exited).toBe(130)
      await streamClosed
    } finally {
      clearTimeout(timer)
    }
    expect(stdout).toBe("The ")
    expect(stderr).toBe("")
  }, 100_000)

  it("generate and each kind have --help, exit 0", async () => {
    for (const args of [["generate", "--help"], ["generate", "text", "--help"], ["generate", "image", "--help"]]) {
      const ran = await run(process.execPath, [bin, ...args], { env: env(), timeout: 90_000 })
      expect(ran.status).toBe(0)
      expect(ran.stdout).toMatch(/USAGE/)
    }
    const text = await run(process.execPath, [bin, "generate", "text", "--help"], { env: env(), timeout: 90_000 })
    expect(text.stdout).toMatch(/--stream/)
    expect(text.stdout).toMatch(/--max-tokens/)
  }, 200_000)

  it("generate image --out writes the file and says who made it", async () => {
    const target = path.join(cacheDir, "out", "cat.png")
    const ran = await run(
      process.execPath,
      [bin, "generate", "image", "a cat", "--provider", "together", "--out", target, "--width", "512", "--height", "512"],
      { env: env(), timeout: 90_000 }
    )
    expect(ran.stderr).toBe("")
    expect(ran.status).toBe(0)
    expect(fs.readFileSync(target)).toEqual(png)
    expect(ran.stdout).toBe(`${target} by together/black-forest-labs/FLUX.1-schnell\n`)
    expect(fs.readdirSync(path.dirname(target))).toEqual(["cat.png"])
    const request = server.requests.find((r) => r.path === "/v1/images/generations")
    expect(JSON.parse(request!.body)).toMatchObject({ prompt: "a cat", width: 512, height: 512 })
  }, 100_000)

  it("models --free lists only the free models; a wrong key is one line on stderr and exit 1", async () => {
    const ran = await run(process.execPath, [bin, "models", "--free", "--provider", "together", "--json"], { env: env(), timeout: 90_000 })
    expect(ran.status).toBe(0)
    const listed = JSON.parse(ran.stdout) as Array<{ id: string; free: boolean; capabilities: Array<string> }>
    expect(listed.map((m) => m.id)).toEqual(["meta-llama/Llama-3.3-70B-Instruct-Turbo-Free"])
    expect(listed[0]).toMatchObject({ free: true, capabilities: ["text-to-text"] })
    const all = await run(process.execPath, [bin, "models", "--provider", "together", "--json"], { env: env(), timeout: 90_000 })
    expect((JSON.parse(all.stdout) as Array<{ id: string }>).map((m) => m.id)).toContain("Qwen/Qwen2.5-72B-Instruct-Turbo")
    const refused = await run(process.execPath, [bin, "generate", "text", "hi", "--provider", "together", "--stream"], {
      env: { ...env(), TOGETHER_API_KEY: "wrong-key" },
      timeout: 90_000
    })
    expect(refused.status).toBe(1)
    expect(refused.stdout).toBe("")
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    expect(refused.stderr).toMatch(/^automarket: .*together/i)
  }, 200_000)
})
