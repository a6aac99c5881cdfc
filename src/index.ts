/**
 * automarket: every AI media service behind one typed Effect interface.
 *
 * - `Asset`, `Capability`, `Model`, `Errors`, `Health`, `MediaProvider`, `Composition`: the domain.
 * - `ProviderRegistry` (with `Router`): find providers and models for a capability, route with fallback.
 * - `Http`, `Resilience`, `KeyRing`, `ProviderConfig`, `Provider`, `HealthTracker`: what providers are built from.
 * - `ServiceRuntime`, `LocalService`: the local services (FFmpeg, TTS, STT) as child processes.
 * - `FFmpeg`, `Chatterbox`, `Whisper`: the local providers (each a `layer` and a `make`).
 * - `Together`, `OpenRouter`: remote providers (each a `layer`, `layerWith(overrides)` and a `make`).
 * - `FalAi`, `Replicate`: queued remote providers (`layer`, `make`, and a job API: `FalAiJobs`/`ReplicateJobs` with `submit`/`resume`/`cancel`);
 *   `Jobs` (JobTicket, polling, cancel-once), `Download` (streamed, capped, resumable result downloads).
 * - `AutoMarket.layer`: everything wired, configured from the environment.
 *
 * @module
 */
export * as Asset from "./domain/Asset.js"
export * as Capability from "./domain/Capability.js"
export * as Composition from "./domain/Composition.js"
export * as Errors from "./domain/Errors.js"
export * as Health from "./domain/Health.js"
export * as Model from "./domain/Model.js"
export { MediaProvider } from "./domain/MediaProvider.js"
export type * from "./domain/MediaProvider.js"
export * as ProviderRegistry from "./registry/ProviderRegistry.js"
export * as Router from "./registry/Router.js"
export * as Http from "./http/Http.js"
export * as ServerSentEvents from "./http/ServerSentEvents.js"
export * as Resilience from "./resilience/Resilience.js"
export * as KeyRing from "./http/KeyRing.js"
export * as ProviderConfig from "./provider/ProviderConfig.js"
export * as Provider from "./provider/Provider.js"
export * as Catalog from "./provider/Catalog.js"
export * as HealthTracker from "./resilience/HealthTracker.js"
export * as ServiceRuntime from "./local/ServiceRuntime.js"
export * as ProcessRuntime from "./local/ProcessRuntime.js"
export * as LocalService from "./local/LocalService.js"
export * as Download from "./http/Download.js"
export * as Jobs from "./jobs/index.js"
export * as DockerRuntime from "./local/DockerRuntime.js"
export * as AutoMarket from "./registry/AutoMarket.js"
export * as FFmpeg from "./providers/ffmpeg/index.js"
export * as Chatterbox from "./providers/chatterbox/index.js"
export * as Whisper from "./providers/whisper/index.js"
export * as Together from "./providers/together/index.js"
export * as OpenRouter from "./providers/openrouter/index.js"
export * as FalAi from "./providers/falai/index.js"
export * as Replicate from "./providers/replicate/index.js"
