// `npm run bench`: every benchmark of issue 7, side by side in one run, written to
// bench/RESULTS.md. Each figure is the median of repeated runs with min-max; ratios are against
// the baseline of each table. Nothing here is a fixed number: every figure comes from this run.
//
// Settings (environment): BENCH_REQUESTS (per client, concurrency and repeat; default 5000),
// BENCH_REPEATS (default 3), BENCH_COMPOSE_REPEATS (default 2), BENCH_DOWNLOAD_MB (default 1024),
// BENCH_COMPOSE_SINGLE_MAX (most scenes composed as one graph for comparison; default 50),
// BENCH_UPLOAD_MB (input upload size; default 50),
// BENCH_ONLY (comma list of sections: calls,fallback,startup,compose,download,discovery,durable,gateway,tracing,routing,uploads).
//
// Layout: the emulators run in their own processes (bench/server.mjs); when `taskset` exists the
// emulator is pinned to CPU 0 and the measured client to CPU 1, so they do not share a core or an
// event loop.
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "..")
const buildDir = path.join(here, ".build")
const env = (name, fallback) => (process.env[name] !== undefined && process.env[name] !== "" ? process.env[name] : fallback)
const requests = Number(env("BENCH_REQUESTS", "5000"))
const repeats = Number(env("BENCH_REPEATS", "3"))
const composeRepeats = Number(env("BENCH_COMPOSE_REPEATS", "2"))
const downloadMb = Number(env("BENCH_DOWNLOAD_MB", "1024"))
const uploadMb = Number(env("BENCH_UPLOAD_MB", "50"))
const only = env("BENCH_ONLY", "calls,fallback,startup,compose,download,discovery,durable,gateway,tracing,routing,uploads").split(",")
const warmup = Math.min(1000, Math.max(200, Math.round(requests / 10)))
const started = performance.now()
const log = (line) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)

const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0
const pinned = (cpu, command, args) => (hasTaskset && os.cpus().length >= 2 ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, args])

// ---------------------------------------------------------------------------------------------
// statistics and formatting
// ---------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
const fmt = (x, digits) => {
  if (x === undefined || Number.isNaN(x)) return "n/a"
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2)
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
}
/** "median (min-max)" of a list. */
const spread = (xs, digits) => (xs.length === 0 ? "n/a" : `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`)
const ratio = (x, base) => (x === undefined || base === undefined || base === 0 ? "n/a" : `${(x / base).toFixed(2)}×`)

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------
/** Start an emulator process; resolves with its first stdout line (JSON) and the child. */
const startServer = (role) =>
  new Promise((resolve, reject) => {
    const [command, args] = pinned(0, process.execPath, [path.join(here, "server.mjs"), "--role", role])
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] })
    let buffered = ""
    child.stdout.on("data", (chunk) => {
      buffered += chunk
      const line = buffered.split("\n")[0]
      if (buffered.includes("\n")) resolve({ child, info: JSON.parse(line) })
    })
    child.on("exit", (code) => reject(new Error(`emulator ${role} exited with ${code}`)))
  })

const stop = (child) => {
  child.removeAllListeners("exit")
  child.kill("SIGTERM")
}

/** Run a node script (pinned to CPU 1) and parse its last stdout line as JSON. */
const runJson = (script, args, options = {}) => {
  const [command, argv] = pinned(1, process.execPath, [script, ...args])
  const run = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 64 << 20, timeout: options.timeout ?? 600_000, env: { ...process.env, ...options.env } })
  if (run.status !== 0) throw new Error(`${path.basename(script)} ${args.join(" ")} failed (${run.status ?? run.signal}): ${run.stderr.slice(-2000)}`)
  const lines = run.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1])
}

const wallMs = (command, args, options = {}) => {
  const start = process.hrtime.bigint()
  const run = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", ...options })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${run.status}): ${run.stderr?.slice(-1000)}`)
  return ms
}

const machine = () => {
  const cpus = os.cpus()
  let distro = `${os.type()} ${os.release()}`
  try {
    const release = readFileSync("/etc/os-release", "utf8")
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)
    if (pretty) distro = `${pretty[1]} (kernel ${os.release()})`
  } catch {}
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: distro,
    load: os.loadavg().map((x) => x.toFixed(2)).join(", ")
  }
}

// ---------------------------------------------------------------------------------------------
// build: the CLI bundle and the benchmark programs (TypeScript bundled once, run as plain ESM)
// ---------------------------------------------------------------------------------------------
const build = async () => {
  mkdirSync(buildDir, { recursive: true })
  const { build: buildCli } = await import(path.join(root, "scripts", "build.mjs"))
  await buildCli()
  const esbuild = await import("esbuild")
  const entries = ["chat.ts", "fallback.ts", "compose.ts", "discovery.ts", "durable.ts", "gateway.ts", "tracing.ts", "routing.ts"].map((f) => path.join(here, f)).filter((f) => existsSync(f))
  await esbuild.build({
    entryPoints: entries,
    outdir: buildDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning"
  })
}

