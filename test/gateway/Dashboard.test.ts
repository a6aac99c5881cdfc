/**
 * The gateway's dashboard on a real socket: its JSON routes called with fetch (providers, spend
 * grouped and scoped to the caller's key), and its page driven in a real headless Chromium
 * (puppeteer-core, `/usr/bin/chromium`): the key prompt, the providers' health, a generation on
 * fal's emulator followed live from its progress events to its cost, the spend chart, the
 * catalog's filter. Keys are on (the key store in the gateway's SQLite file), the cost ledger is
 * in memory; screenshots go to `test-output/dashboard/`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Durable } from "../../src/durable/index.js"
import * as Access from "../../src/gateway/Access.js"
import { scopeOf } from "../../src/gateway/DashboardRoutes.js"
import * as Gateway from "../../src/gateway/Gateway.js"
import * as Keys from "../../src/gateway/Keys.js"
import { KeyStore } from "../../src/gateway/KeyState.js"
import * as RateLimiter from "../../src/gateway/RateLimiter.js"
import * as Webhooks from "../../src/gateway/Webhooks.js"
import * as FalAi from "../../src/providers/falai/index.js"
import { CostLedger, type LedgerEntry } from "../../src/registry/Ledger.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import { env } from "../providers/falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-dashboard-"))
const shots = path.resolve(import.meta.dirname, "../../test-output/dashboard")
const scope = Effect.runSync(Scope.make())
// A job slow enough to watch: one poll queued, then ten polls running (10 %, 20 % ...), one poll every 300 ms.
const fal = makeFal({ queueSteps: 1, runSteps: 10 })
type Services = Durable.Generations | KeyStore | CostLedger | HttpServer.HttpServer
let runtime: ManagedRuntime.ManagedRuntime<Services, unknown>
let base = ""

beforeAll(async () => {
  const layer = Layer.unwrapScoped(
    Effect.map(
      FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("300 millis") }).pipe(
        Effect.provide(clientLayer(fal)),
        Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
      ),
      ({ jobs, provider }) => {
        const stateDir = path.join(dir, "state")
        const registry = ProviderRegistry.fromProviders([provider])
        const durable = Durable.layerSqlite({ stateDir, jobClients: { falai: jobs }, watchEvery: "20 millis" }).pipe(
          Layer.provide(registry),
          Layer.provide(clientLayer(fal))
        )
        const access = Access.layerKeys({ keyCacheTtlMs: 0 }).pipe(Layer.provide(Keys.layer), Layer.provide(RateLimiter.layer()))
        return Gateway.layer({ host: "127.0.0.1", port: 0, stateDir, database: "sqlite" }).pipe(
          Layer.provide(access),
          Layer.provide(Webhooks.layer()),
          Layer.provideMerge(Keys.layer),
          Layer.provideMerge(durable),
          Layer.provide(registry)
        )
      }
    )
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  runtime = ManagedRuntime.make(layer as Layer.Layer<Services, unknown>)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  base = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
})

const newKey = (name: string) =>
  runtime.runPromise(Effect.flatMap(KeyStore, (store) => Effect.map(store.create({ name }), (made) => ({ id: made.key.id, secret: Redacted.value(made.secret) }))))

const record = (entry: LedgerEntry) => runtime.runPromise(Effect.flatMap(CostLedger, (ledger) => ledger.record(entry)))

const get = async (url: string, secret: string | undefined) => {
  const response = await fetch(`${base}${url}`, { headers: secret !== undefined ? { authorization: `Bearer ${secret}` } : {} })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { data: ReadonlyArray<Record<string, unknown>> } }
}

const entry = (fields: Partial<LedgerEntry> & Pick<LedgerEntry, "id" | "who" | "at" | "provider">): LedgerEntry => ({
  model: "m",
  capability: "text-to-image",
  costUsd: 0.01,
  costSource: "catalog",
  status: "succeeded",
  ...fields
})

describe("the dashboard's JSON routes", () => {
  const day = Date.UTC(2026, 0, 10)

  it("lists the providers with their health and circuit breaker, for a key only", async () => {
    const key = await newKey("routes-providers")
    expect((await get("/v1/providers", undefined)).status).toBe(401)
    const { status, body } = await get("/v1/providers", key.secret)
    expect(status).toBe(200)
    const fal = body.data.find((p) => p.id === "falai")
    expect(fal).toMatchObject({ type: "remote", configured: true, health: { status: "healthy", circuit: "closed", active_jobs: 0, last_error: null } })
    expect(fal!.capabilities).toContain("text-to-image")
  })

  it("groups a key's spend by provider, day and key; another key's spend is invisible", async () => {
    const a = await newKey("routes-a")
    const b = await newKey("routes-b")
    await record(entry({ id: "a1", who: `key:${a.id}`, at: day, provider: "falai", costUsd: 0.01 }))
    await record(entry({ id: "a2", who: `key:${a.id}`, at: day + 86_400_000, provider: "replicate", costUsd: 0.02 }))
    await record(entry({ id: "a3", who: `key:${a.id}`, at: day + 86_400_000 + 5, provider: "replicate", costUsd: null, costSource: "unknown", status: "failed" }))
    await record(entry({ id: "b1", who: `key:${b.id}`, at: day, provider: "falai", costUsd: 0.5 }))
    await record(entry({ id: "l1", who: "local:someone", at: day, provider: "together", costUsd: 1 }))

    const byProvider = (await get("/v1/costs", a.secret)).body
    expect(byProvider).toMatchObject({ object: "costs", by: "provider", scope: "key", calls: 3, unknown_calls: 1 })
    expect(byProvider.total_usd).toBeCloseTo(0.03, 10)
    expect(byProvider.data.map((t) => [t.key, t.calls])).toEqual([
      ["replicate", 2],
      ["falai", 1]
    ])
    const byDay = (await get("/v1/costs?by=day", a.secret)).body
    expect(byDay.data.map((t) => t.key).sort()).toEqual(["2026-01-10", "2026-01-11"])
    const byKey = (await get("/v1/costs?by=key", a.secret)).body
    expect(byKey.data.map((t) => t.key)).toEqual([`key:${a.id}`])
    // since (ISO) inclusive, until (epoch ms) exclusive.
    const secondDay = (await get(`/v1/costs?since=2026-01-11T00:00:00Z&until=${day + 2 * 86_400_000}`, a.secret)).body
    expect(secondDay).toMatchObject({ since: "2026-01-11T00:00:00.000Z", calls: 2 })
    expect((await get("/v1/costs?since=yesterday", a.secret)).status).toBe(400)

    const bTotals = (await get("/v1/costs", b.secret)).body
    expect(bTotals.total_usd).toBe(0.5)
    expect(bTotals.data.map((t) => t.key)).toEqual(["falai"])

    const failures = (await get("/v1/costs/entries?status=failed", a.secret)).body.data
    expect(failures.map((e) => e.id)).toEqual(["a3"])
    const recent = (await get("/v1/costs/entries?limit=2", a.secret)).body.data
    expect(recent.map((e) => e.id)).toEqual(["a3", "a2"])
    expect(recent[0]).toMatchObject({ cost_usd: null, cost_source: "unknown", who: `key:${a.id}`, generation_id: null })
  })

  it("shows everything only to a gateway without keys", () => {
    const caller = { ...Access.anonymous, keyId: "k1" }
    expect(scopeOf(caller, true, { since: 5 })).toEqual({ since: 5, until: undefined, who: "key:k1" })
    expect(scopeOf(Access.anonymous, false, {})).toEqual({ since: undefined, until: undefined })
  })

  it("serves the page without a key, self-contained, and documents the routes", async () => {
    for (const url of ["/", "/dashboard"]) {
      const response = await fetch(`${base}${url}`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/html")
      expect(response.headers.get("content-security-policy")).toContain("default-src 'none'")
      const html = await response.text()
      expect(html).toContain('data-testid="key-form"')
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/)
      expect(Buffer.byteLength(html)).toBeLessThan(30 * 1024)
    }
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/providers", "/v1/costs", "/v1/costs/entries", "/"]))
  })
})

describe("the dashboard in Chromium", () => {
  let browser: Browser | undefined

  afterAll(async () => {
    await browser?.close()
  })

  const testid = (page: Page, id: string) => page.$eval(`[data-testid="${id}"]`, (node) => node.textContent ?? "")
  // Page-side expressions are text: this project's TypeScript has no DOM types (and the page is plain JS).
  const percentAbove = (page: Page, row: string, floor: number) =>
    page.waitForFunction(`Number(document.querySelector(${JSON.stringify(row)})?.getAttribute("data-percent") ?? 0) > ${floor}`, { timeout: 10_000 })

  it("asks for the key, shows the providers, follows a generation to its cost, charts the spend and filters the catalog", async () => {
    fs.mkdirSync(shots, { recursive: true })
    const key = await newKey("browser")
    browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] })
    const page = await browser.newPage()
    await page.setViewport({ width: 1280, height: 1100 })
    const pageErrors: Array<string> = []
    page.on("pageerror", (error) => pageErrors.push(String(error)))
    await page.goto(`${base}/`)

    // Keys are on: the form, then a clear message for a refused key, then the dashboard with the right one.
    await page.waitForSelector('[data-testid="key-form"]:not([hidden])', { timeout: 5_000 })
    expect(await page.$eval('[data-testid="dashboard"]', (node) => node.hasAttribute("hidden"))).toBe(true)
    await page.type('[data-testid="key-input"]', "amk_not-a-key")
    await page.click('[data-testid="key-submit"]')
    await page.waitForFunction(`(document.querySelector('[data-testid="auth-message"]')?.textContent ?? "").includes("401")`, { timeout: 5_000 })
    await page.type('[data-testid="key-input"]', key.secret)
    await page.click('[data-testid="key-submit"]')
    await page.waitForSelector('[data-testid="provider"][data-id="falai"]', { timeout: 5_000 })
    expect(await page.evaluate(`sessionStorage.getItem("automarket.key") === ${JSON.stringify(key.secret)}`)).toBe(true)
    const fal = await page.$eval('[data-testid="provider"][data-id="falai"]', (row) => ({
      status: row.getAttribute("data-status"),
      circuit: row.getAttribute("data-circuit"),
      shown: row.querySelector('[data-testid="provider-circuit"]')?.textContent
    }))
    expect(fal).toEqual({ status: "healthy", circuit: "closed", shown: "closed" })
    await page.waitForSelector('[data-testid="catalog-count"][data-count]:not([data-count="0"])', { timeout: 5_000 })
    await page.screenshot({ path: path.join(shots, "01-loaded.png"), fullPage: true })

    // A generation started elsewhere (here: Node, with the same key) shows up, progresses, and ends with its cost.
    const posted = await fetch(`${base}/v1/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}` },
      body: JSON.stringify({ capability: "text-to-image", provider: "falai", model: "fal-ai/bytedance/seedream/v4/text-to-image", input: { type: "text", text: "a dashboard" } })
    })
    expect(posted.status).toBe(202)
    const id = ((await posted.json()) as { id: string }).id
    const row = `[data-testid="generation"][data-id="${id}"]`
    const shownAt = Date.now()
    await page.waitForSelector(row, { timeout: 3_000 })
    expect(Date.now() - shownAt).toBeLessThan(2_500)
    const percentOf = async () => Number(await page.evaluate(`document.querySelector(${JSON.stringify(`${row} [data-testid="generation-progress"]`)}).value`))
    await percentAbove(page, row, 0)
    const first = await percentOf()
    expect(first).toBeLessThan(100)
    await page.screenshot({ path: path.join(shots, "02-in-flight.png"), fullPage: true })
    await percentAbove(page, row, first)
    expect(await percentOf()).toBeGreaterThan(first)

    // The durable generation writes its ledger entry when its job is collected, spent by the key.
    const done = await waitFinal(id, key.secret)
    expect(done.status).toBe("succeeded")
    const cost = done.result?.cost_usd
    expect(typeof cost).toBe("number")

    await page.waitForSelector(`${row}[data-status="succeeded"]`, { timeout: 10_000 })
    expect(await percentOf()).toBe(100)
    expect(await page.$eval(row, (node) => Number(node.getAttribute("data-cost")))).toBe(cost)
    expect(await page.$eval(`${row} [data-testid="generation-cost"]`, (node) => node.textContent)).toMatch(/^\$0\.\d+/)

    // The spend chart has the provider's bar with that cost (only this key's spending: the other tests' keys are not shown).
    await page.waitForSelector('[data-testid="spend-by-provider"] [data-testid="spend-bar"][data-key="falai"]', { timeout: 8_000 })
    const bars = await page.$$eval('[data-testid="spend-by-provider"] [data-testid="spend-bar"]', (nodes) =>
      nodes.map((node) => ({ key: node.getAttribute("data-key"), cost: Number(node.getAttribute("data-cost")) }))
    )
    expect(bars).toEqual([{ key: "falai", cost }])
    expect(await page.$$eval('[data-testid="spend-by-day"] [data-testid="spend-bar"]', (nodes) => nodes.length)).toBe(1)
    expect(Number(await page.$eval('[data-testid="spend-total"]', (node) => node.getAttribute("data-value")))).toBe(cost)
    await page.screenshot({ path: path.join(shots, "03-done.png"), fullPage: true })

    // The catalog: choosing a capability narrows the list to models that have it.
    const countOf = async () => Number(await page.$eval('[data-testid="catalog-count"]', (node) => node.getAttribute("data-count")))
    const all = await countOf()
    await page.select('[data-testid="catalog-capability"]', "speech-to-text")
    const narrowed = await countOf()
    expect(narrowed).toBeGreaterThan(0)
    expect(narrowed).toBeLessThan(all)
    const capabilities = await page.$$eval('[data-testid="catalog-row"] td:nth-child(2)', (cells) => cells.map((cell) => cell.textContent ?? ""))
    expect(capabilities.every((text) => text.split(", ").includes("speech-to-text"))).toBe(true)
    await page.type('[data-testid="catalog-name"]', "no-such-model-anywhere")
    expect(await countOf()).toBe(0)

    expect(await testid(page, "connection")).toMatch(/^live/)
    expect(pageErrors).toEqual([])
    // The key is never written into the page.
    expect(await page.content()).not.toContain(key.secret)
  }, 60_000)
})

const waitFinal = async (id: string, secret: string) => {
  for (let i = 0; i < 300; i++) {
    const view = (await (await fetch(`${base}/v1/generations/${id}`, { headers: { authorization: `Bearer ${secret}` } })).json()) as {
      status: string
      result: { cost_usd: number | null } | null
    }
    if (["succeeded", "failed", "cancelled"].includes(view.status)) return view
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`generation ${id} did not finish`)
}
