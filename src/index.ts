/**
 * automarket: every AI media service behind one typed Effect interface.
 *
 * The public API:
 * - the domain: `Asset`, `Capability`, `Model`, `Errors`, `Health`, `MediaProvider`, `Composition`,
 *   `Progress` (job events and `Progress.stream`);
 * - `Align`: a known text timed by a transcript's words (subtitles that say what was said);
 * - `ProviderRegistry` (with `Router`): find providers and models for a capability, route with
 *   fallback; `AutoMarket`: everything wired, configured from the environment;
 * - `Ledger` (the cost ledger: what each paid call cost and who spent it), `Budget` (limits per day
 *   or month, checked before a call), `CostEstimate` (a call's worst-case cost);
 * - `Resilience`: retry schedules, timeouts, the circuit breaker and `fallbackPlan`, to compose your own;
 * - `Provider` (`Provider.make`, for a provider of your own), `Catalog` (the model-discovery cache)
 *   and `Categorizer` (models no rule places, categorized by a text model);
 * - the providers, each with its `layer` (configured from the environment), `layerWith(overrides)`
 *   and `make`: `FFmpeg`, `Chatterbox`, `Whisper` (local services), `Together`, `OpenRouter`,
 *   `FalAi`, `Replicate` (remote; fal.ai and Replicate also with a job API, `FalAiJobs`/`ReplicateJobs`);
 * - `Jobs`: the `JobTicket` of a queued job and its JSON form, to resume a job from another process;
 * - `ServiceRuntime`: the tag of the runtime that starts the local services (chosen with
 *   `AutoMarket.layerWith(providers, { runtime })`).
 *
 * Durable generations (workflows that survive crashes, on SQLite or Postgres) are their own entry,
 * `automarket/durable` (`Durable.Generations`, `Durable.layerSqlite`, `Durable.layerPg`), so that an
 * application that does not use them does not load the SQL clients.
 *
 * Everything else (the HTTP stack, key rings, downloads, the process and Docker runtimes, the local
 * services' servers) is importable by its path (`automarket/http/Download`, ...), not from here:
 * those modules may change between minor versions.
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
export * as Progress from "./domain/Progress.js"
export * as Align from "./media/Align.js"
export * as ProviderRegistry from "./registry/ProviderRegistry.js"
export * as Router from "./registry/Router.js"
export * as Ledger from "./registry/Ledger.js"
export * as Budget from "./registry/Budget.js"
export * as CostEstimate from "./registry/CostEstimate.js"
export * as AutoMarket from "./registry/AutoMarket.js"
export * as Resilience from "./resilience/Resilience.js"
export * as Provider from "./provider/Provider.js"
export * as Catalog from "./provider/Catalog.js"
export * as Categorizer from "./provider/Categorizer.js"
export * as Jobs from "./jobs/Ticket.js"
export type { JobClient } from "./jobs/JobClient.js"
export { ServiceRuntime } from "./local/ServiceRuntime.js"
export type { ServiceRuntimeService, ServiceStatus } from "./local/ServiceRuntime.js"
export * as FFmpeg from "./providers/ffmpeg/index.js"
export * as Chatterbox from "./providers/chatterbox/index.js"
export * as Whisper from "./providers/whisper/index.js"
export * as Together from "./providers/together/index.js"
export * as OpenRouter from "./providers/openrouter/index.js"
export * as FalAi from "./providers/falai/index.js"
export * as Replicate from "./providers/replicate/index.js"
