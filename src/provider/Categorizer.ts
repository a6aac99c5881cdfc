/**
 * Categorization beyond rules: the models a provider lists but none of its rules places (a fal
 * endpoint in a category the rules do not know, an OpenRouter model that says nothing of its
 * modalities) are shown to a text model, through the registry's text-to-text with free models
 * first, which answers which capabilities they have.
 *
 * - Asked: the model's id, name, description and input fields (the names of its input schema's
 *   properties, when the listing or the provider's published schema gives them), and the
 *   capabilities the provider can run for it (its transforms, or the provider's own list). The
 *   answer must be strict JSON, `{"capabilities": [...], "confidence": 0.0-1.0}` (a JSON code
 *   fence around it is tolerated), decoded with Schema.
 * - Validated: capabilities the provider cannot run are dropped, and so is every capability of
 *   an answer whose confidence is under `minConfidence` (default 0.7). A valid answer, even one
 *   that places the model nowhere, is kept; a malformed answer or a failed call is not: the model
 *   stays unplaced and is asked about again at the next discovery, not at every read.
 * - Never over a rule: only models with no rule capability are asked about, and an answer is
 *   applied only to a model that has none (`applyPlacements`). A model placed this way is listed
 *   with `categorizedBy: "ai"`.
 * - Cached: each answer is stored in the model catalog with the model's id and a fingerprint of
 *   what was listed of it (name, description, listed input fields); a model whose listing changed
 *   is asked again. (Input fields fetched from the provider's schema at asking time inform the
 *   question but are not in the fingerprint: they would cost a request per model to compare.)
 * - Bounded: at most `limit` models (default 10) are asked about per discovery, `concurrency`
 *   (default 2) at a time; the rest wait for the next discovery. The default is small because
 *   the questions share the user's allowances: OpenRouter's free models allow 50 calls a day, and
 *   a catalog with many unplaced models should not spend a day's allowance at its first read. Each question is an ordinary
 *   registry call, so its cost is counted (ledger, budgets, telemetry) as any call's, spent by
 *   `automarket:categorizer` (`ProviderRegistry.categorizerSpender`), not by the caller whose
 *   read happened to start the discovery.
 * - Off: with `AUTOMARKET_AI_CATEGORIZE=0` (or `enabled: false`), without a `Categorizer` in the
 *   context (`AutoMarket.layer` provides one), without a catalog, or when no text provider can
 *   take work: nothing is asked, and unplaced models are left out as before.
 *
 * No cycle: categorizing provider X's models may route to X itself (OpenRouter and Together are
 * text providers), whose routing reads X's model list. So a question is never asked inside X's
 * discovery: discovery returns the rule-placed models and the unplaced ones, the catalog stores
 * the list at once (with the answers it already holds) and answers every waiting reader; only
 * then, in a fiber of the catalog's scope, are the unplaced models without an answer asked about,
 * and the answers are merged into the stored list (see `Catalog`). The registry's routing then
 * reads X's list from the catalog and never waits on the discovery that asks.
 *
 * The registry routes the questions: `ProviderRegistry.make` binds the `Categorizer` in its
 * context to its own text-to-text (`bind`; the first binding holds). Until one is bound nothing
 * is asked and the pending models are kept for a later process or discovery.
 *
 * @module
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { isMediaCapability, MediaCapability } from "../domain/Capability.js"
import type { MediaError } from "../domain/Errors.js"
import { ProviderModel } from "../domain/Model.js"

/** A model discovery listed that no rule placed: the model as it would be listed (no capability), and its input fields when the listing names them. */
export const UnplacedModel = Schema.Struct({
  model: ProviderModel,
  inputs: Schema.optional(Schema.Array(Schema.String))
})
/** A model discovery listed that no rule placed. */
export type UnplacedModel = typeof UnplacedModel.Type

/** What a discovery that feeds the categorizer answers: the models rules placed, and those they did not. */
export interface Discovery {
  readonly models: ReadonlyArray<ProviderModel>
  readonly unplaced: ReadonlyArray<UnplacedModel>
}

