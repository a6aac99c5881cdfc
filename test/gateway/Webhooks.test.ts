/**
 * Signed webhooks: the verifiers against webhooks signed here (fal: ED25519 over the request id,
 * user id, timestamp and the body's SHA-256; Replicate: Standard Webhooks HMAC), the receiver
 * over a real SQLite store, and durable generations end to end on real sockets: the fal and
 * Replicate emulators call a node:http server of the test that hands each webhook to
 * `WebhookReceiver.receive`, and the generation succeeds without a status poll before the webhook.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import { Durable, GenerationStore } from "../../src/durable/index.js"
import * as Webhooks from "../../src/gateway/Webhooks.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as Replicate from "../../src/providers/replicate/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { makeFal, serve } from "../emulators/falai.js"
import { makeReplicate } from "../emulators/replicate.js"
import { env } from "../providers/falai/drive.js"
import { freePort } from "../support/Ports.js"
import type { JobClient } from "../../src/jobs/JobClient.js"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-webhooks-"))
const saved = { loopback: process.env.AUTOMARKET_ALLOW_LOOPBACK_HTTP, publicUrl: process.env.AUTOMARKET_PUBLIC_URL }
beforeAll(() => {
  // The emulators serve result files on 127.0.0.1; the public URL is given per test, never taken from the shell.
  process.env.AUTOMARKET_ALLOW_LOOPBACK_HTTP = "1"
  delete process.env.AUTOMARKET_PUBLIC_URL
})
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
  if (saved.loopback === undefined) delete process.env.AUTOMARKET_ALLOW_LOOPBACK_HTTP
  else process.env.AUTOMARKET_ALLOW_LOOPBACK_HTTP = saved.loopback
  if (saved.publicUrl !== undefined) process.env.AUTOMARKET_PUBLIC_URL = saved.publicUrl
})

const now = Date.parse("2026-03-01T12:00:00Z")
const seconds = (ms: number) => String(Math.floor(ms / 1000))
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const falKeys = crypto.generateKeyPairSync("ed25519")
const otherKeys = crypto.generateKeyPairSync("ed25519")

/** A fal webhook for `requestId`, signed by `privateKey` at `at`. */
const falWebhook = (requestId: string, at: number, privateKey: crypto.KeyObject = falKeys.privateKey) => {
  const body = bytes({ request_id: requestId, gateway_request_id: requestId, status: "OK", payload: { images: [] } })
  const timestamp = seconds(at)
  const signature = crypto.sign(null, Webhooks.falSignedContent(requestId, "user-1", timestamp, body), privateKey).toString("hex")
  const headers: Record<string, string> = {
    "X-Fal-Webhook-Request-Id": requestId,
    "X-Fal-Webhook-User-Id": "user-1",
    "X-Fal-Webhook-Timestamp": timestamp,
    "X-Fal-Webhook-Signature": signature
  }
  return { body, headers }
}

const replicateSecret = Redacted.make(`whsec_${crypto.randomBytes(24).toString("base64")}`)
const otherSecret = Redacted.make(`whsec_${crypto.randomBytes(24).toString("base64")}`)

