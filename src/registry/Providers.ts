/**
 * The providers this package has, in the registry's default order (ties in routing keep this
 * order): the one list a new provider is added to. The command line and `AutoMarket.layer` use
 * them when the caller names none. Remote providers without a key are listed but not
 * configured; local providers start their service on first use.
 *
 * @module
 */
import { manifest as chatterbox } from "../providers/chatterbox/manifest.js"
import { manifest as falai } from "../providers/falai/manifest.js"
import { manifest as ffmpeg } from "../providers/ffmpeg/manifest.js"
import type { ProviderLayer, ProviderManifest } from "../providers/Manifest.js"
import { manifest as openrouter } from "../providers/openrouter/manifest.js"
import { manifest as replicate } from "../providers/replicate/manifest.js"
import { manifest as together } from "../providers/together/manifest.js"
import { manifest as whisper } from "../providers/whisper/manifest.js"

/** Every provider's manifest, in the registry's default order. */
export const manifests: ReadonlyArray<ProviderManifest> = [ffmpeg, chatterbox, whisper, together, openrouter, falai, replicate]

/** Every provider's layer, in the registry's default order. */
export const defaultProviders: ReadonlyArray<ProviderLayer> = manifests.map((manifest) => manifest.layer)

/** The manifests of the providers that run queued jobs: their tickets can be resumed and cancelled. */
export const queuedProviders: ReadonlyArray<ProviderManifest> = manifests.filter((manifest) => manifest.jobs !== undefined)

/** The manifest of a provider id, if this package has it. */
export const manifestOf = (id: string): ProviderManifest | undefined => manifests.find((manifest) => manifest.id === id)
