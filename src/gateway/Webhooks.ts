/**
 * Signed webhooks of fal.ai and Replicate, verified and turned into notifications of the durable
 * generations they are about: the part of the gateway below its routes (`POST /webhooks/fal`,
 * `POST /webhooks/replicate`, see `Durable.webhookPaths`), which hand each request's headers and
 * raw body to `WebhookReceiver.receive`.
 *
 * What is checked, from the providers' documentation:
 * - fal (`verifyFal`): headers `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (epoch
 *   seconds) and `-Signature` (hex); the signature is ED25519 over
 *   `request_id \n user_id \n timestamp \n hex(sha256(body))`, by one of the keys of fal's JWKS
 *   (`https://rest.alpha.fal.ai/.well-known/jwks.json`, `AUTOMARKET_FAL_JWKS_URL`: `FalKeySet`).
 *   The body is `{request_id, gateway_request_id, status: OK | ERROR, payload, error}`, sent when
 *   the job is done.
 * - Replicate (`verifyReplicate`, Standard Webhooks): headers `webhook-id`, `webhook-timestamp`
 *   (epoch seconds) and `webhook-signature` (`v1,<base64>` entries, space separated); each is an
 *   HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed by the base64 after `whsec_` in the
 *   account's secret (`REPLICATE_WEBHOOK_SECRET`, else `GET {base}/webhooks/default/secret` ->
 *   `{key}`: `ReplicateWebhookSecret`). The body is the prediction.
 * - Both: a timestamp more than 5 minutes from now is refused (a replay).
 *
 * Nothing about a refused webhook reaches the store; a verified one for a generation we know sets
 * its `notified_at`, and the process running it reads the job at once (`Generations.notify`).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as crypto from "node:crypto"
import { Generations } from "../durable/Durable.js"
import { GenerationStore } from "../durable/GenerationState.js"
import * as Http from "../http/Http.js"
import * as ProviderConfig from "../provider/ProviderConfig.js"
import * as FalAiConfig from "../providers/falai/FalAiConfig.js"
import { isFinal } from "../providers/replicate/ReplicateClient.js"
import * as ReplicateConfig from "../providers/replicate/ReplicateConfig.js"

/** The providers whose webhooks are received, as the gateway's routes name them. */
export const WebhookProvider = Schema.Literal("fal", "replicate")
/** The providers whose webhooks are received. */
export type WebhookProvider = typeof WebhookProvider.Type

/** The provider id (the store's, the registry's) of each webhook route. */
export const providerIds: Readonly<Record<WebhookProvider, string>> = {
  fal: FalAiConfig.settings.id,
  replicate: ReplicateConfig.settings.id
}

/** Why a webhook was refused. */
export const RefusalReason = Schema.Literal("malformed", "signature", "timestamp", "unknown-generation")
/** Why a webhook was refused. */
export type RefusalReason = typeof RefusalReason.Type

/**
 * A webhook not acted upon: headers or body not as the provider sends them (`malformed`), a
 * signature that no key or secret we hold made (`signature`; also when the keys or the secret
 * cannot be had), a timestamp too far from now (`timestamp`), or a job of no generation of ours
 * (`unknown-generation`). `detail` never holds a key, a secret or a signature.
 */
