/**
 * `scratchpad/effect-ai.ts` run as a user runs it, as a child process configured from its
 * environment, against the Together and OpenRouter emulators on 127.0.0.1: Together is out of
 * credit for chats, so both the answer and the stream come from OpenRouter, and the example says
 * so; the keys it was given never reach its output.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Faults from "../emulators/Faults.js"
import { type OpenRouterEmulator, openrouter } from "../emulators/openrouter.js"
import { together, type TogetherEmulator } from "../emulators/together.js"
import { run } from "../support/Run.js"

const root = path.resolve(import.meta.dirname, "../..")
const togetherKey = "tg-example-key-13579"
const openRouterKey = "sk-or-example-key-24680"
const scope = Effect.runSync(Scope.make())
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-effect-ai-"))
let tg: TogetherEmulator
let or: OpenRouterEmulator

beforeAll(async () => {
  tg = await Effect.runPromise(Scope.extend(together(), scope))
  or = await Effect.runPromise(Scope.extend(openrouter(), scope))
  tg.faults.inject(Faults.quota(402, "Credit limit exceeded"), { times: Infinity, route: "/v1/chat/completions" })
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("scratchpad/effect-ai.ts", () => {
  it("answers, then streams, each from OpenRouter after Together's QuotaExceeded", async () => {
    const result = await run(process.execPath, ["--import", "tsx", path.join(root, "scratchpad", "effect-ai.ts"), "what is Effect?"], {
      cwd: root,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        XDG_CACHE_HOME: path.join(dir, "cache"),
        AUTOMARKET_STATE_DIR: path.join(dir, "state"),
        TOGETHER_API_KEY: togetherKey,
        TOGETHER_BASE_URL: tg.baseUrl,
        OPENROUTER_API_KEY: openRouterKey,
        OPENROUTER_BASE_URL: or.baseUrl
      }
    })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const lines = result.stdout.trim().split("\n")
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe("answer: Echo: what is Effect?")
    expect(lines[1]).toMatch(/^served by: openrouter\/\S+, after together \(QuotaExceeded\)$/)
    expect(lines[2]).toBe("streamed: Echo: what is Effect?")
    expect(lines[3]).toMatch(/^streamed by: openrouter\/\S+$/)
    // The system prompt and the token limit of the example reached the provider.
    const chat = or.requests.find((request) => request.path === "/api/v1/chat/completions")
    expect(chat?.json).toMatchObject({ max_tokens: 256, messages: [{ role: "system", content: "Answer in one sentence." }, { role: "user", content: "what is Effect?" }] })
    // Once: its one key, out of credit, then rests, so the stream is routed to OpenRouter straight away.
    expect(tg.count("/v1/chat/completions")).toBe(1)
    expect(result.stdout).not.toContain(togetherKey)
    expect(result.stdout).not.toContain(openRouterKey)
  }, 150_000)
})
