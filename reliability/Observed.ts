/**
 * A provider as the registry sees it, with a log of how each of its runs ended: the outcome of
 * every model run and every text stream, in order. The registry reports the providers it tried
 * only when a call succeeds; this log also says what the first provider did when the whole call
 * failed.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { MediaCapability } from "../src/domain/Capability.js"
import type { MediaError } from "../src/domain/Errors.js"
import type { CapabilityModel, MediaProviderService } from "../src/domain/MediaProvider.js"
import type { Outcome } from "./Expectations.js"

/** How the runs of a provider ended, in order. */
export interface RunLog {
  readonly outcomes: ReadonlyArray<Outcome>
}

/** `provider` with every model run and text stream it serves noted in the returned log. */
export const observe = (provider: MediaProviderService): { readonly provider: MediaProviderService; readonly log: RunLog } => {
  const outcomes: Array<Outcome> = []
  const note = (outcome: Outcome) => Effect.sync(() => void outcomes.push(outcome))
  const model = <C extends MediaCapability>(capability: C, modelId?: string): Effect.Effect<CapabilityModel<C>, MediaError> =>
    provider.model(capability, modelId).pipe(
      Effect.tapError((error) => note(error._tag)),
      Effect.map(
        (found): CapabilityModel<C> => ({
          ...found,
          transform: (input, options) =>
            found.transform(input, options).pipe(
              Effect.tapBoth({ onFailure: (error) => note(error._tag), onSuccess: () => note("ok") })
            )
        })
      )
    )
  const observed: MediaProviderService = {
    ...provider,
    model,
    streamText: (input, options) =>
      provider.streamText(input, options).pipe(
        Stream.tapError((error) => note(error._tag)),
        Stream.onDone(() => note("ok"))
      )
  }
  return { provider: observed, log: { outcomes } }
}