/** A text model's valid answer about one model: the capabilities kept (none when it was unsure), for the listing it saw. */
export const Placement = Schema.Struct({
  /** The model's id. */
  id: Schema.String,
  /** `fingerprintOf` the model when it was asked about. */
  fingerprint: Schema.String,
  /** The capabilities kept after validation; empty when none is known or the confidence was too low. */
  capabilities: Schema.Array(MediaCapability),
  confidence: Schema.Number
})
/** A text model's valid answer about one model. */
export type Placement = typeof Placement.Type

/** What identifies the listing a model was asked about by: its name, description and listed input fields. */
export const fingerprintOf = (unplaced: UnplacedModel): string =>
  createHash("sha1")
    .update(JSON.stringify([unplaced.model.name, unplaced.model.description ?? "", unplaced.inputs ?? []]))
    .digest("hex")
    .slice(0, 16)

/** The system message of every question. */
export const systemPrompt =
  "You classify AI models by what they do. Answer with one JSON object and nothing else: " +
  '{"capabilities": [...], "confidence": <number from 0 to 1>}. Use only capabilities from the list given; ' +
  "an empty list when none fits."

// Descriptions are cut: a question stays small whatever the listing says.
const maxDescription = 600
const maxInputs = 40

/** The question about one model: what is known of it and the capabilities it may be given. */
export const promptOf = (unplaced: UnplacedModel, allowed: ReadonlyArray<MediaCapability>, inputs?: ReadonlyArray<string>): string => {
  const fields = inputs ?? unplaced.inputs
  return [
    `Model id: ${unplaced.model.id}`,
    `Name: ${unplaced.model.name}`,
    ...(unplaced.model.description !== undefined ? [`Description: ${unplaced.model.description.slice(0, maxDescription)}`] : []),
    ...(fields !== undefined && fields.length > 0 ? [`Input fields: ${fields.slice(0, maxInputs).join(", ")}`] : []),
    `Capabilities to choose from: ${allowed.join(", ")}`,
    'Which of these capabilities does the model have? Answer {"capabilities": [...], "confidence": 0.0-1.0}.'
  ].join("\n")
}

const Answer = Schema.parseJson(
  Schema.Struct({
    capabilities: Schema.Array(Schema.String),
    confidence: Schema.Number.pipe(Schema.between(0, 1))
  })
)
const decodeAnswer = Schema.decodeUnknownEither(Answer)

// A model may wrap its JSON in a code fence although told not to: the fence is taken off, nothing else is forgiven.
const unfenced = (text: string): string => {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text)
  return fenced !== null ? fenced[1]! : text
}

/**
 * An answer read and validated: the capabilities kept (only those in `allowed`; none when the
 * confidence is under `minConfidence`) and the confidence; or why it is not an answer.
 */
export const readAnswer = (
  text: string,
  allowed: ReadonlyArray<MediaCapability>,
  minConfidence: number
): Either.Either<{ readonly capabilities: ReadonlyArray<MediaCapability>; readonly confidence: number }, string> =>
  Either.match(decodeAnswer(unfenced(text)), {
    onLeft: () => Either.left("the answer is not the JSON asked for"),
    onRight: ({ capabilities, confidence }) => {
      const kept = confidence < minConfidence ? [] : [...new Set(capabilities)].filter((c): c is MediaCapability => isMediaCapability(c) && allowed.includes(c))
      return Either.right({ capabilities: kept, confidence })
    }
  })

const sameListing = (placement: Placement, unplaced: UnplacedModel): boolean =>
  placement.id === unplaced.model.id && placement.fingerprint === fingerprintOf(unplaced)

/** The placement of an unplaced model for its current listing, if one was answered. */
export const placementOf = (placements: ReadonlyArray<Placement>, unplaced: UnplacedModel): Placement | undefined =>
  placements.find((placement) => sameListing(placement, unplaced))

