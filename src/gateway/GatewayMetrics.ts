/**
 * The gateway's metrics as Effect `Metric`s (requests by route and status, their latency) and
 * their rendering as Prometheus text for `/metrics`. Routes are labelled by pattern
 * (`/v1/generations/{id}`), never by id, so the series stay few.
 *
 * @module
 */
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricState from "effect/MetricState"

/** Requests answered, by route pattern, method and status. */
export const requests = Metric.counter("automarket_gateway_requests_total", { description: "Requests answered by the gateway" })

/** Time to the answer's headers, by route pattern. */
export const latency = Metric.histogram(
  "automarket_gateway_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 20 }),
  "Time from the request to the answer's headers"
)

/** A path as its route pattern. */
export const routeOf = (url: string): string => {
  const pathname = url.split("?")[0] ?? url
  const match = /^\/v1\/generations\/[^/]+(\/events|\/result)?$/.exec(pathname)
  if (match !== null) return `/v1/generations/{id}${match[1] ?? ""}`
  return /^\/(v1\/[a-z/]+|webhooks\/[a-z]+|health|metrics|openapi\.json|docs)$/.test(pathname) ? pathname : "other"
}

// The tagged metrics, made once per label set (tagging on every request costs a key and its hash).
const counters = new Map<string, Metric.Metric.Counter<number>>()
const histograms = new Map<string, Metric.Metric.Histogram<number>>()
const counterOf = (route: string, method: string, status: number) => {
  const key = `${route} ${method} ${status}`
  let counter = counters.get(key)
  if (counter === undefined) {
    counter = requests.pipe(Metric.tagged("route", route), Metric.tagged("method", method), Metric.tagged("status", String(status)))
    counters.set(key, counter)
  }
  return counter
}
const histogramOf = (route: string) => {
  let histogram = histograms.get(route)
  if (histogram === undefined) {
    histogram = latency.pipe(Metric.tagged("route", route))
    histograms.set(route, histogram)
  }
  return histogram
}

/** Count and time every request. */
export const middleware = HttpMiddleware.make((app) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const route = routeOf(request.url)
    const started = performance.now()
    const exit = yield* Effect.exit(app)
    const status = Exit.isSuccess(exit) ? exit.value.status : 500
    yield* Metric.update(counterOf(route, request.method, status), 1)
    yield* Metric.update(histogramOf(route), (performance.now() - started) / 1000)
    return yield* exit
  })
)

const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra: Record<string, string> = {}): string => {
  const all = [...tags.map((tag) => [tag.key, tag.value] as const), ...Object.entries(extra)]
  return all.length === 0 ? "" : `{${all.map(([key, value]) => `${key}="${value.replace(/["\\\n]/g, "_")}"`).join(",")}}`
}

/** Every metric of this process in Prometheus' text format, plus the gauges given. */
export const render = (gauges: { readonly generationsInFlight: number }): Effect.Effect<string> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const lines: Array<string> = []
    const seen = new Set<string>()
    const header = (name: string, type: string, help: string | undefined) => {
      if (seen.has(name)) return
      seen.add(name)
      if (help !== undefined) lines.push(`# HELP ${name} ${help}`)
      lines.push(`# TYPE ${name} ${type}`)
    }
    for (const pair of pairs) {
      const key = pair.metricKey
      const name = key.name.replace(/[^a-zA-Z0-9_:]/g, "_")
      const help = key.description._tag === "Some" ? key.description.value : undefined
      const state = pair.metricState
      if (MetricState.isCounterState(state)) {
        header(name, "counter", help)
        lines.push(`${name}${labels(key.tags)} ${Number(state.count)}`)
      } else if (MetricState.isGaugeState(state)) {
        header(name, "gauge", help)
        lines.push(`${name}${labels(key.tags)} ${Number(state.value)}`)
      } else if (MetricState.isHistogramState(state)) {
        header(name, "histogram", help)
        for (const [bound, count] of state.buckets) lines.push(`${name}_bucket${labels(key.tags, { le: String(bound) })} ${count}`)
        lines.push(`${name}_bucket${labels(key.tags, { le: "+Inf" })} ${state.count}`)
        lines.push(`${name}_sum${labels(key.tags)} ${state.sum}`)
        lines.push(`${name}_count${labels(key.tags)} ${state.count}`)
      }
    }
    header("automarket_generations_in_flight", "gauge", "Generations not finished, in the shared store")
    lines.push(`automarket_generations_in_flight ${gauges.generationsInFlight}`)
    return lines.join("\n") + "\n"
  })
