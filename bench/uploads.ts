// The uploads benchmark: a large local image given as an input is hosted with the providers'
// clients (fal's storage: initiate + a streamed PUT; Replicate's files API: a streamed multipart
// POST /files), over the library's HTTP client (`UndiciHttpClient.layer`), while this process's
// resident memory is sampled; the figure that matters is the peak RSS growth over the baseline
// (the issue asks < 64 MB for a 50 MiB file). The baseline beside it: curl sending the same file
// to the same emulator (`curl -T` to fal's upload URL, `curl -F content=@...` to Replicate).
//
//   node --import tsx bench/uploads.ts [bytes] [fal|replicate]
//
// One provider a run, in a fresh process: the first large upload of a process is the one whose
// chunks (garbage until the collector runs) weigh on RSS, and each provider is measured so. The
// emulators run in a child process (this script with `--serve`), so that the bytes they store
// are not counted. Prints one JSON line: { bytes, provider, seconds, mibPerSecond, rssBaselineMb,
// rssPeakMb, rssGrowthMb, samples, storedBytes, curl: { seconds, mibPerSecond, maxRssMb } |
// undefined }.
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { FileSource } from "../src/domain/Asset.js"
import * as UndiciHttpClient from "../src/http/UndiciHttpClient.js"
import type * as Uploads from "../src/jobs/Uploads.js"
import * as FalAiClient from "../src/providers/falai/FalAiClient.js"
import * as FalAiConfig from "../src/providers/falai/FalAiConfig.js"
import * as ReplicateClient from "../src/providers/replicate/ReplicateClient.js"
import * as ReplicateConfig from "../src/providers/replicate/ReplicateConfig.js"
import { makeFal, serve } from "../test/emulators/falai.js"
import { makeReplicate } from "../test/emulators/replicate.js"
import { measureRss } from "./support/Rss.js"

const falKey = "bench-fal-key"
const replicateToken = "r8_bench_token"

/** One measured upload. */
interface Run {
  readonly seconds: number
  readonly mibPerSecond: number
  readonly rssBaselineMb: number
  readonly rssPeakMb: number
  readonly rssGrowthMb: number
  readonly samples: number
  /** What the emulator holds for the uploaded URL (its size), to show the upload was whole. */
  readonly storedBytes: number
}

// The emulators, in this process, until it is told to stop.
const serveEmulators = () =>
  Effect.runFork(
    Effect.scoped(
      Effect.gen(function* () {
        const fal = yield* serve(makeFal({ key: falKey }))
        const replicate = yield* serve(makeReplicate({ token: replicateToken }))
        process.stdout.write(JSON.stringify({ fal: fal.baseUrl, replicate: replicate.baseUrl }) + "\n")
        return yield* Effect.never
      })
    )
  )

const startEmulators = (): Promise<{ readonly fal: string; readonly replicate: string; readonly stop: () => void }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--serve"], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    createInterface({ input: child.stdout }).once("line", (line) => {
      const urls = JSON.parse(line) as { fal: string; replicate: string }
      resolve({ ...urls, stop: () => child.kill("SIGTERM") })
    })
  })

const writeImage = (file: string, bytes: number) => {
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) % 251
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(chunk)
  const fd = fs.openSync(file, "w")
  for (let written = 0; written < bytes; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written))
  fs.closeSync(fd)
}

// One HTTP client for the whole run (the library's own), as a program holding a provider would.
const runtime = ManagedRuntime.make(UndiciHttpClient.layer)

const uploaders = async (falUrl: string, replicateUrl: string) => {
  const fal = await runtime.runPromise(
    Effect.flatMap(FalAiConfig.fromEnv(), FalAiClient.make).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["FALAI_API_KEY", falKey], ["FALAI_BASE_URL", falUrl]])))
    )
  )
  const replicate = await runtime.runPromise(
    Effect.flatMap(ReplicateConfig.fromEnv(), ReplicateClient.make).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REPLICATE_API_TOKEN", replicateToken], ["REPLICATE_BASE_URL", replicateUrl]])))
    )
  )
  return { fal: fal.upload, replicate: replicate.upload }
}