export class WebhookRefused extends Schema.TaggedError<WebhookRefused>()("WebhookRefused", {
  provider: WebhookProvider,
  reason: RefusalReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.provider} webhook refused (${this.reason}): ${this.detail}`
  }
}

/** What a verified webhook says: whose job it is about, and whether the job is finished. */
export interface VerifiedWebhook {
  readonly provider: WebhookProvider
  /** The provider's request (prediction) id. */
  readonly requestId: string
  readonly final: boolean
}

/** Request headers as a server hands them over; names are matched without regard to case. */
export type WebhookHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** How far a webhook's timestamp may be from now, either way, by default: 5 minutes. */
export const defaultTolerance: Duration.Duration = Duration.minutes(5)

/** A header's value (the first, when repeated); undefined when absent or empty. */
export const headerOf = (headers: WebhookHeaders, name: string): string | undefined => {
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue
    const first = typeof value === "string" ? value : value?.[0]
    return first === undefined || first.trim() === "" ? undefined : first.trim()
  }
  return undefined
}

const refused = (provider: WebhookProvider, reason: RefusalReason, detail: string) => new WebhookRefused({ provider, reason, detail })

/** The named headers, or `malformed` naming those missing. */
const required = <const K extends string>(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  names: ReadonlyArray<K>
): Either.Either<Record<K, string>, WebhookRefused> => {
  const found: Partial<Record<K, string>> = {}
  const missing: Array<string> = []
  for (const name of names) {
    const value = headerOf(headers, name)
    if (value === undefined) missing.push(name)
    else found[name] = value
  }
  return missing.length > 0
    ? Either.left(refused(provider, "malformed", `missing header${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`))
    : Either.right(found as Record<K, string>)
}

/** A timestamp header (epoch seconds) within `tolerance` of `now` (epoch ms). */
const checkTimestamp = (
  provider: WebhookProvider,
  value: string,
  now: number,
  tolerance: Duration.DurationInput | undefined
): Either.Either<void, WebhookRefused> => {
  if (!/^\d{1,12}$/.test(value)) return Either.left(refused(provider, "malformed", `the timestamp "${value.slice(0, 40)}" is not epoch seconds`))
  const skew = Math.abs(now - Number(value) * 1000)
  const allowed = Duration.toMillis(Duration.decode(tolerance ?? defaultTolerance))
  return skew > allowed
    ? Either.left(refused(provider, "timestamp", `the timestamp is ${Math.round(skew / 1000)} s from now (at most ${Math.round(allowed / 1000)} s)`))
    : Either.void
}

/** The body as a JSON object, or `malformed`. */
const jsonObject = (provider: WebhookProvider, body: Uint8Array): Either.Either<Record<string, unknown>, WebhookRefused> => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body).toString("utf8"))
    return Predicate.isRecord(parsed) ? Either.right(parsed) : Either.left(refused(provider, "malformed", "the body is not a JSON object"))
  } catch {
    return Either.left(refused(provider, "malformed", "the body is not JSON"))
  }
}

/** The bytes fal signs for a webhook: the request id, user id, timestamp and the body's SHA-256 (hex), one a line. */
export const falSignedContent = (requestId: string, userId: string, timestamp: string, body: Uint8Array): Buffer =>
  Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${crypto.createHash("sha256").update(body).digest("hex")}`, "utf8")

/** A webhook as a verifier is given it: the request's headers and raw body, and the time. */
export interface WebhookDelivery {
  readonly headers: WebhookHeaders
  /** The raw body, exactly as received. */
  readonly body: Uint8Array
  /** Epoch milliseconds. */
  readonly now: number
  /** How far the signed timestamp may be from `now`. Default 5 minutes. */
  readonly tolerance?: Duration.DurationInput
}

/** What `verifyFal` checks: a delivery and fal's keys. */
export interface FalVerification extends WebhookDelivery {
  /** fal's public keys (`FalKeySet`): the signature must be one of theirs. */
  readonly keys: ReadonlyArray<crypto.KeyObject>
}

/**
 * Verify a fal webhook (see the module's comment): the headers, the timestamp, the ED25519
 * signature by any of `keys`, then the body (`request_id` the signed header's, `status` OK or
 * ERROR). Every fal webhook is about a finished job.
 */
export const verifyFal = (options: FalVerification): Effect.Effect<VerifiedWebhook, WebhookRefused> =>
  Effect.gen(function* () {
    const names = ["x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature"] as const
    const h = yield* required("fal", options.headers, names)
    yield* checkTimestamp("fal", h["x-fal-webhook-timestamp"], options.now, options.tolerance)
    const signatureHex = h["x-fal-webhook-signature"]
    if (!/^[0-9a-f]{128}$/i.test(signatureHex)) return yield* Effect.fail(refused("fal", "malformed", "the signature is not 64 bytes of hex"))
    const signature = Buffer.from(signatureHex, "hex")
    const content = falSignedContent(h["x-fal-webhook-request-id"], h["x-fal-webhook-user-id"], h["x-fal-webhook-timestamp"], options.body)
    const signed = options.keys.some((key) => {
      try {
        return crypto.verify(null, content, key, signature)
      } catch {
        return false
      }
    })
    if (!signed) return yield* Effect.fail(refused("fal", "signature", `no signature of fal's ${options.keys.length} public key(s) matches`))
    const body = yield* jsonObject("fal", options.body)
    const requestId = h["x-fal-webhook-request-id"]
    if (body.request_id !== requestId) return yield* Effect.fail(refused("fal", "malformed", "the body's request_id is not the signed one"))
    if (body.status !== "OK" && body.status !== "ERROR") return yield* Effect.fail(refused("fal", "malformed", "the body's status is neither OK nor ERROR"))
    return { provider: "fal", requestId, final: true }
  })

/** The HMAC key of a Standard Webhooks secret (`whsec_` then base64); undefined when it is none. */
const hmacKeyOf = (secret: Redacted.Redacted<string>): Buffer | undefined => {
  const value = Redacted.value(secret).trim()
  const encoded = value.startsWith("whsec_") ? value.slice("whsec_".length) : value
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined
  const key = Buffer.from(encoded, "base64")
  return key.length > 0 ? key : undefined
}

/** What `verifyReplicate` checks: a delivery and the account's signing secret. */
export interface ReplicateVerification extends WebhookDelivery {
  /** The account's signing secret, `whsec_...`. */
  readonly secret: Redacted.Redacted<string>
}

/**
 * Verify a Replicate webhook (see the module's comment): the headers, the timestamp, one `v1`
 * signature equal (in constant time) to the HMAC of the signed content, then the body (a
 * prediction: `id`, `status`; final when succeeded, failed, canceled or aborted).
 */
export const verifyReplicate = (options: ReplicateVerification): Effect.Effect<VerifiedWebhook, WebhookRefused> =>
  Effect.gen(function* () {
    const h = yield* required("replicate", options.headers, ["webhook-id", "webhook-timestamp", "webhook-signature"] as const)
    yield* checkTimestamp("replicate", h["webhook-timestamp"], options.now, options.tolerance)
    const key = hmacKeyOf(options.secret)
    if (key === undefined) return yield* Effect.fail(refused("replicate", "signature", "the configured signing secret is not a whsec_ key"))
    const expected = crypto
      .createHmac("sha256", key)
      .update(Buffer.from(`${h["webhook-id"]}.${h["webhook-timestamp"]}.`, "utf8"))
      .update(options.body)
      .digest()
    const offered = h["webhook-signature"].split(" ").flatMap((entry) => {
      const comma = entry.indexOf(",")
      return comma > 0 && entry.slice(0, comma) === "v1" ? [Buffer.from(entry.slice(comma + 1), "base64")] : []
    })
    if (offered.length === 0) return yield* Effect.fail(refused("replicate", "malformed", "no v1 signature in webhook-signature"))
    // Every candidate is compared, so the time taken does not tell which one came close.
    const matches = offered.reduce((found, candidate) => (candidate.length === expected.length && crypto.timingSafeEqual(candidate, expected)) || found, false)
    if (!matches) return yield* Effect.fail(refused("replicate", "signature", `none of the ${offered.length} signature(s) matches`))
    const body = yield* jsonObject("replicate", options.body)
    if (typeof body.id !== "string" || body.id === "" || typeof body.status !== "string") {
      return yield* Effect.fail(refused("replicate", "malformed", "the body is not a prediction (id, status)"))
    }
    return { provider: "replicate", requestId: body.id, final: isFinal(body.status) }
  })

/** The environment variable naming where fal's public keys are (a JWKS). */
export const falJwksUrlVar = "AUTOMARKET_FAL_JWKS_URL"

/** fal's JWKS. */
export const defaultFalJwksUrl = "https://rest.alpha.fal.ai/.well-known/jwks.json"

/** A JSON Web Key Set, as far as it is read: fal's keys are Ed25519 (`kty: OKP`, `crv: Ed25519`, `x`). */
const Jwks = Schema.Struct({
  keys: Schema.Array(Schema.Struct({ kty: Schema.String, crv: Schema.optional(Schema.String), x: Schema.optional(Schema.String), kid: Schema.optional(Schema.String) }))
})

/** The Ed25519 public keys of a JWKS (others are skipped). */
export const keysOfJwks = (jwks: typeof Jwks.Type): ReadonlyArray<crypto.KeyObject> =>
  jwks.keys.flatMap((jwk) => {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || jwk.x === undefined) return []
    try {
      return [crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" })]
    } catch {
      return []
    }
  })

/** fal's public keys, fetched and cached. */
export interface FalKeySetService {
  /** The keys: cached, fetched when there are none yet or they are older than the cache's lifetime. */
  readonly keys: Effect.Effect<ReadonlyArray<crypto.KeyObject>, WebhookRefused>
  /**
   * Fetch the keys again (fal rotates them), unless they were fetched less than the minimum
   * interval ago: a stream of forged webhooks costs fal one request a minute. Whether fresh keys
   * were fetched.
   */
  readonly refresh: Effect.Effect<boolean, WebhookRefused>
}

/** fal's public keys. */
export class FalKeySet extends Context.Tag("automarket/gateway/FalKeySet")<FalKeySet, FalKeySetService>() {}

/** Where fal's keys are and how long they are kept. */
export interface FalKeySetOptions {
  /** Default `AUTOMARKET_FAL_JWKS_URL`, else fal's. */
  readonly url?: string
  /** How long fetched keys are used. Default 24 hours. */
  readonly ttl?: Duration.DurationInput
  /** The least time between two fetches asked by `refresh`. Default 1 minute. */
  readonly minRefetch?: Duration.DurationInput
}

interface KeyCache {
  readonly keys: ReadonlyArray<crypto.KeyObject> | undefined
  readonly fetchedAt: number
  readonly triedAt: number
}

/** fal's key set over the project's HTTP stack. */
export const makeFalKeySet = (options: FalKeySetOptions = {}): Effect.Effect<FalKeySetService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const url = options.url ?? (yield* Config.withDefault(Config.nonEmptyString(falJwksUrlVar), defaultFalJwksUrl))
    const ttl = Duration.toMillis(Duration.decode(options.ttl ?? "24 hours"))
    const minRefetch = Duration.toMillis(Duration.decode(options.minRefetch ?? "1 minute"))
    const http = yield* Http.make({ provider: FalAiConfig.settings.id, baseUrl: url, timeout: "10 seconds", retry: { retries: 1 } })
    const fetchKeys = http.json({ path: url, schema: Jwks }).pipe(
      Effect.map(keysOfJwks),
      Effect.mapError((error) => refused("fal", "signature", `fal's public keys could not be fetched: ${error.message}`))
    )
    const cache = yield* SynchronizedRef.make<KeyCache>({ keys: undefined, fetchedAt: 0, triedAt: Number.NEGATIVE_INFINITY })
    // A fetch under the lock answers its outcome and the next state (a failed fetch counts as a try too).
    type Fetched = Either.Either<ReadonlyArray<crypto.KeyObject>, WebhookRefused>
    const fetchInto = (now: number, current: KeyCache): Effect.Effect<readonly [Fetched, KeyCache]> =>
      Effect.map(Effect.either(fetchKeys), (fetched): readonly [Fetched, KeyCache] =>
        Either.isRight(fetched) ? [fetched, { keys: fetched.right, fetchedAt: now, triedAt: now }] : [fetched, { ...current, triedAt: now }]
      )
    const keys: Effect.Effect<ReadonlyArray<crypto.KeyObject>, WebhookRefused> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      SynchronizedRef.modifyEffect(cache, (current): Effect.Effect<readonly [Fetched, KeyCache]> =>
        current.keys !== undefined && now - current.fetchedAt < ttl ? Effect.succeed([Either.right(current.keys), current]) : fetchInto(now, current)
      )
    ).pipe(Effect.flatMap((fetched) => fetched))
    const refresh: Effect.Effect<boolean, WebhookRefused> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      SynchronizedRef.modifyEffect(cache, (current): Effect.Effect<readonly [Either.Either<boolean, WebhookRefused>, KeyCache]> =>
        now - current.triedAt < minRefetch
          ? Effect.succeed([Either.right(false), current])
          : Effect.map(fetchInto(now, current), ([fetched, next]) => [Either.map(fetched, () => true), next] as const)
      )
    ).pipe(Effect.flatMap((fetched) => fetched))
    return FalKeySet.of({ keys, refresh })
  })

