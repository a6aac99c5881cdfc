/**
 * Queued jobs, shared by the remote providers that run long generations (fal.ai, Replicate):
 * the serializable `JobTicket` (`Ticket`), what a status poll says (`JobStatus`), the poll loop
 * (`Follow`), the rules that keep a careless caller from losing money (`Run`: submit once,
 * cancel once, a budget), inputs inlined for a remote model (`Inputs`), results downloaded and
 * read into assets (`Results`), the defaults and their environment variables (`Settings`), and
 * the job API a queued provider offers (`JobClient`), and a submit's deadline as the seconds a
 * provider is told (`Deadline`).
 *
 * @module
 */
export { JobCapabilities, JobCapability } from "../domain/Capability.js"
export * from "./Deadline.js"
export * from "./Follow.js"
export * from "./Inputs.js"
export * from "./JobClient.js"
export * from "./JobStatus.js"
export * from "./Results.js"
export * from "./Run.js"
export * from "./Settings.js"
export * from "./Ticket.js"
