/**
 * Together's per-model parameters, as data: what a request is given when the caller says
 * nothing, and what it may hold, so that a value Together would refuse is refused here, before
 * anything is sent. Together publishes no per-model input schema; these facts are from its
 * OpenAPI spec and its image docs, and a model family is listed only where they say something.
 *
 * - Images (`POST /images/generations`, `imageStepRules`, first match wins, else `anyImageModel`): every model takes
 *   `steps` from 1 to 50 (the docs' parameter table); FLUX.1 schnell runs 4 by default (the docs'
 *   model table), which is sent when the caller gives none. For the other families (FLUX.1 dev,
 *   FLUX.1.1 pro, Kontext, FLUX.2 ...) no default of their own is published: none is sent and
 *   Together applies its own (the spec says 20). A `steps` outside the range, or not a whole
 *   number, fails with InvalidInput naming `steps` and the range. A value in `options.extra.steps`
 *   is checked the same way (`options.steps` wins over it).
 * - Chat: `maxTokens` above the model's `context_length` (from the last `GET /models`) is
 *   refused with InvalidInput naming `maxTokens` and the limit, not clamped: a clamped request
 *   is not the one asked for, and no answer could have that many tokens anyway (the prompt's
 *   tokens count against the same window; they are not counted here, Together does that). A
 *   model not in the last listing, or listed without a context length, is not checked.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import { InvalidInput } from "../../domain/Errors.js"
import type { ProviderModel } from "../../domain/Model.js"
import * as TogetherConfig from "./TogetherConfig.js"

/** The `steps` an image model family takes: its range, and the default sent when the caller gives none. */
export interface ImageStepsRule {
  /** What the rule says, and where Together says it. */
  readonly name: string
  readonly idPattern: RegExp
  readonly minSteps: number
  readonly maxSteps: number
  /** Sent when the caller gives no `steps`; none sent (Together's own default) when absent. */
  readonly defaultSteps?: number
}

/** The rule of an image model no family rule names: 1-50 steps (docs: image parameters), Together's default (20) when none is sent. */
export const anyImageModel: ImageStepsRule = { name: "every image model", idPattern: /.*/, minSteps: 1, maxSteps: 50 }

/** The family rules, in order, before `anyImageModel`. */
export const imageStepRules: ReadonlyArray<ImageStepsRule> = [
  { name: "FLUX.1 schnell: 4 steps by default (docs: image models table), 1-50", idPattern: /flux\.1-schnell/i, minSteps: 1, maxSteps: 50, defaultSteps: 4 }
]

/** The rule of an image model: its family's, else `anyImageModel`. */
export const imageStepsRuleFor = (model: string): ImageStepsRule => imageStepRules.find((rule) => rule.idPattern.test(model)) ?? anyImageModel

const invalid = (detail: string, issue: string): InvalidInput =>
  new InvalidInput({ provider: TogetherConfig.settings.id, detail, issues: [issue] })

/**
 * The `steps` to send for `model`: the caller's when within the model's range, else its default
 * (none when it has none); InvalidInput naming `steps` and the range when the caller's is outside.
 */
export const imageSteps = (model: string, steps: unknown): Effect.Effect<number | undefined, InvalidInput> => {
  const rule = imageStepsRuleFor(model)
  if (steps === undefined) return Effect.succeed(rule.defaultSteps)
  const within = typeof steps === "number" && Number.isInteger(steps) && steps >= rule.minSteps && steps <= rule.maxSteps
  return within
    ? Effect.succeed(steps)
    : Effect.fail(
        invalid(
          `steps ${String(steps)} is outside ${model}'s range (${rule.minSteps} to ${rule.maxSteps})`,
          `steps: must be a whole number from ${rule.minSteps} to ${rule.maxSteps}`
        )
      )
}

/** Succeeds when `maxTokens` fits `model`'s context length (or either is unknown); else InvalidInput naming `maxTokens` and the limit. */
export const checkMaxTokens = (modelId: string, model: ProviderModel | undefined, maxTokens: number | undefined): Effect.Effect<void, InvalidInput> => {
  const limit = model?.limits?.contextLength
  if (maxTokens === undefined || limit === undefined || maxTokens <= limit) return Effect.void
  return Effect.fail(
    invalid(`maxTokens ${maxTokens} exceeds ${modelId}'s context length of ${limit} tokens`, `maxTokens: must be <= ${limit} (the model's context length)`)
  )
}
