/**
 * The telemetry switch: automarket's spans and metrics (see `resilience/Attributes.ts` and
 * `resilience/Metrics.ts`) exported over OTLP when the standard OpenTelemetry environment asks
 * for it, and the tracer switched off otherwise, so that the spans cost next to nothing.
 *
 * On: `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Traces go to `<endpoint>/v1/traces` and metrics to
 * `<endpoint>/v1/metrics` as OTLP JSON, through `@effect/opentelemetry`'s own exporter over the
 * `@effect/platform` `HttpClient` in context (no OpenTelemetry SDK at run time). Also read:
 * `OTEL_SERVICE_NAME` (default `automarket`), `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k=v`),
 * `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k=v`, URL-encoded values, kept `Redacted`: a collector's
 * key), `OTEL_BSP_SCHEDULE_DELAY` and `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds between
 * exports). What is buffered is sent when the layer's scope closes, within 5 seconds.
 *
 * `@effect/opentelemetry` is an optional peer dependency, imported only when telemetry is on.
 *
 * While on, `@effect/platform`'s own HTTP client spans are switched off (they record full URLs
 * with their query strings, where a signed download URL keeps its signature; automarket's own
 * `automarket.http` span records the path only), and the header names of the collector's
 * headers join `Headers.currentRedactedNames`.
 *
 * ```ts
 * program.pipe(Effect.provide(Telemetry.layerFromEnv), Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @module
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** The environment variable that switches telemetry on. */
export const endpointVar = "OTEL_EXPORTER_OTLP_ENDPOINT"

/** Where and how to export. */
export interface OtlpSettings {
  /** The collector's base URL; `/v1/traces` and `/v1/metrics` are appended. */
  readonly endpoint: string
  readonly serviceName: string
  /** Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`). */
  readonly resourceAttributes: Readonly<Record<string, string>>
  /** Headers sent to the collector (`OTEL_EXPORTER_OTLP_HEADERS`): often a key. */
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  /** Time between trace exports. Default 5 s. */
  readonly traceExportInterval: Duration.Duration
  /** Time between metric exports. Default 10 s. */
  readonly metricExportInterval: Duration.Duration
}

/**
 * A `k=v,k=v` list (the OpenTelemetry environment's format: values URL-encoded) as a record;
 * entries without `=` or with an empty name are skipped.
 */
export const parseKeyValues = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const entry of text.split(",")) {
    const at = entry.indexOf("=")
    if (at <= 0) continue
    const name = entry.slice(0, at).trim()
    if (name === "") continue
    const raw = entry.slice(at + 1).trim()
    let value: string
    try {
      value = decodeURIComponent(raw)
    } catch {
      value = raw
    }
    out[name] = value
  }
  return out
}

const millis = (name: string, fallback: Duration.Duration): Config.Config<Duration.Duration> =>
  Config.integer(name).pipe(
    Config.map((ms) => (ms > 0 ? Duration.millis(ms) : fallback)),
    Config.withDefault(fallback)
  )

/** The settings from the standard OpenTelemetry environment; none when `OTEL_EXPORTER_OTLP_ENDPOINT` is unset or empty. */
export const settingsFromEnv: Config.Config<Option.Option<OtlpSettings>> = Config.all({
  endpoint: Config.option(Config.string(endpointVar)),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("automarket")),
  resourceAttributes: Config.string("OTEL_RESOURCE_ATTRIBUTES").pipe(Config.map(parseKeyValues), Config.withDefault({})),
  headers: Config.redacted("OTEL_EXPORTER_OTLP_HEADERS").pipe(
    Config.map((raw) => Redacted.make(parseKeyValues(Redacted.value(raw)))),
    Config.withDefault(Redacted.make({}))
  ),
  traceExportInterval: millis("OTEL_BSP_SCHEDULE_DELAY", Duration.seconds(5)),
  metricExportInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", Duration.seconds(10))
}).pipe(
  Config.map(({ endpoint, ...rest }) =>
    Option.flatMap(endpoint, (url) => (url.trim() === "" ? Option.none() : Option.some({ endpoint: url.trim(), ...rest })))
  )
)

/** Telemetry off: the tracer disabled (every span a no-op), nothing exported, nothing of OpenTelemetry loaded. */
export const layerDisabled: Layer.Layer<never> = Layer.setTracerEnabled(false)

// What is left of a buffer is sent when the scope closes, within this time.
const shutdownTimeout = Duration.seconds(5)

/**
 * Export traces and metrics as OTLP JSON to `settings.endpoint` through the `HttpClient` in
 * context. `@effect/opentelemetry` is imported when the layer is built.
 */
export const layerOtlp = (settings: OtlpSettings): Layer.Layer<never, never, HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() =>
        Promise.all([
          import("@effect/opentelemetry/OtlpTracer"),
          import("@effect/opentelemetry/OtlpMetrics"),
          import("@effect/opentelemetry/OtlpSerialization")
        ])
      ),
      ([OtlpTracer, OtlpMetrics, OtlpSerialization]) => {
        const headers = Redacted.value(settings.headers)
        const resource = { serviceName: settings.serviceName, attributes: { ...settings.resourceAttributes } }
        const url = (path: string) => `${settings.endpoint.replace(/\/+$/, "")}${path}`
        return Layer.mergeAll(
          OtlpTracer.layer({ url: url("/v1/traces"), resource, headers, exportInterval: settings.traceExportInterval, shutdownTimeout }),
          OtlpMetrics.layer({ url: url("/v1/metrics"), resource, headers, exportInterval: settings.metricExportInterval, shutdownTimeout }),
          guards(Object.keys(headers))
        ).pipe(Layer.provide(OtlpSerialization.layerJson))
      }
    )
  )

// No platform client span (full URLs), and the collector's header names redacted wherever headers are shown.
const guards = (headerNames: ReadonlyArray<string>): Layer.Layer<never> =>
  Layer.mergeAll(
    Layer.scopedDiscard(Effect.locallyScoped(HttpClient.currentTracerDisabledWhen, () => true)),
    Layer.scopedDiscard(
      Effect.locallyScopedWith(Headers.currentRedactedNames, (names) => [...names, ...headerNames.map((name) => name.toLowerCase())])
    )
  )

/** Telemetry as the environment says: `layerOtlp` when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, `layerDisabled` otherwise. */
export const layerFromEnv: Layer.Layer<never, ConfigError.ConfigError, HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(settingsFromEnv, (settings) => (Option.isSome(settings) ? layerOtlp(settings.value) : layerDisabled))
)