/** A Replicate webhook of prediction `id` (`status`), signed with `secret` at `at`. */
const replicateWebhook = (id: string, at: number, secret = replicateSecret, status = "succeeded") => {
  const body = bytes({ id, status, output: ["https://example.test/out.png"] })
  const messageId = "msg_1"
  const timestamp = seconds(at)
  const key = Buffer.from(Redacted.value(secret).slice("whsec_".length), "base64")
  const signature = crypto.createHmac("sha256", key).update(`${messageId}.${timestamp}.`).update(body).digest("base64")
  return { body, headers: { "webhook-id": messageId, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` } }
}

/** The reason of a refusal, or "passed". */
const refusal = <A>(exit: Exit.Exit<A, Webhooks.WebhookRefused>): string =>
  Exit.isSuccess(exit) ? "passed" : Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (error) => error.reason })

describe("verifyFal", () => {
  const keys = [otherKeys.publicKey, falKeys.publicKey]

  it.effect("passes a webhook signed by one of fal's keys: its request id, final", () =>
    Effect.gen(function* () {
      const { body, headers } = falWebhook("req-9", now)
      expect(yield* Webhooks.verifyFal({ keys, headers, body, now })).toEqual({ provider: "fal", requestId: "req-9", final: true })
    }))

  it.effect("refuses a changed body and another key's signature (signature), an old timestamp (timestamp), missing headers (malformed)", () =>
    Effect.gen(function* () {
      const good = falWebhook("req-9", now)
      const changed = bytes({ request_id: "req-9", gateway_request_id: "req-9", status: "OK", payload: { images: ["forged"] } })
      expect(refusal(yield* Effect.exit(Webhooks.verifyFal({ keys, headers: good.headers, body: changed, now })))).toBe("signature")
      const forged = falWebhook("req-9", now, crypto.generateKeyPairSync("ed25519").privateKey)
      const wrongKey = yield* Effect.exit(Webhooks.verifyFal({ keys, headers: forged.headers, body: forged.body, now }))
      expect(refusal(wrongKey)).toBe("signature")
      expect(Exit.isFailure(wrongKey) && String(Exit.causeOption(wrongKey).pipe(Option.getOrThrow))).not.toContain(forged.headers["X-Fal-Webhook-Signature"])
      const old = falWebhook("req-9", now - 10 * 60_000)
      expect(refusal(yield* Effect.exit(Webhooks.verifyFal({ keys, headers: old.headers, body: old.body, now })))).toBe("timestamp")
      const { "X-Fal-Webhook-Signature": _, ...unsigned } = good.headers
      expect(refusal(yield* Effect.exit(Webhooks.verifyFal({ keys, headers: unsigned, body: good.body, now })))).toBe("malformed")
      // Within the tolerance either way: passes.
      const skewed = falWebhook("req-9", now + 4 * 60_000)
      expect(refusal(yield* Effect.exit(Webhooks.verifyFal({ keys, headers: skewed.headers, body: skewed.body, now })))).toBe("passed")
    }))
})

describe("verifyReplicate", () => {
  it.effect("passes a webhook with a valid v1 signature among several: the prediction id, final when succeeded", () =>
    Effect.gen(function* () {
      const { body, headers } = replicateWebhook("pred-7", now)
      const several = { ...headers, "webhook-signature": `v1,${Buffer.alloc(32, 7).toString("base64")} ${headers["webhook-signature"]}` }
      expect(yield* Webhooks.verifyReplicate({ secret: replicateSecret, headers: several, body, now })).toEqual({ provider: "replicate", requestId: "pred-7", final: true })
      const started = replicateWebhook("pred-7", now, replicateSecret, "processing")
      expect((yield* Webhooks.verifyReplicate({ secret: replicateSecret, headers: started.headers, body: started.body, now })).final).toBe(false)
    }))

  it.effect("refuses a changed body or another secret (signature), an old timestamp (timestamp), missing headers (malformed); no secret in the message", () =>
    Effect.gen(function* () {
      const good = replicateWebhook("pred-7", now)
      const changed = bytes({ id: "pred-7", status: "succeeded", output: ["https://evil.test/x.png"] })
      expect(refusal(yield* Effect.exit(Webhooks.verifyReplicate({ secret: replicateSecret, headers: good.headers, body: changed, now })))).toBe("signature")
      const wrong = yield* Effect.exit(Webhooks.verifyReplicate({ secret: otherSecret, headers: good.headers, body: good.body, now }))
      expect(refusal(wrong)).toBe("signature")
      const text = JSON.stringify(wrong) + String(Exit.isFailure(wrong) ? Exit.causeOption(wrong).pipe(Option.getOrThrow) : "")
      expect(text).not.toContain(Redacted.value(otherSecret).slice(6))
      expect(text).not.toContain(Redacted.value(replicateSecret).slice(6))
      const old = replicateWebhook("pred-7", now - 10 * 60_000)
      expect(refusal(yield* Effect.exit(Webhooks.verifyReplicate({ secret: replicateSecret, headers: old.headers, body: old.body, now })))).toBe("timestamp")
      expect(refusal(yield* Effect.exit(Webhooks.verifyReplicate({ secret: replicateSecret, headers: { "webhook-id": "msg_1" }, body: good.body, now })))).toBe("malformed")
    }))
})

describe("public URL", () => {
  it.effect("an invalid public URL is a ConfigError naming the setting; a valid one loses its trailing slash", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.exit(Durable.publicUrlOf({ publicUrl: "ftp://example.test" }))
      expect(Exit.isFailure(bad) && String(Exit.causeOption(bad).pipe(Option.getOrThrow))).toContain("publicUrl must be an http(s) URL")
      expect(yield* Durable.publicUrlOf({ publicUrl: "https://gw.example.test/" })).toEqual(Option.some("https://gw.example.test"))
      expect(Durable.webhookUrlOf("https://gw.example.test", "falai")).toBe("https://gw.example.test/webhooks/fal")
      expect(Durable.webhookUrlOf("https://gw.example.test", "together")).toBeUndefined()
    }))
})

let n = 0
const stateDir = () => path.join(root, `state-${++n}`)

describe("WebhookReceiver over a SQLite store", () => {
  it.live("refuses a webhook of an unknown job (unknown-generation) and a forged one, the store unchanged; notifies on a valid one", () => {
    const dir = stateDir()
    const fixed = Layer.mergeAll(
      Layer.succeed(Webhooks.FalKeySet, { keys: Effect.succeed([falKeys.publicKey]), refresh: Effect.succeed(false) }),
      Layer.succeed(Webhooks.ReplicateWebhookSecret, { secret: Effect.succeed(replicateSecret) })
    )
    const durable = Durable.layerSqlite({ stateDir: dir, jobClients: {} }).pipe(
      Layer.provide(ProviderRegistry.fromProviders([])),
      Layer.provide(UndiciHttpClient.layer)
    )
    return Effect.gen(function* () {
      const store = yield* GenerationStore.GenerationStore
      const receiver = yield* Webhooks.make()
      yield* store.create({ id: "gen-1", executionId: "x", capability: "text-to-image", request: "{}" })
      yield* store.setAttempt("gen-1", 0, "falai", "fal-ai/flux/schnell")
      yield* store.recordIntent("gen-1", 0, Date.now(), "http://gw.test/webhooks/fal")
      yield* store.recordTicket("gen-1", 0, "{}", "req-1")
      const before = Option.getOrThrow(yield* store.get("gen-1"))

      const unknown = falWebhook("req-404", Date.now())
      expect(refusal(yield* Effect.exit(receiver.receive("fal", unknown.headers, unknown.body)))).toBe("unknown-generation")
      const forged = falWebhook("req-1", Date.now(), otherKeys.privateKey)
      expect(refusal(yield* Effect.exit(receiver.receive("fal", forged.headers, forged.body)))).toBe("signature")
      // A Replicate webhook naming fal's request id is no generation of Replicate's.
      const crossed = replicateWebhook("req-1", Date.now())
      expect(refusal(yield* Effect.exit(receiver.receive("replicate", crossed.headers, crossed.body)))).toBe("unknown-generation")
      expect(Option.getOrThrow(yield* store.get("gen-1"))).toEqual(before)

      const valid = falWebhook("req-1", Date.now())
      expect(yield* receiver.receive("fal", valid.headers, valid.body)).toEqual({ generationId: "gen-1", notified: true })
      expect(Option.getOrThrow(yield* store.get("gen-1")).notifiedAt).toBeDefined()
    }).pipe(Effect.provide(fixed), Effect.provide(durable), Effect.scoped)
  }, 30_000)
})

/** A node:http server on 127.0.0.1:`port` that hands `POST /webhooks/{fal,replicate}` to the receiver: 204, or 401/404/400 by the refusal. */
const webhookAt = (port: number) => Effect.gen(function* () {
  const receiver = yield* Webhooks.WebhookReceiver
  const runtime = yield* Effect.runtime<never>()
  const statusOf: Record<Webhooks.RefusalReason, number> = { malformed: 400, signature: 401, timestamp: 401, "unknown-generation": 404 }
  const server = yield* Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const provider = req.url === "/webhooks/fal" ? "fal" : req.url === "/webhooks/replicate" ? "replicate" : undefined
          if (req.method !== "POST" || provider === undefined) return void res.writeHead(404).end()
          Runtime.runPromise(runtime)(
            Effect.match(receiver.receive(provider, req.headers, new Uint8Array(Buffer.concat(chunks))), {
              onFailure: (error) => statusOf[error.reason],
              onSuccess: () => 204
            })
          ).then((status) => res.writeHead(status).end())
        })
      })
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )
  return server
})

/** The durable layer over a provider's job client and the receiver beside it, all on one real HTTP client. */
const hosted = (
  made: Effect.Effect<{ readonly jobs: JobClient; readonly provider: MediaProviderService }, unknown, HttpClient.HttpClient>,
  providerId: string,
  publicUrl: string | undefined,
  receiverOptions: Webhooks.WebhookReceiverLayerOptions
) =>
  Layer.unwrapEffect(
    Effect.map(made, ({ jobs, provider }) => {
      const durable = Durable.layerSqlite({
        stateDir: stateDir(),
        jobClients: { [providerId]: jobs },
        watchEvery: "20 millis",
        ...(publicUrl !== undefined ? { publicUrl } : {})
      }).pipe(Layer.provide(ProviderRegistry.fromProviders([provider])))
      return Webhooks.layer(receiverOptions).pipe(Layer.provideMerge(durable))
    })
  ).pipe(Layer.provide(UndiciHttpClient.layer))

describe("durable generations completed by signed webhooks (real sockets)", () => {
  it.scopedLive("fal: the job is submitted with fal_webhook, not polled until the webhook came, and succeeds", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ webhookJobMs: 300 }))
      const dir = path.join(root, "fal-downloads")
      const made = FalAi.makeWithJobs({ downloadDir: dir, pollSchedule: Schedule.spaced("5 millis") }).pipe(
        Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
      )
      // The receiver's server must exist before the durable layer learns its URL: two scopes, one inside the other.
      const gatewayPort = yield* Effect.promise(freePort)
      const publicUrl = `http://127.0.0.1:${gatewayPort}`
      const layer = hosted(made, "falai", publicUrl, { fal: { url: `${fal.baseUrl}/.well-known/jwks.json` } })
      yield* Effect.gen(function* () {
        yield* webhookAt(gatewayPort)
        const generations = yield* Durable.Generations
        const result = yield* generations.run({ capability: "text-to-image", input: text("a fox at dusk"), provider: "falai", model: "fal-ai/flux/schnell", key: "fox" })
        expect(result.output).toMatchObject({ provider: "falai", requestId: "req-1", bytes: 4096 })
        expect(fal.webhooks).toMatchObject([{ url: `${publicUrl}/webhooks/fal`, requestId: "req-1", status: 204, pollsBefore: 0 }])
        expect(fal.requests.find((r) => r.method === "POST" && r.url.startsWith("/fal-ai/flux/schnell"))?.url).toContain(`fal_webhook=${encodeURIComponent(`${publicUrl}/webhooks/fal`)}`)
        // One status read after the webhook, then the result.
        expect(fal.count("status")).toBe(1)
        const row = Option.getOrThrow(yield* generations.status("fox"))
        expect(row).toMatchObject({ status: "succeeded", webhookUrl: `${publicUrl}/webhooks/fal` })
        expect(row.notifiedAt).toBeDefined()
      }).pipe(Effect.provide(layer), Effect.scoped)
    }), 60_000)

  it.scopedLive("Replicate: the prediction is created with webhook and webhook_events_filter, not polled until the webhook came, and succeeds (secret fetched from the API)", () =>
    Effect.gen(function* () {
      const replicate = yield* serve(makeReplicate({ webhookJobMs: 300 }))
      const made = Replicate.makeWithJobs({ downloadDir: path.join(root, "replicate-downloads"), pollSchedule: Schedule.spaced("5 millis") }).pipe(
        Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: replicate.settings.token, REPLICATE_BASE_URL: replicate.baseUrl }))
      )
      const gatewayPort = yield* Effect.promise(freePort)
      const publicUrl = `http://127.0.0.1:${gatewayPort}`
      const layer = hosted(made, "replicate", publicUrl, {
        fal: { url: "http://127.0.0.1:9/unused" },
        replicate: { config: { apiKey: replicate.settings.token, baseUrl: replicate.baseUrl } }
      })
      yield* Effect.gen(function* () {
        yield* webhookAt(gatewayPort)
        const generations = yield* Durable.Generations
        const model = "black-forest-labs/flux-schnell"
        const result = yield* generations.run({ capability: "text-to-image", input: text("a kite"), provider: "replicate", model, key: "kite" })
        expect(result.output).toMatchObject({ provider: "replicate", requestId: "pred1", bytes: 2048 })
        expect(replicate.webhooks).toMatchObject([{ url: `${publicUrl}/webhooks/replicate`, requestId: "pred1", status: 204, pollsBefore: 0 }])
        const create = JSON.parse(replicate.requests.find((r) => r.method === "POST" && r.url.includes("/predictions"))!.body) as Record<string, unknown>
        expect(create).toMatchObject({ webhook: `${publicUrl}/webhooks/replicate`, webhook_events_filter: ["completed"] })
        expect(replicate.count("get")).toBe(1)
        expect(replicate.requests.filter((r) => r.url === "/webhooks/default/secret")).toHaveLength(1)
      }).pipe(Effect.provide(layer), Effect.scoped)
    }), 60_000)

  it.scopedLive("with no public URL the job is polled as before: no webhook asked for or sent", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 2, runSteps: 2 }))
      const made = FalAi.makeWithJobs({ downloadDir: path.join(root, "fal-polled"), pollSchedule: Schedule.spaced("5 millis") }).pipe(
        Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
      )
      const layer = hosted(made, "falai", undefined, { fal: { url: `${fal.baseUrl}/.well-known/jwks.json` } })
      yield* Effect.gen(function* () {
        const generations = yield* Durable.Generations
        const result = yield* generations.run({ capability: "text-to-image", input: text("a polled owl"), provider: "falai", model: "fal-ai/flux/schnell", key: "owl" })
        expect(result.output).toMatchObject({ provider: "falai", bytes: 4096 })
        expect(fal.count("status")).toBe(5)
        expect(fal.requests.some((r) => r.url.includes("fal_webhook"))).toBe(false)
        yield* Effect.sleep("400 millis")
        expect(fal.webhooks).toEqual([])
        expect(Option.getOrThrow(yield* generations.status("owl")).webhookUrl).toBeUndefined()
      }).pipe(Effect.provide(layer), Effect.scoped)
    }), 60_000)
})
