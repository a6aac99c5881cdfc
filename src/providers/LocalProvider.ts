/**
 * What a provider over one of our TTS or STT services (Chatterbox, Whisper) declares the same
 * way: it is local and needs no key, its models are listed once and kept (the service's voices
 * or engine do not change while it runs), they are cached in the model catalog under the
 * service's URL or embedded name, and it is available when its service answers, without an
 * embedded service being started just to ask.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { ProviderModel } from "../domain/Model.js"
import * as LocalService from "../local/LocalService.js"
import type { ProviderSpec } from "../provider/Provider.js"

/** The part of a `Provider.make` spec that follows from the service's location; spread it into the spec. */
export type LocalSpec = Pick<ProviderSpec, "type" | "configured" | "cacheModels" | "baseUrl" | "probe">

/** The spec fields of a provider on the service at `location`, available when `check` (its client's probe) says so. */
export const spec = (location: LocalService.ServiceLocation, check: Effect.Effect<boolean>): LocalSpec => ({
  type: "local",
  configured: true,
  // Cached in the model catalog (when one is given) under the service's URL, or its embedded
  // name: listing models then needs no running service.
  ...(location.catalogKey !== undefined ? { cacheModels: true, baseUrl: location.catalogKey } : {}),
  probe: LocalService.probe(location, check)
})

/** `discover` until it first succeeds, then its models without asking again. */
export const discoverOnce = <E>(
  discover: Effect.Effect<ReadonlyArray<ProviderModel>, E>
): Effect.Effect<Effect.Effect<ReadonlyArray<ProviderModel>, E>> =>
  Effect.map(Ref.make(Option.none<ReadonlyArray<ProviderModel>>()), (listed) =>
    Effect.flatMap(Ref.get(listed), (known) =>
      Option.isSome(known) ? Effect.succeed(known.value) : Effect.tap(discover, (models) => Ref.set(listed, Option.some(models)))
    )
  )