// ---------------------------------------------------------------------------------------------
// 1. per-call overhead
// ---------------------------------------------------------------------------------------------
const clients = [
  ["undici", "(a) raw undici Pool `request()`"],
  ["transform", "(b) automarket provider `transform` (text-to-text)"],
  ["registry", "(c) automarket `ProviderRegistry.generate`, fallback configured"],
  ["openai", "(d) openai SDK"],
  ["ai", "(e) Vercel AI SDK `generateText`"]
]
const concurrencies = [1, 64]

const calls = async () => {
  const { child, info } = await startServer("chat")
  const baseUrl = `http://127.0.0.1:${info.port}/v1`
  const results = {}
  try {
    for (let r = 0; r < repeats; r++) {
      // Round-robin, so that a noisy moment hits every client alike.
      for (const c of concurrencies) {
        for (const [client] of clients) {
          log(`calls: repeat ${r + 1}/${repeats}, ${client}, concurrency ${c}`)
          const result = runJson(path.join(buildDir, "chat.mjs"), [client, String(c), String(requests), String(warmup), baseUrl])
          ;(results[`${client}/${c}`] ??= []).push(result)
        }
      }
    }
  } finally {
    stop(child)
  }
  return results
}

const callsSection = (results) => {
  const rps = (client, c) => (results[`${client}/${c}`] ?? []).map((x) => x.rps)
  const field = (client, c, name) => (results[`${client}/${c}`] ?? []).map((x) => x[name])
  const cpuPerK = (client, c) => (results[`${client}/${c}`] ?? []).map((x) => (x.cpuMs / x.requests) * 1000)
  const lines = []
  lines.push(`## 1. Per-call overhead\n`)
  lines.push(
    `${fmt(requests, 0)} chat completions per client, concurrency and repeat (after ${fmt(warmup, 0)} unmeasured), ${repeats} repeats, against one node:http emulator in its own process (fixed ~600-byte answer, no delay)${hasTaskset ? "; emulator pinned to CPU 0, client to CPU 1" : ""}. Latency in ms. "CPU/1k": the client process's user+system CPU per 1,000 calls. Ratios: median req/s over raw undici's median.\n`
  )
  for (const c of concurrencies) {
    lines.push(`### concurrency ${c}\n`)
    lines.push(`| client | req/s | × raw undici | p50 ms | p99 ms | CPU/1k ms |`)
    lines.push(`|---|---|---|---|---|---|`)
    const base = median(rps("undici", c))
    for (const [client, label] of clients) {
      const xs = rps(client, c)
      lines.push(
        `| ${label} | ${spread(xs, 0)} | ${ratio(median(xs), base)} | ${spread(field(client, c, "p50"), 2)} | ${spread(field(client, c, "p99"), 2)} | ${spread(cpuPerK(client, c), 0)} |`
      )
    }
    lines.push("")
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 6. fallback
// ---------------------------------------------------------------------------------------------
const fallback = async () => {
  const { child, info } = await startServer("fallback")
  const [first, second] = info.ports
  try {
    const all = []
    for (let r = 0; r < repeats; r++) {
      log(`fallback: repeat ${r + 1}/${repeats}`)
      const result = runJson(path.join(buildDir, "fallback.mjs"), [
        "100",
        `http://127.0.0.1:${first}/v1`,
        `http://127.0.0.1:${second}/v1`,
        `http://127.0.0.1:${first}/gaps`
      ])
      all.push(result.gaps)
    }
    return all
  } finally {
    stop(child)
  }
}

const fallbackSection = (runs) => {
  const medians = runs.map(median)
  const p99s = runs.map((gaps) => [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length * 0.99)])
  const mins = runs.map((gaps) => Math.min(...gaps))
  return [
    `## 6. Fallback\n`,
    `Time from the end of the first provider's 402 (quota) answer to the arrival of the second provider's request, both measured in the emulator process (two loopback servers); ${runs[0]?.length ?? 0} calls a repeat, ${runs.length} repeats, fresh providers each call (a retired key would otherwise skip the network).\n`,
    `| | median of a repeat | p99 of a repeat | fastest |`,
    `|---|---|---|---|`,
    `| QuotaExceeded → next provider's request, ms | ${spread(medians, 2)} | ${spread(p99s, 2)} | ${spread(mins, 2)} |`,
    ``
  ].join("\n")
}

// ---------------------------------------------------------------------------------------------
// 5. start-up
// ---------------------------------------------------------------------------------------------
const startup = () => {
  const bin = path.join(root, "bin", "automarket.mjs")
  const runs = 10
  const noCaches = { ...process.env, AUTOMARKET_CODE_CACHE: "0" }
  const cases = [
    ["`node -e 0`", process.execPath, ["-e", "0"]],
    ["`automarket --help` (printed page cached)", process.execPath, [bin, "--help"]],
    ["`automarket providers --help` (printed page cached)", process.execPath, [bin, "providers", "--help"]],
    ["`automarket --help`, caches off (`AUTOMARKET_CODE_CACHE=0`: bundle compiled and run)", process.execPath, [bin, "--help"], { env: noCaches }],
    ["`automarket providers --json` (code cache)", process.execPath, [bin, "providers", "--json"]],
    ["`automarket providers --json`, caches off", process.execPath, [bin, "providers", "--json"], { env: noCaches }],
    ["`automarket models --json` (warm catalog, code cache)", process.execPath, [bin, "models", "--json"]]
  ]
  const results = []
  for (const [label, command, args, options = {}] of cases) {
    log(`startup: ${label}`)
    try {
      // warm: the bundle is built, its code cache and printed pages written, the catalog cached, the files in the page cache
      wallMs(command, args, { timeout: 120_000, ...options })
      const times = Array.from({ length: runs }, () => wallMs(command, args, { timeout: 120_000, ...options }))
      results.push({ label, times })
    } catch (error) {
      results.push({ label, error: String(error.message ?? error).split("\n")[0] })
    }
  }
  return results
}

const startupSection = (results) => {
  const base = results[0]?.times !== undefined ? median(results[0].times) : undefined
  const lines = [
    `## 5. Start-up\n`,
    `Wall time of the whole command, 10 runs after one warm-up run. bin/automarket.mjs checks the source mtimes (in a clone), then either prints a page it printed before for the same arguments and styling (\`--help\`, \`--version\`, \`--completions\`), or compiles the esbuild bundle dist/cli-bundle/automarket.cjs with V8's code cache of it (both caches written by the first run, next to the bundle). "Caches off" compiles and runs the bundle every time. Goal: \`automarket --help\` ≤ 2× \`node -e 0\`.\n`,
    `| command | wall ms | × \`node -e 0\` | over \`node -e 0\`, ms |`,
    `|---|---|---|---|`
  ]
  for (const r of results) {
    if (r.error !== undefined) lines.push(`| ${r.label} | not measured: ${r.error.replace(/\|/g, "\\|")} | | |`)
    else lines.push(`| ${r.label} | ${spread(r.times, 0)} | ${ratio(median(r.times), base)} | ${fmt(median(r.times) - base, 0)} |`)
  }
  lines.push("")
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 4. composition
// ---------------------------------------------------------------------------------------------
const compose = () => {
  if (spawnSync("ffmpeg", ["-version"]).status !== 0) return { error: "ffmpeg not installed" }
  log(`compose: ${composeRepeats} repeats of service vs direct (4 clips, 720p, 10 s), then 10/50/100 scenes as one graph and as segments`)
  try {
    return runJson(path.join(buildDir, "compose.mjs"), [String(composeRepeats), path.join(buildDir, "compose")], { timeout: 900_000 })
  } catch (error) {
    return { error: String(error.message ?? error).split("\n")[0] }
  }
}

const composeSection = (r) => {
  const lines = [`## 4. Composition\n`]
  if (r.error !== undefined) return lines.concat([`Not measured: ${r.error}\n`]).join("\n")
  lines.push(
    `4 clips (1280×720, 30 fps, 10 s, h264+aac) concatenated to one 720p mp4. Service: \`automarket serve ffmpeg\` in its own process, called through the provider's typed client (upload of the clips, probe, ffmpeg, download of the result). Direct: the same ffmpeg arguments (${r.args} of them, from the service's FilterGraph.compositionPlan) run by hand. ${r.service.length} repeats each, alternating which goes first. Goal: ≤ 1.1×.\n`
  )
  lines.push(`| | seconds | × direct |`, `|---|---|---|`)
  lines.push(`| ffmpeg run directly | ${spread(r.direct, 2)} | 1.00× |`)
  lines.push(`| FFmpeg service (upload + compose + download) | ${spread(r.service, 2)} | ${ratio(median(r.service), median(r.direct))} |`)
  lines.push("")
  if (r.scenes !== undefined) {
    lines.push(
      `### Long compositions: one graph vs segments\n`,
      `Scenes of 2 s (640×360, 30 fps, h264+aac, 10 different ones in turn), cross-faded 0.5 s, the clips' own sound, one 360p mp4. One graph: every clip in one ffmpeg filter graph (the plan up to ${r.maxClipsPerGraph} clips). Segments: the default plan above ${r.maxClipsPerGraph} clips: runs of at most ${r.maxClipsPerGraph} clips rendered one after another (each a video run and a run for the clips' sound), then joined without re-encoding the video while the sound is mixed over the whole timeline and encoded once. Each plan's ffmpeg runs made directly, once; wall: the whole plan; peak RSS: the largest of its ffmpeg runs (\`/usr/bin/time\`, the runs do not overlap). Goal: flat memory (< 300 MB at 100 scenes), time linear.\n`,
      `| scenes (video length) | one graph: wall s | one graph: peak RSS MB | segments: wall s | segments: peak RSS MB | segmented runs | wall × one graph |`,
      `|---|---|---|---|---|---|---|`
    )
    const cell = (m, key, digits) => (m.error !== undefined ? `${m.error.startsWith("not run") ? "" : "failed: "}${m.error.replace(/\|/g, "\\|").slice(0, 80)}` : fmt(m[key], digits))
    for (const row of r.scenes) {
      const both = row.single.error === undefined && row.segmented.error === undefined
      lines.push(
        `| ${row.scenes} (${fmt(row.seconds, 1)} s) | ${cell(row.single, "wall", 1)} | ${cell(row.single, "rssMb", 0)} | ${cell(row.segmented, "wall", 1)} | ${cell(row.segmented, "rssMb", 0)} | ${row.segmented.runs ?? "n/a"} | ${both ? ratio(row.segmented.wall, row.single.wall) : "n/a"} |`
      )
    }
    lines.push("")
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 3. downloads
// ---------------------------------------------------------------------------------------------
const downloadHelpers = () => ["download.mjs", "download.ts", "download.sh"].map((f) => path.join(here, f)).filter((f) => existsSync(f))

const download = async () => {
  const hasCurl = spawnSync("curl", ["--version"]).status === 0
  const { child, info } = await startServer("download")
  const bytes = downloadMb * 2 ** 20
  const url = `http://127.0.0.1:${info.port}/bytes/${bytes}`
  const dest = path.join(buildDir, "download.bin")
  const result = { bytes, curl: [], automarket: undefined, helper: downloadHelpers()[0] }
  try {
    for (let r = 0; r < repeats && hasCurl; r++) {
      log(`download: curl ${r + 1}/${repeats}`)
      const ms = wallMs(...pinned(1, "curl", ["-sS", "-o", dest, url]))
      if (statSync(dest).size !== bytes) throw new Error("curl wrote a short file")
      result.curl.push(bytes / 2 ** 20 / (ms / 1000))
    }
    if (result.helper !== undefined) {
      // The helper of src/runtime/Download.ts's author: `[bytes] [url]` -> one JSON line with
      // { bytes, seconds, mibPerSecond, rssGrowthMb, ... } (see the helper itself).
      const runs = []
      for (let r = 0; r < repeats; r++) {
        log(`download: automarket ${r + 1}/${repeats}`)
        const helper = result.helper
        const script = helper.endsWith(".ts") ? [process.execPath, ["--import", "tsx", helper]] : helper.endsWith(".sh") ? ["bash", [helper]] : [process.execPath, [helper]]
        const [command, args] = pinned(1, script[0], [...script[1], String(bytes), url])
        const run = spawnSync(command, args, { encoding: "utf8", timeout: 600_000 })
        if (run.status !== 0) throw new Error(`${path.basename(helper)} failed: ${run.stderr.slice(-500)}`)
        const lines = run.stdout.trim().split("\n")
        runs.push(JSON.parse(lines[lines.length - 1]))
      }
      result.automarket = runs
    }
  } catch (error) {
    result.error = String(error.message ?? error).split("\n")[0]
  } finally {
    stop(child)
    rmSync(dest, { force: true })
  }
  return result
}

const downloadSection = (r) => {
  const lines = [
    `## 3. Downloads\n`,
    `${fmt(r.bytes / 2 ** 20, 0)} MiB streamed from a loopback emulator to a file on disk, ${repeats} repeats. Goal: ≥ 0.8× curl, RSS growth < 64 MB.\n`,
    `| | MiB/s | × curl | peak RSS growth |`,
    `|---|---|---|---|`,
    `| \`curl -o\` | ${spread(r.curl, 0)} | 1.00× | |`
  ]
  if (r.automarket !== undefined) {
    const mibs = r.automarket.map((x) => x.bytes / 2 ** 20 / x.seconds)
    const rss = r.automarket.map((x) => x.rssGrowthMb)
    lines.push(`| automarket \`Download\` (${path.basename(r.helper)}) | ${spread(mibs, 0)} | ${ratio(median(mibs), median(r.curl))} | ${spread(rss, 1)} MB |`)
  } else {
    lines.push(`| automarket \`Download\` | not measured | | |`)
    if (r.helper === undefined) lines.push(``, `Not measured: src/runtime/Download.ts and its bench/download.* helper do not exist yet in this tree; run.mjs calls the helper as soon as it appears.`)
  }
  if (r.error !== undefined) lines.push(``, `Error: ${r.error}`)
  lines.push("")
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 2. discovery
// ---------------------------------------------------------------------------------------------
const discovery = () => {
  const script = path.join(buildDir, "discovery.mjs")
  if (!existsSync(script)) return { error: "bench/discovery.ts not present" }
  log(`discovery: ${repeats} repeats`)
  try {
    return runJson(script, [String(repeats)], { timeout: 300_000 })
  } catch (error) {
    return { error: String(error.message ?? error).split("\n")[0] }
  }
}

const discoverySection = (r) => {
  const lines = [`## 2. Discovery\n`]
  if (r.error !== undefined) {
    lines.push(`Not measured: ${r.error}. (The catalog, src/runtime/Catalog.ts, and the remote providers' discovery were being written while this benchmark was.)\n`)
    return lines.join("\n")
  }
  lines.push(r.description ?? "", "")
  lines.push(`| | ms | |`, `|---|---|---|`)
  lines.push(`| cold (network, ${r.models} models from ${r.providers} emulated providers) | ${spread(r.cold, 1)} | slowest provider alone: ${spread(r.slowest, 1)} ms |`)
  lines.push(`| warm (cache) | ${spread(r.warm, 2)} | goal < 10 ms |`)
  lines.push("")
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 7. durable generations
// ---------------------------------------------------------------------------------------------
/** Run a node script unpinned (it starts worker processes of its own) and parse its last stdout line. */
const runJsonFree = (script, args) => {
  const run = spawnSync(process.execPath, [script, ...args], { encoding: "utf8", maxBuffer: 64 << 20, timeout: 900_000 })
  if (run.status !== 0) throw new Error(`${path.basename(script)} ${args.join(" ")} failed (${run.status ?? run.signal}): ${run.stderr.slice(-2000)}`)
  const lines = run.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1])
}

const durable = async () => {
  const script = path.join(buildDir, "durable.mjs")
  const server = spawn(process.execPath, [script, "postgres"], { stdio: ["pipe", "pipe", "inherit"] })
  const url = await new Promise((resolve, reject) => {
    let buffered = ""
    server.stdout.on("data", (chunk) => {
      buffered += chunk
      if (buffered.includes("\n")) resolve(JSON.parse(buffered.split("\n")[0]).url)
    })
    server.once("exit", (code) => reject(new Error(`postgres exited with ${code}`)))
  })
  try {
    const latency = {}
    for (const backend of ["none", "sqlite", "pg"]) {
      latency[backend] = []
      for (let r = 0; r < repeats; r++) {
        log(`durable: latency ${backend}, repeat ${r + 1}/${repeats}`)
        latency[backend].push(runJsonFree(script, ["latency", "100", backend, url]))
      }
    }
    const throughput = {}
    for (const workers of ["0", "1", "3"]) {
      throughput[workers] = []
      for (let r = 0; r < repeats; r++) {
        log(`durable: throughput with ${workers} workers, repeat ${r + 1}/${repeats}`)
        throughput[workers].push(runJsonFree(script, ["throughput", "200", workers, url]))
      }
    }
    return { latency, throughput }
  } finally {
    server.removeAllListeners("exit")
    server.stdin.end()
    await new Promise((resolve) => server.once("exit", resolve))
  }
}

const durableSection = ({ latency, throughput }) => {
  const per = (backend) => latency[backend].map((run) => median(run.perGeneration))
  const base = median(per("none"))
  const rows = ["none", "sqlite", "pg"].map((backend) => {
    const medians = per(backend)
    const journal = median(latency[backend].map((run) => run.journalRows))
    const label = { none: "provider directly (no durability)", sqlite: "durable, embedded SQLite", pg: "durable, Postgres (runner in-process)" }[backend]
    const windows = latency[backend].flatMap((run) => run.windows)
    const p99 = windows.length > 0 ? [...windows].sort((a, b) => a - b)[Math.floor(windows.length * 0.99)] : undefined
    return `| ${label} | ${spread(medians, 2)} | ${backend === "none" ? "–" : fmt(median(medians) - base, 2)} | ${ratio(median(medians), base)} | ${backend === "none" ? "–" : fmt(journal, 1)} | ${windows.length > 0 ? `${fmt(median(windows), 0)} / ${fmt(p99, 0)}` : "–"} |`
  })
  const tput = ["0", "1", "3"].map((workers) => {
    const rates = throughput[workers].map((run) => run.perSecond)
    const label = workers === "0" ? "provider directly, 64 at a time (no durability)" : `${workers} \`automarket worker\` on Postgres`
    return `| ${label} | ${spread(rates, 1)} | ${ratio(median(rates), median(throughput["0"].map((run) => run.perSecond)))} |`
  })
  return [
    `## 7. Durable generations\n`,
    `Instant jobs on the fal emulator (complete at the first status poll, 4 KiB result), served by the measuring process on loopback. Latency: 100 generations one after another (after 20 warm-up), median per generation of each repeat; the difference to the direct call is what the journal costs. Journal rows: rows the engine (messages, replies) and the store (generation, events) hold per generation. Submit window: from the intent written to the provider's ticket written (the one window where a crash can leave a job paid and unknown), whole milliseconds.\n`,
    `| per generation | ms (median of repeats) | + ms over direct | × direct | journal rows | submit window ms, median / p99 |`,
    `|---|---|---|---|---|---|`,
    ...rows,
    ``,
    `Throughput: 200 generations started at once (the durable ones by a client process through Postgres), until all succeeded; workers' start-up not counted.\n`,
    `| through | generations/s | × direct |`,
    `|---|---|---|`,
    ...tput,
    ``
  ].join("\n")
}

// ---------------------------------------------------------------------------------------------
// 8. gateway
// ---------------------------------------------------------------------------------------------
/** The gateway (bench/gateway.ts serve) in its own process on CPU 0, beside the emulator; resolves with { child, port, secret }. */
const startGateway = (upstream) =>
  new Promise((resolve, reject) => {
    const [command, args] = pinned(0, process.execPath, [path.join(buildDir, "gateway.mjs"), "serve", upstream])
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] })
    let buffered = ""
    child.stdout.on("data", (chunk) => {
      buffered += chunk
      if (buffered.includes("\n")) resolve({ child, ...JSON.parse(buffered.split("\n")[0]) })
    })
    child.on("exit", (code) => reject(new Error(`gateway exited with ${code}`)))
  })

const gatewayTargets = [
  ["direct", "straight to the emulator (raw undici, as section 1's (a))"],
  ["gateway", "through the gateway (`POST /v1/chat/completions`, key checked, rate-limited)"]
]

const gateway = async () => {
  const { child: emulator, info } = await startServer("chat")
  const upstream = `http://127.0.0.1:${info.port}/v1`
  let served
  try {
    served = await startGateway(upstream)
    const urls = { direct: upstream, gateway: `http://127.0.0.1:${served.port}/v1` }
    const results = {}
    for (let r = 0; r < repeats; r++) {
      // Alternating, so that a noisy moment hits both alike.
      for (const c of concurrencies) {
        for (const [target] of gatewayTargets) {
          log(`gateway: repeat ${r + 1}/${repeats}, ${target}, concurrency ${c}`)
          const result = runJson(path.join(buildDir, "gateway.mjs"), ["load", target, urls[target], String(c), String(requests), String(warmup)], {
            env: { BENCH_GATEWAY_KEY: served.secret }
          })
          ;(results[`${target}/${c}`] ??= []).push(result)
        }
      }
    }
    return results
  } finally {
    stop(emulator)
    if (served !== undefined) {
      served.child.removeAllListeners("exit")
      served.child.stdin.end()
      await new Promise((resolve) => served.child.once("exit", resolve))
    }
  }
}

const gatewaySection = (results) => {
  const field = (target, c, name) => (results[`${target}/${c}`] ?? []).map((x) => x[name])
  const cpuPerK = (target, c) => (results[`${target}/${c}`] ?? []).map((x) => (x.cpuMs / x.requests) * 1000)
  // Added latency: the difference of the medians (of repeats).
  const added = (c, name) => fmt(median(field("gateway", c, name)) - median(field("direct", c, name)), 2)
  const lines = [
    `## 8. Gateway
`,
    `What the gateway adds to a chat completion: ${fmt(requests, 0)} \`POST /v1/chat/completions\` per target, concurrency and repeat (after ${fmt(warmup, 0)} unmeasured), ${repeats} repeats, alternating, sent with undici straight to the chat emulator of section 1 and through an automarket gateway in front of it. The gateway runs in its own process, built as \`automarket serve gateway\` builds it on the embedded SQLite file (\`Gateway.layer\` over durable generations and \`Access.layerKeys\`: the bearer key looked up, cached 1 s, a token bucket per key with a limit far above what is sent, no spend limit), its registry holding one provider (Together, pointed at the emulator, its model list in an in-memory catalog as \`serve gateway\` has one; the request names \`together/bench/echo-small\`)${hasTaskset ? "; emulator and gateway pinned to CPU 0, client to CPU 1" : ""}. Latency in ms, as the client sees it. "Added by the gateway": the gateway's median minus the direct median, of p50 and of p99.
`
  ]
  for (const c of concurrencies) {
    lines.push(`### concurrency ${c}
`)
    lines.push(`| target | req/s | × direct | p50 ms | p99 ms | client CPU/1k ms |`)
    lines.push(`|---|---|---|---|---|---|`)
    const base = median(field("direct", c, "rps"))
    for (const [target, label] of gatewayTargets) {
      const rps = field(target, c, "rps")
      lines.push(
        `| ${label} | ${spread(rps, 0)} | ${ratio(median(rps), base)} | ${spread(field(target, c, "p50"), 2)} | ${spread(field(target, c, "p99"), 2)} | ${spread(cpuPerK(target, c), 0)} |`
      )
    }
    lines.push(`| added by the gateway | | | +${added(c, "p50")} | +${added(c, "p99")} | |`)
    lines.push("")
  }
  lines.push(
    `Anchor: LiteLLM publishes its proxy's overhead as **3.25 ms** of added latency over calling the OpenAI API directly (https://docs.litellm.ai/docs/proxy/perf), and, measured against a fake OpenAI endpoint on 4-CPU machines, a "LiteLLM Overhead Duration" of 12 ms median / 43 ms p99 at about 1,036 req/s with 2 instances and 2 ms / 13 ms at about 1,170 req/s with 4 instances (https://docs.litellm.ai/docs/benchmarks). Those are their machines and their load; the figures above are this machine's, with the upstream on loopback answering at once.
`
  )
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------
log(`building the CLI bundle and the benchmark programs`)
await build()
// ---------------------------------------------------------------------------------------------
// 9. tracing
// ---------------------------------------------------------------------------------------------
const tracingModes = [
  ["off", "tracer off (`Layer.setTracerEnabled(false)`, as without OTEL_EXPORTER_OTLP_ENDPOINT)"],
  ["on", "tracer on (OpenTelemetry SDK, in-memory exporter, every span kept)"]
]

const tracing = async () => {
  const { child, info } = await startServer("chat")
  const baseUrl = `http://127.0.0.1:${info.port}/v1`
  const results = {}
  try {
    for (let r = 0; r < repeats; r++) {
      // Alternating, so that a noisy moment hits both alike.
      for (const [mode] of tracingModes) {
        log(`tracing: repeat ${r + 1}/${repeats}, ${mode}`)
        ;(results[mode] ??= []).push(runJson(path.join(buildDir, "tracing.mjs"), [mode, String(requests), String(warmup), baseUrl]))
      }
    }
  } finally {
    stop(child)
  }
  return results
}

const tracingSection = (results) => {
  const field = (mode, name) => (results[mode] ?? []).map((x) => x[name])
  const lines = []
  lines.push(`## 9. Tracing\n`)
  lines.push(
    `What the spans cost a registry call: ${fmt(requests, 0)} \`ProviderRegistry.generate\` calls (text-to-text, fallback configured, one at a time, after ${fmt(warmup, 0)} unmeasured) per mode and repeat, ${repeats} repeats, alternating, against the chat emulator of section 1${hasTaskset ? "; emulator pinned to CPU 0, client to CPU 1" : ""}. Each call makes an \`automarket.generate\`, an \`automarket.attempt\` and an \`automarket.http\` span. Ratios: median over the tracer-off median.\n`
  )
  lines.push(`| mode | µs per call | × off | CPU µs per call | × off | spans per call |`)
  lines.push(`|---|---|---|---|---|---|`)
  const base = median(field("off", "usPerCall"))
  const cpuBase = median(field("off", "cpuUsPerCall"))
  for (const [mode, label] of tracingModes) {
    const us = field(mode, "usPerCall")
    const cpu = field(mode, "cpuUsPerCall")
    lines.push(`| ${label} | ${spread(us, 0)} | ${ratio(median(us), base)} | ${spread(cpu, 0)} | ${ratio(median(cpu), cpuBase)} | ${fmt(median(field(mode, "spansPerCall")), 1)} |`)
  }
  lines.push("")
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 10. routing as the catalog grows
// ---------------------------------------------------------------------------------------------
const routingSizes = [2_000, 20_000, 200_000]

const routing = () => {
  const results = {}
  for (let r = 0; r < repeats; r++) {
    // Alternating sizes, so that a noisy moment hits each alike.
    for (const size of routingSizes) {
      log(`routing: repeat ${r + 1}/${repeats}, ${size} models`)
      ;(results[size] ??= []).push(runJson(path.join(buildDir, "routing.mjs"), [String(size), String(requests * 4), String(warmup * 4)]))
    }
  }
  return results
}

const routingSection = (results) => {
  const lines = [`## 10. Routing as the catalog grows
`]
  lines.push(
    `One provider (the real \`Provider.make\`) whose discovery lists N synthetic text-to-image models at assorted prices (a seventh free), its transform answering at once in-process: all that differs between the two columns is the registry's work (candidates, ranking, availability, the fallback plan, the spending check). ${fmt(requests * 4, 0)} calls per size and repeat, one at a time, after ${fmt(warmup * 4, 0)} unmeasured, ${repeats} repeats, sizes alternating. "Routing" is the registry's median minus the direct median. Goal: flat, the per-call routing cost within 10 % from 2k to 200k models.\n`
  )
  lines.push(`| models | \`registry.generate\` µs per call | \`transform\` direct µs per call | routing µs per call | × at 2k |`)
  lines.push(`|---|---|---|---|---|`)
  const routingOf = (size) => median(results[size].map((x) => x.registryUs)) - median(results[size].map((x) => x.directUs))
  const base = routingOf(routingSizes[0])
  for (const size of routingSizes) {
    const rows = results[size]
    lines.push(`| ${fmt(size, 0)} | ${spread(rows.map((x) => x.registryUs), 1)} | ${spread(rows.map((x) => x.directUs), 1)} | ${fmt(routingOf(size), 1)} | ${ratio(routingOf(size), base)} |`)
  }
  lines.push("")
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// 11. input uploads
// ---------------------------------------------------------------------------------------------
/**
 * bench/uploads.ts once a provider and repeat, each in a fresh process (pinned to CPU 1; the
 * emulators it starts run in their own child): the library's upload of a large local image and
 * curl sending the same file to the same emulator.
 */
const uploads = () => {
  const script = path.join(here, "uploads.ts")
  const bytes = uploadMb * 2 ** 20
  const result = { bytes, fal: [], replicate: [] }
  try {
    for (let r = 0; r < repeats; r++) {
      for (const provider of ["fal", "replicate"]) {
        log(`uploads: ${provider} ${r + 1}/${repeats}`)
        const [command, args] = pinned(1, process.execPath, ["--import", "tsx", script, String(bytes), provider])
        const run = spawnSync(command, args, { encoding: "utf8", timeout: 600_000, cwd: root })
        if (run.status !== 0) throw new Error(`uploads.ts ${provider} failed: ${run.stderr.slice(-500)}`)
        const lines = run.stdout.trim().split("\n")
        const measured = JSON.parse(lines[lines.length - 1])
        if (measured.storedBytes !== bytes) throw new Error(`${provider}: the emulator stored ${measured.storedBytes} bytes, expected ${bytes}`)
        result[provider].push(measured)
      }
    }
  } catch (error) {
    result.error = String(error.message ?? error).split("\n")[0]
  }
  return result
}

const uploadsSection = (r) => {
  const lines = [
    `## 11. Input uploads\n`,
    `A ${fmt(r.bytes / 2 ** 20, 0)} MiB local image given as an input, hosted with the providers' clients over the library's HTTP client: fal (initiate, then a streamed PUT to the upload URL) and Replicate (a streamed multipart \`POST /files\`), each against its emulator on loopback (its own process), each run in a fresh process, ${repeats} repeats. Baseline: curl sending the same file to the same emulator (\`curl -T\` to fal's upload URL, \`curl -F content=@...\` to Replicate). RSS growth is the client's peak over its baseline after a 1 MiB warm-up; it counts read chunks not yet collected, not the file held whole. Goal: RSS growth < 64 MB.\n`,
    `| | MiB/s | × curl | peak RSS growth | curl MiB/s | curl max RSS |`,
    `|---|---|---|---|---|---|`
  ]
  for (const [name, runs] of [["fal storage", r.fal], ["Replicate files", r.replicate]]) {
    const mibs = runs.map((x) => x.mibPerSecond)
    const curlMibs = runs.flatMap((x) => (x.curl !== undefined ? [x.curl.mibPerSecond] : []))
    const curlRss = runs.flatMap((x) => (x.curl?.maxRssMb !== undefined ? [x.curl.maxRssMb] : []))
    lines.push(
      `| ${name} | ${spread(mibs, 0)} | ${ratio(median(mibs), curlMibs.length > 0 ? median(curlMibs) : undefined)} | ${spread(runs.map((x) => x.rssGrowthMb), 1)} MB | ${spread(curlMibs, 0)} | ${spread(curlRss, 1)} MB |`
    )
  }
  if (r.error !== undefined) lines.push(``, `Error: ${r.error}`)
  lines.push("")
  return lines.join("\n")
}

const sections = {}
const date = new Date()
const at = machine()
if (only.includes("calls")) sections.calls = callsSection(await calls())
if (only.includes("discovery")) sections.discovery = discoverySection(discovery())
if (only.includes("download")) sections.download = downloadSection(await download())
if (only.includes("compose")) sections.compose = composeSection(compose())
if (only.includes("startup")) sections.startup = startupSection(startup())
if (only.includes("fallback")) sections.fallback = fallbackSection(await fallback())
if (only.includes("durable")) sections.durable = durableSection(await durable())
if (only.includes("gateway")) sections.gateway = gatewaySection(await gateway())
if (only.includes("tracing")) sections.tracing = tracingSection(await tracing())
if (only.includes("routing")) sections.routing = routingSection(routing())
if (only.includes("uploads")) sections.uploads = uploadsSection(uploads())

const total = (performance.now() - started) / 1000
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return "unknown"
  }
})()
const report = [
  `# Benchmarks\n`,
  `Written by \`npm run bench\` (bench/run.mjs) on ${date.toISOString()}, in ${fmt(total, 0)} s. Every figure is the median of the repeats, with min–max in parentheses; nothing here is typed in by hand.\n`,
  `| machine | |`,
  `|---|---|`,
  `| CPU | ${at.cpu} |`,
  `| cores | ${at.cores} |`,
  `| memory | ${at.memory} |`,
  `| Node | ${at.node} |`,
  `| OS | ${at.os} |`,
  `| load average at start (1, 5, 15 min) | ${at.load} |`,
  `| commit | ${commit} (working tree may differ) |`,
  ``,
  `Settings: BENCH_REQUESTS=${requests}, BENCH_REPEATS=${repeats}, BENCH_COMPOSE_REPEATS=${composeRepeats}, BENCH_DOWNLOAD_MB=${downloadMb}, BENCH_UPLOAD_MB=${uploadMb}.\n`,
  ...["calls", "discovery", "download", "compose", "startup", "fallback", "durable", "gateway", "tracing", "routing", "uploads"].filter((k) => sections[k] !== undefined).map((k) => sections[k])
].join("\n")
writeFileSync(path.join(here, "RESULTS.md"), report)
log(`wrote bench/RESULTS.md`)
