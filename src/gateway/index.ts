/**
 * The HTTP gateway: the registry, its fallback and the durable generations behind one HttpApi
 * (OpenAI-compatible routes, generations by id, signed webhooks, a live dashboard), with keys,
 * rate and spend limits. `automarket serve gateway` runs it; `Gateway.layer` is the same in a program.
 *
 * @module
 */
export * as Access from "./Access.js"
export * as Api from "./Api.js"
export * as ApiErrors from "./ApiErrors.js"
export * as Dashboard from "./Dashboard.js"
export * as Gateway from "./Gateway.js"
export * as Keys from "./Keys.js"
export * as KeyState from "./KeyState.js"
export * as RateLimiter from "./RateLimiter.js"
export * as Webhooks from "./Webhooks.js"
