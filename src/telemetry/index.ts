/**
 * Traces and metrics: the switch that exports automarket's spans and metrics over OTLP
 * (`Telemetry.layerFromEnv`), and the names it exports (`Attributes`, `Metrics`).
 *
 * @module
 */
export * as Attributes from "../resilience/Attributes.js"
export * as Metrics from "../resilience/Metrics.js"
export * as Telemetry from "./Telemetry.js"