/** The unplaced models with no answer for their current listing, at most `limit` of them, in listing order. */
export const unanswered = (
  unplaced: ReadonlyArray<UnplacedModel>,
  placements: ReadonlyArray<Placement>,
  limit: number
): ReadonlyArray<UnplacedModel> => unplaced.filter((model) => placementOf(placements, model) === undefined).slice(0, Math.max(0, limit))

/** The placements that still match a listing of `unplaced` (the others are of models gone or changed). */
export const currentPlacements = (placements: ReadonlyArray<Placement>, unplaced: ReadonlyArray<UnplacedModel>): ReadonlyArray<Placement> =>
  placements.filter((placement) => unplaced.some((model) => sameListing(placement, model)))

/**
 * `models` with the answers for `unplaced` applied: a model with a placement of at least one
 * capability is listed with those and `categorizedBy: "ai"`, replacing a listed entry only when
 * that entry has no capability (a rule's placement is never changed). The same array when
 * nothing changes.
 */
export const applyPlacements = (
  models: ReadonlyArray<ProviderModel>,
  unplaced: ReadonlyArray<UnplacedModel>,
  placements: ReadonlyArray<Placement>
): ReadonlyArray<ProviderModel> => {
  const placed = new Map<string, ProviderModel>()
  for (const candidate of unplaced) {
    const placement = placementOf(placements, candidate)
    if (placement === undefined || placement.capabilities.length === 0) continue
    placed.set(candidate.model.id, { ...candidate.model, capabilities: placement.capabilities, categorizedBy: "ai" })
  }
  if (placed.size === 0) return models
  let changed = false
  const out: Array<ProviderModel> = []
  for (const model of models) {
    const ai = placed.get(model.id)
    if (ai === undefined) {
      out.push(model)
      continue
    }
    placed.delete(model.id)
    // A rule's capabilities stand; a model already placed by an answer stays as it is.
    if (model.capabilities.length > 0) out.push(model)
    else {
      out.push(ai)
      changed = true
    }
  }
  for (const ai of placed.values()) {
    out.push(ai)
    changed = true
  }
  return changed ? out : models
}

/** The registry's text-to-text as the categorizer uses it. */
export interface TextRoute {
  /** Whether some text provider can take work now (configured, circuit not open). */
  readonly ready: Effect.Effect<boolean>
  /** The text of one answer to `prompt` under `system`, routed with free models first. */
  readonly ask: (prompt: string, system: string) => Effect.Effect<string, MediaError>
}

/** Settings of the categorizer. */
export interface CategorizerSettings {
  /** Whether models are categorized at all. */
  readonly enabled: boolean
  /** The most models asked about per discovery. */
  readonly limit: number
  /** How many questions are asked at once. */
  readonly concurrency: number
  /** Answers less confident than this place nothing. */
  readonly minConfidence: number
}

/** Programmatic settings of the categorizer; each overrides the environment or the default. */
export interface CategorizerOptions {
  /** Default `AUTOMARKET_AI_CATEGORIZE` (`0`/`false` turns it off), else on. */
  readonly enabled?: boolean
  /** Default 50. */
  readonly limit?: number
  /** Default 2. */
  readonly concurrency?: number
  /** Default 0.7. */
  readonly minConfidence?: number
}

/** The defaults: on, 10 models per discovery, 2 at a time, confidence 0.7. */
export const defaultSettings: CategorizerSettings = { enabled: true, limit: 10, concurrency: 2, minConfidence: 0.7 }

/** Whether categorization is on: `AUTOMARKET_AI_CATEGORIZE` (a boolean: `0`, `false`, `no`, `off` turn it off), default on. */
export const enabledConfig: Config.Config<boolean> = Config.withDefault(Config.boolean("AUTOMARKET_AI_CATEGORIZE"), true)

