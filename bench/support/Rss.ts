/**
 * Peak resident memory over one piece of work, for the benchmarks whose figure is "RSS growth
 * stays below N MB" (downloads, uploads): RSS is read before the work (after a GC when Node runs
 * with `--expose-gc`), then every `sampleMs` while it runs and once after, and the peak's growth
 * over that baseline is the figure.
 *
 * @module
 */

/** Bytes to MB, one decimal. */
export const mb = (n: number): number => Math.round((n / (1024 * 1024)) * 10) / 10

/** What `measureRss` saw. */
export interface RssFigures {
  /** RSS just before the work. */
  readonly rssBaselineMb: number
  /** Highest RSS seen while it ran. */
  readonly rssPeakMb: number
  /** `rssPeakMb - rssBaselineMb`. */
  readonly rssGrowthMb: number
  /** RSS samples taken. */
  readonly samples: number
  /** Wall time of the work. */
  readonly seconds: number
}

/** Run `work`, sampling this process's RSS every `sampleMs` (default 5 ms); its result with the figures. */
export const measureRss = async <A>(work: () => Promise<A>, sampleMs = 5): Promise<RssFigures & { readonly result: A }> => {
  if (global.gc !== undefined) global.gc()
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  let samples = 0
  const timer = setInterval(() => {
    samples++
    peak = Math.max(peak, process.memoryUsage.rss())
  }, sampleMs)
  const started = process.hrtime.bigint()
  try {
    const result = await work()
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    peak = Math.max(peak, process.memoryUsage.rss())
    return { result, seconds, rssBaselineMb: mb(baseline), rssPeakMb: mb(peak), rssGrowthMb: mb(peak - baseline), samples }
  } finally {
    clearInterval(timer)
  }
}
