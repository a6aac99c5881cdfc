/**
 * The `@effect/ai` bridge: `LanguageModel.layer` offers `@effect/ai`'s `LanguageModel` over
 * automarket's `ProviderRegistry` (routing, fallback, typed errors). Its own entry,
 * `automarket/ai`, so that `@effect/ai` (an optional peer dependency) is loaded only by the
 * applications that use it.
 *
 * @module
 */
export * as LanguageModel from "./LanguageModel.js"