/** What one provider's models are asked about with. */
export interface PlaceRequest {
  /** The provider id (for logs). */
  readonly provider: string
  /** The capabilities the provider can run for a listed model: an answer keeps only these. */
  readonly allowed: ReadonlyArray<MediaCapability>
  /** A model's input fields from its published schema, when the listing gave none (`undefined` when it has none). */
  readonly inputsOf?: (modelId: string) => Effect.Effect<ReadonlyArray<string> | undefined>
}

/** The categorizer service. */
export interface CategorizerService {
  readonly settings: CategorizerSettings
  /** Route the questions through `route` (the registry does this when it is made); the first binding holds. */
  readonly bind: (route: TextRoute) => Effect.Effect<void>
  /**
   * Ask about each model (`settings.concurrency` at a time): the valid answers. `None` when
   * nothing was asked: no route bound yet, or no text provider can take work. A model whose
   * answer was malformed or whose call failed has no placement. Never fails.
   */
  readonly place: (request: PlaceRequest, unplaced: ReadonlyArray<UnplacedModel>) => Effect.Effect<Option.Option<ReadonlyArray<Placement>>>
}

/** The categorizer tag. Optional: without it no model is categorized beyond rules. */
export class Categorizer extends Context.Tag("automarket/Categorizer")<Categorizer, CategorizerService>() {}

/** A categorizer with `settings`, to be bound to a registry. */
export const make = (settings: CategorizerSettings): Effect.Effect<CategorizerService> =>
  Effect.map(Deferred.make<TextRoute>(), (bound) => {
    const one = (request: PlaceRequest, route: TextRoute, unplaced: UnplacedModel): Effect.Effect<Option.Option<Placement>> =>
      Effect.gen(function* () {
        const inputs = unplaced.inputs ?? (request.inputsOf !== undefined ? yield* request.inputsOf(unplaced.model.id) : undefined)
        const answer = yield* Effect.either(route.ask(promptOf(unplaced, request.allowed, inputs), systemPrompt))
        if (Either.isLeft(answer)) {
          yield* Effect.logDebug(`categorizer: ${request.provider} ${unplaced.model.id}: ${answer.left._tag}: ${answer.left.message}`)
          return Option.none()
        }
        const read = readAnswer(answer.right, request.allowed, settings.minConfidence)
        if (Either.isLeft(read)) {
          yield* Effect.logDebug(`categorizer: ${request.provider} ${unplaced.model.id}: ${read.left}`)
          return Option.none()
        }
        return Option.some({ id: unplaced.model.id, fingerprint: fingerprintOf(unplaced), ...read.right })
      })

    const place = (request: PlaceRequest, unplaced: ReadonlyArray<UnplacedModel>): Effect.Effect<Option.Option<ReadonlyArray<Placement>>> =>
      Effect.gen(function* () {
        const polled = yield* Deferred.poll(bound)
        if (Option.isNone(polled) || unplaced.length === 0) return Option.none()
        const route = yield* polled.value
        if (!(yield* route.ready)) return Option.none()
        const answers = yield* Effect.forEach(unplaced, (model) => one(request, route, model), { concurrency: settings.concurrency })
        return Option.some(answers.flatMap(Option.toArray))
      })

    return Categorizer.of({ settings, bind: (route) => Effect.asVoid(Deferred.succeed(bound, route)), place })
  })

/** The settings from `options`, the environment and the defaults. */
export const resolve = (options: CategorizerOptions = {}): Effect.Effect<CategorizerSettings, ConfigError.ConfigError> =>
  Effect.map(options.enabled !== undefined ? Effect.succeed(options.enabled) : enabledConfig, (enabled) => ({
    enabled,
    limit: options.limit ?? defaultSettings.limit,
    concurrency: Math.max(1, options.concurrency ?? defaultSettings.concurrency),
    minConfidence: options.minConfidence ?? defaultSettings.minConfidence
  }))

/** The categorizer as a layer (settings from `options`, the environment and the defaults). */
export const layer = (options: CategorizerOptions = {}): Layer.Layer<Categorizer, ConfigError.ConfigError> =>
  Layer.effect(Categorizer, Effect.flatMap(resolve(options), make))
