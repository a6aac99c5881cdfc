/**
 * Durable generations: generations as workflows on Effect's cluster engine (SQLite embedded, or
 * Postgres for many workers), resumed after a crash without paying for a job twice.
 *
 * @module
 */
export * as Durable from "./Durable.js"
export * as Generation from "./Generation.js"
export * as GenerationStore from "./GenerationStore.js"
export * as LedgerSql from "./LedgerSql.js"