const uploadOf = (file: string): Uploads.Upload => ({
  source: new FileSource({ path: file }),
  size: fs.statSync(file).size,
  contentType: "image/png",
  filename: path.basename(file)
})

/** The size of what a stored file's URL serves (the body is read and dropped as it comes). */
const storedSize = async (url: string, headers: Record<string, string> = {}): Promise<number> => {
  const response = await fetch(url, { headers })
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) size += chunk.length
  return size
}

const measure = async (upload: Uploads.UploadFile, warm: string, big: string, served: (url: string) => Promise<number>): Promise<Run> => {
  await Effect.runPromise(upload(uploadOf(warm)))
  const { result: url, seconds, rssBaselineMb, rssPeakMb, rssGrowthMb, samples } = await measureRss(() => Effect.runPromise(upload(uploadOf(big))))
  const bytes = fs.statSync(big).size
  return {
    seconds: Math.round(seconds * 1000) / 1000,
    mibPerSecond: Math.round(bytes / (1024 * 1024) / seconds),
    rssBaselineMb,
    rssPeakMb,
    rssGrowthMb,
    samples,
    storedBytes: await served(url)
  }
}

// curl with its peak RSS (`/usr/bin/time -f %M`, in KB) when GNU time is there.
const curl = (args: ReadonlyArray<string>, bytes: number) => {
  const timed = fs.existsSync("/usr/bin/time")
  const [command, argv] = timed ? ["/usr/bin/time", ["-f", "%M", "curl", ...args]] : ["curl", [...args]]
  const started = process.hrtime.bigint()
  const run = spawnSync(command, argv as Array<string>, { encoding: "utf8" })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (run.status !== 0) throw new Error(`curl failed: ${run.stderr.slice(-500)}`)
  const kb = timed ? Number(run.stderr.trim().split("\n").pop()) : Number.NaN
  return { seconds: Math.round(seconds * 1000) / 1000, mibPerSecond: Math.round(bytes / (1024 * 1024) / seconds), maxRssMb: Number.isNaN(kb) ? undefined : Math.round(kb / 102.4) / 10 }
}

const curlBaseline = async (falUrl: string, replicateUrl: string, big: string, bytes: number) => {
  if (spawnSync("curl", ["--version"]).status !== 0) return undefined
  const initiated = (await (
    await fetch(`${falUrl}/storage/upload/initiate?storage_type=fal-cdn-v3`, {
      method: "POST",
      headers: { authorization: `Key ${falKey}`, "content-type": "application/json" },
      body: JSON.stringify({ content_type: "image/png", file_name: "curl.png" })
    })
  ).json()) as { upload_url: string }
  return {
    fal: curl(["-sS", "-f", "-o", "/dev/null", "-T", big, "-H", "content-type: image/png", initiated.upload_url], bytes),
    replicate: curl(
      ["-sS", "-f", "-o", "/dev/null", "-H", `authorization: Bearer ${replicateToken}`, "-F", `content=@${big};type=image/png;filename=curl.png`, `${replicateUrl}/files`],
      bytes
    )
  }
}

if (process.argv.includes("--serve")) {
  serveEmulators()
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = Number(process.argv[2] ?? 50 * 1024 * 1024)
  const provider = process.argv[3] === "replicate" ? "replicate" : "fal"
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-bench-uploads-"))
  const emulators = await startEmulators()
  try {
    const warm = path.join(dir, "warm.png")
    const big = path.join(dir, "big.png")
    writeImage(warm, 1024 * 1024)
    writeImage(big, bytes)
    const upload = await uploaders(emulators.fal, emulators.replicate)
    const run =
      provider === "fal"
        ? await measure(upload.fal, warm, big, (url) => storedSize(url))
        : await measure(upload.replicate, warm, big, (url) => storedSize(`${url}/download`, { authorization: `Bearer ${replicateToken}` }))
    const baseline = await curlBaseline(emulators.fal, emulators.replicate, big, bytes)
    process.stdout.write(JSON.stringify({ bytes, provider, ...run, curl: baseline?.[provider] }) + "\n")
  } finally {
    emulators.stop()
    await runtime.dispose()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
