// Composition: 4 clips of 720p, 10 s (made once with ffmpeg's test sources) concatenated by the
// FFmpeg service (`automarket serve ffmpeg`, a separate process, through the provider's typed
// client: upload, probe, ffmpeg, download of the result) vs the same ffmpeg command run directly
// (the argument list the service's FilterGraph makes for that composition).
//
// Then long compositions: 10, 50 and 100 scenes (2 s clips of 640x360, cross-faded 0.5 s, the
// clips' own sound), planned as one filter graph and as segments (FilterGraph's default above
// `maxClipsPerGraph` clips), each plan's ffmpeg runs made directly one after another under
// `/usr/bin/time`: the wall time of the whole plan and the peak RSS of its largest ffmpeg run
// (the runs do not overlap, so that is the most memory the plan needs at once). Prints one JSON
// line: { service: [s, ...], direct: [s, ...], clips, args, scenes: [...] }.
//
//   node bench/.build/compose.mjs <repeats> <workDir>
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { httpClientLayer } from "../src/registry/AutoMarket.js"
import { Composition } from "../src/domain/Composition.js"
import * as FFmpegClient from "../src/providers/ffmpeg/FFmpegClient.js"
import { type CompositionPlan, compositionPlan, type InputFile, maxClipsPerGraph } from "../src/services/ffmpeg/FilterGraph.js"
import { announcePrefix } from "../src/services/kit/ServerOptions.js"

const [repeatsArg = "3", workDir = "bench/.build/compose"] = process.argv.slice(2)
const repeats = Number(repeatsArg)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
mkdirSync(workDir, { recursive: true })

// The clips: 1280x720, 30 fps, 10 s, h264 + aac, each a different test pattern and tone.
const clips = [0, 1, 2, 3].map((i) => path.resolve(workDir, `clip${i}.mp4`))
clips.forEach((clip, i) => {
  if (existsSync(clip) && statSync(clip).size > 0) return
  const made = spawnSync("ffmpeg", [
    "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=30:duration=10`,
    "-f", "lavfi", "-i", `sine=frequency=${220 * (i + 1)}:sample_rate=48000:duration=10`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip
  ])
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${clip}: ${made.stderr}`)
})

const spec = { clips: clips.map((_, i) => ({ src: `clip${i}` })), output: { width: 1280, height: 720 } }
const composition = Schema.decodeUnknownSync(Composition)(spec)
const inputs = new Map<string, InputFile>(
  clips.map((clip, i) => [`clip${i}`, { path: clip, facts: { duration: 10, width: 1280, height: 720, hasVideo: true, hasAudio: true } }])
)
const directOut = path.resolve(workDir, "direct.mp4")
const plan = compositionPlan(composition, inputs, directOut)
if (Either.isLeft(plan)) throw new Error(`no plan: ${plan.left.join("; ")}`)
const args = plan.right.args

const timeDirect = () => {
  const start = performance.now()
  const run = spawnSync("ffmpeg", [...args], { cwd: workDir })
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`)
  return (performance.now() - start) / 1000
}

// The service, as a user runs it.
const service = spawn(process.execPath, [path.join(root, "bin", "automarket.mjs"), "serve", "ffmpeg", "--port", "0"], {
  stdio: ["ignore", "pipe", "inherit"]
})
const port = await new Promise<number>((resolve, reject) => {
  let buffered = ""
  service.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    const line = buffered.split("\n").find((l) => l.startsWith(announcePrefix))
    if (line !== undefined) resolve(JSON.parse(line.slice(announcePrefix.length)).port)
  })
  service.on("exit", (code) => reject(new Error(`the FFmpeg service exited (${code})`)))
})

const runtime = ManagedRuntime.make(httpClientLayer)
const client = await runtime.runPromise(FFmpegClient.make({ url: Effect.succeed(`http://127.0.0.1:${port}`), configured: true }))
const files = clips.map((clip, i) => ({ key: `clip${i}`, name: `clip${i}.mp4`, content: { _tag: "Path" as const, path: clip } }))
const serviceOut = path.resolve(workDir, "service.mp4")

const timeService = async () => {
  const start = performance.now()
  await runtime.runPromise(
    Effect.gen(function* () {
      const job = yield* client.compose(spec, files)
      yield* client.download(job.output, serviceOut)
      yield* client.release(job.output)
    })
  )
  return (performance.now() - start) / 1000
}

const direct: Array<number> = []
const served: Array<number> = []
for (let i = 0; i < repeats; i++) {
  // Alternate which goes first, so that neither always runs on a warmer machine.
  if (i % 2 === 0) {
    direct.push(timeDirect())
    served.push(await timeService())
  } else {
    served.push(await timeService())
    direct.push(timeDirect())
  }
}
await runtime.dispose()
service.kill("SIGTERM")
rmSync(directOut, { force: true })
rmSync(serviceOut, { force: true })