/** fal's key set as a layer (the URL from `AUTOMARKET_FAL_JWKS_URL` unless given). */
export const falKeySetLayer = (options: FalKeySetOptions = {}): Layer.Layer<FalKeySet, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(FalKeySet, makeFalKeySet(options))

/** The environment variable holding Replicate's webhook signing secret (`whsec_...`). */
export const replicateSecretVar = "REPLICATE_WEBHOOK_SECRET"

/** Replicate's webhook signing secret. */
export interface ReplicateWebhookSecretService {
  /** The secret: configured, else fetched once with the API token (a failed fetch is tried again next time). */
  readonly secret: Effect.Effect<Redacted.Redacted<string>, WebhookRefused>
}

/** Replicate's webhook signing secret. */
export class ReplicateWebhookSecret extends Context.Tag("automarket/gateway/ReplicateWebhookSecret")<
  ReplicateWebhookSecret,
  ReplicateWebhookSecretService
>() {}

/** Where Replicate's secret comes from. */
export interface ReplicateSecretOptions {
  /** Default `REPLICATE_WEBHOOK_SECRET`; when neither, it is fetched from the API. */
  readonly secret?: Redacted.Redacted<string>
  /** The API the secret is fetched from and its token (default: as the Replicate provider reads them). */
  readonly config?: ProviderConfig.ProviderOverrides
}

