// The download benchmark: `Download.download` (src/http/Download.ts, over the library's HTTP
// client, `UndiciHttpClient.layer`) streams a large result from a loopback server to a file while
// this process's resident memory is sampled; the figure that matters is the peak RSS growth over
// the baseline (the issue asks < 64 MB for 1 GiB).
//
//   node --import tsx bench/download.ts [bytes] [url]
//
// Without `url`, it starts `bench/server.mjs --role download` (its own process, so the server's
// buffers are not counted) and downloads `<server>/bytes/<bytes>` (default 1 GiB). Prints one JSON
// line: { bytes, seconds, mibPerSecond, rssBaselineMb, rssPeakMb, rssGrowthMb, samples }.
//
// From another script: `import { benchDownload } from "./download.ts"` (with tsx loaded) and
// `await benchDownload({ bytes })` gives the same object.
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import * as Download from "../src/http/Download.js"
import * as UndiciHttpClient from "../src/http/UndiciHttpClient.js"
import { measureRss } from "./support/Rss.js"

/** What one run measured. */
export interface DownloadBenchResult {
  readonly bytes: number
  readonly seconds: number
  readonly mibPerSecond: number
  /** RSS after a 1 MiB warm-up download, before the measured one. */
  readonly rssBaselineMb: number
  /** Highest RSS seen during the measured download. */
  readonly rssPeakMb: number
  /** `rssPeakMb - rssBaselineMb`. */
  readonly rssGrowthMb: number
  /** RSS samples taken (every `sampleMs`). */
  readonly samples: number
}

/** Options of `benchDownload`. */
export interface DownloadBenchOptions {
  /** Size to download. Default 1 GiB. */
  readonly bytes?: number
  /** A server answering `GET <url>` with the bytes; default: start bench/server.mjs's download role and use `/bytes/<bytes>`. */
  readonly url?: string
  /** With `url`: what to download first, to warm up. Default: `url` with a trailing `/bytes/<n>` made `/bytes/1048576`, else `url` itself. */
  readonly warmUrl?: string
  /** RSS sampling interval. Default 5 ms. */
  readonly sampleMs?: number
}

const startServer = (): Promise<{ readonly base: string; readonly stop: () => void }> =>
  new Promise((resolve, reject) => {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "server.mjs")
    const child = spawn(process.execPath, [script, "--role", "download"], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    createInterface({ input: child.stdout }).once("line", (line) => {
      const { port } = JSON.parse(line) as { port: number }
      resolve({ base: `http://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") })
    })
  })

const fetchTo = (url: string, to: string) =>
  Effect.runPromise(Download.download({ url, to, allowLoopbackHttp: true, maxBytes: 8 * 1024 ** 3 }).pipe(Effect.provide(UndiciHttpClient.layer)))

// bench/server.mjs's download role serves `/bytes/<n>`: warm up on 1 MiB of it.
const warmUrlOf = (url: string): string => url.replace(/\/bytes\/\d+$/, `/bytes/${1024 * 1024}`)

/** Download `bytes` from a loopback server to a temp file, sampling RSS; the file is removed after. */
export const benchDownload = async (options: DownloadBenchOptions = {}): Promise<DownloadBenchResult> => {
  const bytes = options.bytes ?? 1024 ** 3
  const server = options.url === undefined ? await startServer() : undefined
  const url = options.url ?? `${server!.base}/bytes/${bytes}`
  // The warm-up is 1 MiB, so the figure is what the first large download costs over a process
  // that has downloaded before (warming up with the full size would hide its buffers' growth).
  const warmUrl = server !== undefined ? `${server.base}/bytes/${1024 * 1024}` : (options.warmUrl ?? warmUrlOf(options.url!))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-bench-download-"))
  try {
    await fetchTo(warmUrl, path.join(dir, "warm.bin"))
    const { result: done, seconds, rssBaselineMb, rssPeakMb, rssGrowthMb, samples } = await measureRss(
      () => fetchTo(url, path.join(dir, "big.bin")),
      options.sampleMs
    )
    if (done.bytes !== bytes && options.url === undefined) throw new Error(`downloaded ${done.bytes} bytes, expected ${bytes}`)
    return {
      bytes: done.bytes,
      seconds: Math.round(seconds * 100) / 100,
      mibPerSecond: Math.round(done.bytes / (1024 * 1024) / seconds),
      rssBaselineMb,
      rssPeakMb,
      rssGrowthMb,
      samples
    }
  } finally {
    server?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [bytesArg, url] = process.argv.slice(2)
  const result = await benchDownload({ ...(bytesArg !== undefined ? { bytes: Number(bytesArg) } : {}), ...(url !== undefined ? { url } : {}) })
  process.stdout.write(JSON.stringify(result) + "\n")
}