// ---------------------------------------------------------------------------------------------
// long compositions: one graph vs segments
// ---------------------------------------------------------------------------------------------
// Ten different scenes (test pattern and tone), reused in turn: every clip of a plan is an input
// of its own whichever file it reads, so memory is that of distinct clips.
const sceneFiles = Array.from({ length: 10 }, (_, i) => path.resolve(workDir, `scene${i}.mp4`))
sceneFiles.forEach((file, i) => {
  if (existsSync(file) && statSync(file).size > 0) return
  const made = spawnSync("ffmpeg", [
    "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=640x360:rate=30:duration=2`,
    "-f", "lavfi", "-i", `sine=frequency=${200 + 60 * i}:sample_rate=48000:duration=2`,
    "-vf", `hue=h=${i * 36}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", file
  ])
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${made.stderr}`)
})
const sceneInputs = new Map<string, InputFile>(
  sceneFiles.map((file, i) => [`scene${i}`, { path: file, facts: { duration: 2, width: 640, height: 360, hasVideo: true, hasAudio: true } }])
)

interface Measured {
  /** Seconds for the whole plan. */
  readonly wall: number
  /** Peak RSS of the largest ffmpeg run, MB. */
  readonly rssMb: number
  readonly runs: number
}

// One ffmpeg run under /usr/bin/time: its peak RSS (kB).
const timed = (runArgs: ReadonlyArray<string>, cwd: string): number => {
  const run = spawnSync("/usr/bin/time", ["-f", "PEAK_RSS_KB %M", "ffmpeg", ...runArgs], { cwd, encoding: "utf8", maxBuffer: 16 << 20 })
  const peak = /PEAK_RSS_KB (\d+)/.exec(run.stderr ?? "")
  if (run.status !== 0 || peak === null) throw new Error(`ffmpeg failed (${run.status}): ${(run.stderr ?? "").slice(-500)}`)
  return Number(peak[1])
}

const runPlan = (plan: CompositionPlan, dir: string): Measured => {
  for (const text of plan.textFiles) writeFileSync(path.join(dir, text.name), text.text)
  const start = performance.now()
  const peaks = [
    ...plan.segments.flatMap((segment) => [timed(segment.args, dir), ...(segment.audioArgs !== undefined ? [timed(segment.audioArgs, dir)] : [])]),
    timed(plan.args, dir)
  ]
  const wall = (performance.now() - start) / 1000
  for (const segment of plan.segments) {
    rmSync(path.join(dir, segment.file), { force: true })
    if (segment.audioFile !== undefined) rmSync(path.join(dir, segment.audioFile), { force: true })
  }
  return { wall, rssMb: Math.max(...peaks) / 1024, runs: peaks.length }
}

const sceneCounts = [10, 50, 100]
const singleMax = Number(process.env.BENCH_COMPOSE_SINGLE_MAX ?? "50")
const scenes = sceneCounts.map((count) => {
  const dir = path.resolve(workDir, `scenes-${count}`)
  mkdirSync(dir, { recursive: true })
  const spec = {
    clips: Array.from({ length: count }, (_, i) => ({ src: `scene${i % sceneFiles.length}` })),
    layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
    output: { width: 640, height: 360, fps: 30 }
  }
  const composition = Schema.decodeUnknownSync(Composition)(spec)
  const out = path.join(dir, "out.mp4")
  const planned = (most: number) => {
    const p = compositionPlan(composition, sceneInputs, out, { maxClipsPerGraph: most })
    if (Either.isLeft(p)) throw new Error(`no plan: ${p.left.join("; ")}`)
    return p.right
  }
  const attempt = (most: number) => {
    try {
      return runPlan(planned(most), dir)
    } catch (error) {
      return { error: String(error instanceof Error ? error.message : error).split("\n")[0] }
    }
  }
  // One graph of many clips takes minutes and gigabytes: only up to BENCH_COMPOSE_SINGLE_MAX scenes.
  const single = count <= singleMax ? attempt(Number.POSITIVE_INFINITY) : { error: `not run (over BENCH_COMPOSE_SINGLE_MAX=${singleMax})` }
  const segmented = attempt(maxClipsPerGraph)
  rmSync(dir, { recursive: true, force: true })
  return { scenes: count, seconds: planned(Number.POSITIVE_INFINITY).duration, single, segmented, segments: planned(maxClipsPerGraph).segments.length }
})

process.stdout.write(JSON.stringify({ service: served, direct, clips: clips.length, args: args.length, maxClipsPerGraph, scenes }) + "\n")
process.exit(0)