const SecretAnswer = Schema.Struct({ key: Schema.String })

/** Replicate's secret: given, configured, or fetched from `GET {base}/webhooks/default/secret` (`{key}`) once. */
export const makeReplicateSecret = (
  options: ReplicateSecretOptions = {}
): Effect.Effect<ReplicateWebhookSecretService, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const given = options.secret !== undefined ? Option.some(options.secret) : yield* Config.option(Config.redacted(replicateSecretVar))
    if (Option.isSome(given)) return ReplicateWebhookSecret.of({ secret: Effect.succeed(given.value) })
    const config = yield* ReplicateConfig.fromEnv(options.config)
    const { http, missing } = yield* ProviderConfig.makeHttp(ReplicateConfig.settings, config)
    const fetched = yield* SynchronizedRef.make(Option.none<Redacted.Redacted<string>>())
    const secret = SynchronizedRef.modifyEffect(fetched, (known) =>
      Option.isSome(known)
        ? Effect.succeed([known.value, known] as const)
        : missing !== undefined
          ? Effect.fail(refused("replicate", "signature", `no ${replicateSecretVar}, and no API token to fetch it with (${missing.setting})`))
          : http.json({ path: "/webhooks/default/secret", schema: SecretAnswer, retry: { retries: 2 } }).pipe(
              Effect.map((answer) => Redacted.make(answer.key)),
              Effect.map((key) => [key, Option.some(key)] as const),
              Effect.mapError((error) => refused("replicate", "signature", `the signing secret could not be fetched: ${error.message}`))
            )
    )
    return ReplicateWebhookSecret.of({ secret })
  })

/** Replicate's secret as a layer. */
export const replicateSecretLayer = (
  options: ReplicateSecretOptions = {}
): Layer.Layer<ReplicateWebhookSecret, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.effect(ReplicateWebhookSecret, makeReplicateSecret(options))

/** What the receiver did with a verified webhook. */
export interface Received {
  readonly generationId: string
  /** False when the generation had already finished (nothing to tell it; not an error). */
  readonly notified: boolean
}

/** The webhook receiver. */
export interface WebhookReceiverService {
  /**
   * Verify a webhook of `provider` (its request's headers and raw body), find the generation of
   * the job it names, and notify it (the process running it reads the job at once). Refused:
   * nothing is written anywhere.
   */
  readonly receive: (provider: WebhookProvider, headers: WebhookHeaders, body: Uint8Array) => Effect.Effect<Received, WebhookRefused>
}

/** The webhook receiver. */
export class WebhookReceiver extends Context.Tag("automarket/gateway/WebhookReceiver")<WebhookReceiver, WebhookReceiverService>() {}

/** Options of the receiver. */
export interface WebhookReceiverOptions {
  /** How far a timestamp may be from now. Default 5 minutes. */
  readonly tolerance?: Duration.DurationInput
}

/** The receiver over fal's keys, Replicate's secret, the generations store and service in context. */
export const make = (
  options: WebhookReceiverOptions = {}
): Effect.Effect<WebhookReceiverService, never, FalKeySet | ReplicateWebhookSecret | GenerationStore | Generations> =>
  Effect.gen(function* () {
    const falKeys = yield* FalKeySet
    const replicateSecret = yield* ReplicateWebhookSecret
    const store = yield* GenerationStore
    const generations = yield* Generations
    const tolerance = options.tolerance

    const fal = (headers: WebhookHeaders, body: Uint8Array, now: number) =>
      Effect.flatMap(falKeys.keys, (keys) =>
        verifyFal({ keys, headers, body, now, ...(tolerance !== undefined ? { tolerance } : {}) }).pipe(
          // Signed by none of the keys we hold: fal may have rotated them; ask again (at most once a minute).
          Effect.catchIf(
            (error) => error.reason === "signature",
            (error) =>
              Effect.flatMap(Effect.orElseSucceed(falKeys.refresh, () => false), (fresh) =>
                fresh
                  ? Effect.flatMap(falKeys.keys, (keys) => verifyFal({ keys, headers, body, now, ...(tolerance !== undefined ? { tolerance } : {}) }))
                  : Effect.fail(error)
              )
          )
        )
      )

    const replicate = (headers: WebhookHeaders, body: Uint8Array, now: number) =>
      Effect.flatMap(replicateSecret.secret, (secret) => verifyReplicate({ secret, headers, body, now, ...(tolerance !== undefined ? { tolerance } : {}) }))

    const receive = (provider: WebhookProvider, headers: WebhookHeaders, body: Uint8Array): Effect.Effect<Received, WebhookRefused> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const verified = yield* (provider === "fal" ? fal(headers, body, now) : replicate(headers, body, now))
        const row = yield* Effect.orDie(store.findByRequest(providerIds[provider], verified.requestId))
        if (Option.isNone(row)) {
          return yield* Effect.fail(refused(provider, "unknown-generation", `no generation has ${provider} job ${verified.requestId}`))
        }
        const notified = yield* generations.notify(row.value.id)
        return { generationId: row.value.id, notified }
      })

    return WebhookReceiver.of({ receive })
  })

/** Where the receiver's keys and secret come from (default: the environment). */
export interface WebhookReceiverLayerOptions extends WebhookReceiverOptions {
  readonly fal?: FalKeySetOptions
  readonly replicate?: ReplicateSecretOptions
}

/** The receiver as a layer, with fal's key set and Replicate's secret configured from the environment and `options`. */
export const layer = (
  options: WebhookReceiverLayerOptions = {}
): Layer.Layer<WebhookReceiver, ConfigError.ConfigError, GenerationStore | Generations | HttpClient.HttpClient> =>
  Layer.effect(WebhookReceiver, make(options)).pipe(
    Layer.provide(Layer.merge(falKeySetLayer(options.fal), replicateSecretLayer(options.replicate)))
  )
