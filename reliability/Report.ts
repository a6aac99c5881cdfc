/**
 * reliability/RESULTS.md from the parts' results: the machine, the three parts' tables, and the
 * list of what did not hold (the runner's exit status). Pure apart from `machine`.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import * as os from "node:os"
import { rules } from "./Expectations.js"
import { displayName, faultKinds, faultTitle, remoteIds } from "./FaultPlan.js"
import type { AttackResult, LoadResult, MatrixCell, MatrixResult } from "./Results.js"

/** The machine the run was on. */
export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memory: string
  readonly node: string
  readonly os: string
  readonly load: string
}

/** What this machine is (as bench/run.mjs says it). */
export const machine = (): Machine => {
  const release = (() => {
    try {
      const found = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))
      return found?.[1] ?? os.type()
    } catch {
      return os.type()
    }
  })()
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: `${release} (kernel ${os.release()})`,
    load: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(", ")
  }
}

/** A part as the runner ran it. */
export interface PartRun<A> {
  readonly result?: A
  readonly error?: string
  readonly seconds: number
}

/** Everything the report is made of. */
export interface ReportInput {
  readonly date: Date
  readonly seconds: number
  readonly machine: Machine
  readonly commit: string
  readonly matrix: PartRun<MatrixResult> | undefined
  readonly load: PartRun<LoadResult> | undefined
  readonly attack: PartRun<AttackResult> | undefined
}

const cellText = (value: string) => value.replace(/\|/g, "\\|").replace(/\n/g, " ")
const int = (n: number) => Math.round(n).toLocaleString("en-US")
const pct = (part: number, whole: number) => (whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(part === whole ? 0 : 2)} %`)

const matrixCell = (cell: MatrixCell | undefined): string => {
  if (cell === undefined) return "not run"
  if (!cell.applicable) return "n/a"
  if (cell.observed === undefined) return `**did not finish**`
  const o = cell.observed
  const what = `${o.primary}, ${o.attempts}×${o.fallback ? ", fell back" : ""}${o.final !== o.primary && o.final !== "ok" ? ` → ${o.final}` : o.fallback ? ` → ${o.final}` : ""}`
  return cell.differences.length === 0 ? what : `**${what}** ✗`
}

/** Part 1. */
const matrixSection = (run: PartRun<MatrixResult>, failures: Array<string>): Array<string> => {
  const lines = ["## 1. Fault matrix\n"]
  if (run.result === undefined) {
    failures.push(`matrix: ${run.error ?? "no result"}`)
    return [...lines, `Not measured: ${run.error ?? "no result"}.\n`]
  }
  const r = run.result
  const s = r.settings
  lines.push(
    `Each cell: one registry call whose first provider (the column) plays the fault on every request of the call, the other provider of its family configured second (Together ↔ OpenRouter, fal.ai ↔ Replicate). Fresh emulators and providers a cell, one key each, ${s.retries} retries, per-request timeout ${s.requestTimeoutMs} ms (slow faults stall ${s.slowMs} ms), queued jobs' budget ${s.jobTimeoutMs} ms, polls every ${s.pollInterval}; chat cells call text-to-text (streamText for truncated SSE, text-to-image with a result URL for the 404), queued cells text-to-video. "Container killed": the emulator runs in a process of its own, killed with SIGKILL while it holds the call's request. ${r.cells.length} cells in ${r.seconds.toFixed(0)} s, ${s.concurrency} at a time.\n`,
    `A cell reads: the first provider's typed error, requests it received (to the operation; to the result file for the 404 row), whether the call fell back, and how the call ended. ✗: not what the README promises (the differences are listed below the table).\n`
  )
  lines.push(`| fault | ${remoteIds.map((id) => displayName[id]).join(" | ")} |`, `|---|${remoteIds.map(() => "---").join("|")}|`)
  for (const kind of faultKinds) {
    const row = remoteIds.map((id) => matrixCell(r.cells.find((c) => c.provider === id && c.kind === kind)))
    lines.push(`| ${faultTitle[kind]} | ${row.join(" | ")} |`)
  }
  lines.push("")
  const queued = r.cells.filter((c) => c.applicable && c.observed !== undefined && c.expected.jobs !== undefined)
  if (queued.length > 0) {
    lines.push(
      `Queued providers' jobs: ${queued.map((c) => (c.applicable && c.observed !== undefined ? c.observed.jobs : 0)).reduce((a, b) => a + b, 0)} jobs created over ${queued.length} cells, ${queued.map((c) => (c.applicable && c.observed !== undefined ? c.observed.doubleSubmits : 0)).reduce((a, b) => a + b, 0)} double submits, ${queued.map((c) => (c.applicable && c.observed !== undefined ? c.observed.cancels : 0)).reduce((a, b) => a + b, 0)} cancels (expected: one, for the wait cap).\n`
    )
  }
  const notes = r.cells.filter((c) => !c.applicable)
  if (notes.length > 0) {
    lines.push(`n/a:\n`)
    const seen = new Set<string>()
    for (const c of notes) {
      if (c.applicable) continue
      const key = `${c.kind}:${c.note}`
      if (seen.has(key)) continue
      seen.add(key)
      const who = notes.filter((n) => !n.applicable && n.kind === c.kind && n.note === c.note).map((n) => displayName[n.provider])
      lines.push(`- ${faultTitle[c.kind]} (${who.join(", ")}): ${c.note}.`)
    }
    lines.push("")
  }
  const wrong = r.cells.filter((c) => c.applicable && c.differences.length > 0)
  lines.push(wrong.length === 0 ? `Every applicable cell ended as the README promises.\n` : `Cells that did not hold:\n`)
  for (const c of wrong) {
    if (!c.applicable) continue
    const text = `${displayName[c.provider]} × ${faultTitle[c.kind]}: ${c.differences.join("; ")}${c.message !== undefined ? ` (message: "${c.message.slice(0, 200)}")` : ""}${c.error !== undefined ? ` (${c.error.slice(0, 200)})` : ""}`
    failures.push(`matrix: ${text}`)
    lines.push(`- ${cellText(text)} (rule: ${rules[c.expected.rule]})`)
  }
  if (wrong.length > 0) lines.push("")
  lines.push(`Rules the expectations follow (README, "Behaviour you can rely on"):\n`, ...Object.values(rules).map((rule) => `- ${rule}`), "")
  return lines
}

/** Part 2. */
const loadSection = (run: PartRun<LoadResult>, failures: Array<string>): Array<string> => {
  const lines = ["## 2. Load\n"]
  if (run.result === undefined) {
    failures.push(`load: ${run.error ?? "no result"}`)
    return [...lines, `Not measured: ${run.error ?? "no result"}.\n`]
  }
  const r = run.result
  const total = r.byKind.reduce((a, k) => a + k.calls, 0)
  const asExpected = r.byKind.reduce((a, k) => a + k.asExpected, 0)
  const faulted = r.byKind.filter((k) => k.kind !== "none").reduce((a, k) => a + k.calls, 0)
  const jobs = remoteIds.map((id) => r.emulators[id]?.jobs ?? 0).reduce((a, b) => a + b, 0)
  const doubles = remoteIds.map((id) => r.emulators[id]?.doubleSubmits ?? 0).reduce((a, b) => a + b, 0)
  const hung = r.byKind.reduce((a, k) => a + (k.outcomes.hung ?? 0), 0)
  lines.push(
    `${int(r.calls - r.notRun)} registry calls at concurrency ${r.concurrency} over the four emulated providers (in one process of their own), ${int(faulted)} (${pct(faulted, total)}) carrying a fault of every kind below, played once on the call's first provider, the other provider of its family second. ${Math.round(r.settings.queuedShare * 100)} % of the calls go first to a queued provider (a text-to-video job), the rest to a chat provider (text, streamed text, images by URL). ${r.settings.keysPerProvider} keys a provider (a 401 retires one, a 402 rests one); per-request timeout ${r.settings.requestTimeoutMs} ms, job budget ${r.settings.jobTimeoutMs} ms, polls every ${r.settings.pollInterval}, seed ${r.settings.seed}. ${r.seconds.toFixed(0)} s, ${r.callsPerSecond.toFixed(0)} calls/s.\n`
  )
  lines.push(`| | figure | goal |`, `|---|---|---|`)
  if (r.notRun > 0) lines.push(`| planned calls not started within the ${r.budgetSeconds} s budget | **${int(r.notRun)}** of ${int(r.calls)} | 0 |`)
  lines.push(`| calls ending in a result or the expected typed error | ${int(asExpected)} / ${int(total)} (${pct(asExpected, total)}) | 100 % |`)
  lines.push(`| calls still running at their deadline (hung) | ${int(hung)} | 0 |`)
  lines.push(`| calls refused at once because both providers' circuits were open, or failed with nothing to fall back to because the second one's was (the first provider's typed error: counted as expected, the breaker's work) | ${int(r.byKind.reduce((a, k) => a + k.circuitOpen, 0))} | |`)
  lines.push(`| jobs created at the queued emulators / double submits (an input with two jobs) | ${int(jobs)} / ${int(doubles)} | 0 double submits |`)
  lines.push(`| open file descriptors before → after (leaked) | ${r.fds.before} → ${r.fds.after} (${r.fds.leaked.length}) | 0 leaked |`)
  lines.push(`| temporary files left (download dir, TMPDIR) | ${r.tempFiles.downloadDir.length + r.tempFiles.tmpDir.length} | 0 |`)
  lines.push(`| child processes left | ${r.childProcesses.length} | 0 |`)
  lines.push(`| containers left | ${r.containers.checked ? String(r.containers.ours.length) : `not checked: ${cellText(r.containers.note)}`} | 0 |`)
  lines.push(`| RSS before → peak → after, MB | ${r.rssMb.before.toFixed(0)} → ${r.rssMb.peak.toFixed(0)} → ${r.rssMb.after.toFixed(0)} | |`)
  lines.push("")
  lines.push(`| fault on the first provider | calls | expected ending | endings seen | as expected | served by the second provider |`, `|---|---|---|---|---|---|`)
  for (const k of [...r.byKind].sort((a, b) => (a.kind === "none" ? -1 : b.kind === "none" ? 1 : a.kind.localeCompare(b.kind)))) {
    const seen = Object.entries(k.outcomes)
      .map(([outcome, n]) => `${outcome} ${int(n ?? 0)}`)
      .join(", ")
    const title = k.kind === "none" ? "none" : faultTitle[k.kind]
    const expected = k.kind === "truncatedSse" ? `${k.expected} (or ok: cut before any delta, retried)` : k.expected
    lines.push(`| ${title} | ${int(k.calls)} | ${expected} | ${seen} | ${k.asExpected === k.calls ? "all" : `**${int(k.asExpected)}** ✗`} | ${int(k.fellBack)} |`)
  }
  lines.push("")
  lines.push(`Per emulator (requests; operations; polls; result files; cancels; jobs): ${remoteIds.map((id) => { const e = r.emulators[id]; return e === undefined ? `${displayName[id]} -` : `${displayName[id]} ${int(e.requests)}; ${int(e.operations)}; ${int(e.polls)}; ${int(e.files)}; ${int(e.cancels)}; ${int(e.jobs)}` }).join(" · ")}.\n`)
  const problems: Array<string> = []
  for (const k of r.byKind) {
    if (k.asExpected !== k.calls) problems.push(`${k.calls - k.asExpected} of ${k.calls} calls with fault ${k.kind} did not end as ${k.expected}: ${k.examples.join(" / ")}`)
  }
  if (r.notRun > 0) problems.push(`${int(r.notRun)} of ${int(r.calls)} planned calls were not started within the ${r.budgetSeconds} s budget (SOAK_LOAD_BUDGET_S): the machine was too slow or crowded for the whole run`)
  if (doubles > 0) problems.push(`${doubles} double submits`)
  if (r.fds.leaked.length > 0) problems.push(`${r.fds.leaked.length} file descriptors leaked: ${r.fds.leaked.slice(0, 5).join(", ")}`)
  const leftFiles = [...r.tempFiles.downloadDir, ...r.tempFiles.tmpDir]
  if (leftFiles.length > 0) problems.push(`${leftFiles.length} temporary files left: ${leftFiles.slice(0, 5).join(", ")}`)
  if (r.childProcesses.length > 0) problems.push(`child processes left: ${r.childProcesses.join(", ")}`)
  if (r.containers.ours.length > 0) problems.push(`containers left: ${r.containers.ours.join(", ")}`)
  if (problems.length > 0) {
    lines.push(`Did not hold:\n`, ...problems.map((p) => `- ${cellText(p)}`), "")
    failures.push(...problems.map((p) => `load: ${p}`))
  }
  return lines
}

/** Part 3. */
const attackSection = (run: PartRun<AttackResult>, failures: Array<string>): Array<string> => {
  const lines = ["## 3. Local services under hostile requests\n"]
  if (run.result === undefined) {
    failures.push(`attack: ${run.error ?? "no result"}`)
    return [...lines, `Not measured: ${run.error ?? "no result"}.\n`]
  }
  const r = run.result
  const hostile = r.outcomes.filter((o) => o.hostile)
  const valid = r.outcomes.filter((o) => !o.hostile)
  lines.push(
    `${r.requests} requests at concurrency ${r.concurrency} to the real services (\`automarket serve ffmpeg|tts|stt --port 0\`, child processes, no Docker): ${hostile.length} hostile (the probe's cases of issue 13), ${valid.length} valid. Each request has a deadline of ${r.requestTimeoutMs} ms (a hang is a failure, not a stuck suite). ${r.seconds.toFixed(0)} s.\n`
  )
  lines.push(`| | figure | goal |`, `|---|---|---|`)
  lines.push(`| hostile requests refused with a 4xx | ${hostile.filter((o) => o.held).length} / ${hostile.length} | all |`)
  lines.push(`| valid requests served | ${valid.filter((o) => o.held).length} / ${valid.length} | all |`)
  for (const s of r.services) {
    lines.push(`| ${s.service}: alive after the requests; files left in its work dir; stopped | ${s.started ? (s.aliveAfter ? "alive" : "**dead**") : `**not started**: ${cellText(s.startError ?? "")}`}; ${s.leftInWorkDir.length}; ${s.stopped} in ${s.stopMs.toFixed(0)} ms | alive; 0; exited |`)
  }
  lines.push(`| processes left after the services stopped | ${r.strayProcesses.length} | 0 |`, "")
  const names = [...new Set(r.outcomes.map((o) => `${o.service}\u0000${o.name}`))]
  lines.push(`| service | case | finding | hostile | requests | statuses | held |`, `|---|---|---|---|---|---|---|`)
  for (const key of names) {
    const [service, name] = key.split("\u0000")
    const of = r.outcomes.filter((o) => o.service === service && o.name === name)
    const first = of[0]
    if (first === undefined) continue
    const statuses = [...new Set(of.map((o) => (o.status !== undefined ? String(o.status) : (o.failure ?? "no answer"))))].join(", ")
    const held = of.filter((o) => o.held).length
    lines.push(`| ${service} | ${cellText(first.what)} | ${first.finding === 0 ? "-" : first.finding} | ${first.hostile ? "yes" : "no"} | ${of.length} | ${cellText(statuses)} | ${held === of.length ? "all" : `**${held}** ✗`} |`)
    if (held !== of.length) {
      const why = of.find((o) => !o.held)?.why ?? ""
      failures.push(`attack: ${service} ${first.what}: ${of.length - held} of ${of.length} did not hold (${why})`)
    }
  }
  lines.push("")
  for (const s of r.services) {
    if (!s.started) failures.push(`attack: ${s.service} did not start: ${s.startError ?? ""}`)
    else {
      if (!s.aliveAfter) failures.push(`attack: ${s.service} was not alive after the requests`)
      if (s.leftInWorkDir.length > 0) failures.push(`attack: ${s.service} left ${s.leftInWorkDir.length} files in its work dir: ${s.leftInWorkDir.slice(0, 5).join(", ")}`)
      if (s.stopped !== "exited") failures.push(`attack: ${s.service} did not exit on SIGTERM within the grace period`)
    }
  }
  if (r.strayProcesses.length > 0) failures.push(`attack: processes left: ${r.strayProcesses.join(", ")}`)
  return lines
}

/** The report, and every failure in it (empty: everything held). */
export const render = (input: ReportInput): { readonly markdown: string; readonly failures: ReadonlyArray<string> } => {
  const failures: Array<string> = []
  const m = input.machine
  const sections = [
    ...(input.matrix !== undefined ? matrixSection(input.matrix, failures) : []),
    ...(input.load !== undefined ? loadSection(input.load, failures) : []),
    ...(input.attack !== undefined ? attackSection(input.attack, failures) : [])
  ]
  const markdown = [
    `# Fault and load suite\n`,
    `Written by \`npm run soak\` (reliability/run.ts) on ${input.date.toISOString()}, in ${input.seconds.toFixed(0)} s. Every figure comes from this run; nothing here is typed in by hand. The expected outcomes are the README's promises (reliability/Expectations.ts).\n`,
    `| machine | |`,
    `|---|---|`,
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} |`,
    `| memory | ${m.memory} |`,
    `| Node | ${m.node} |`,
    `| OS | ${m.os} |`,
    `| load average at the end (1, 5, 15 min) | ${m.load} |`,
    `| commit | ${input.commit} (working tree may differ) |`,
    ``,
    failures.length === 0 ? `**Result: everything held.**\n` : `**Result: ${failures.length} things did not hold** (listed at the end; \`npm run soak\` exits 1).\n`,
    ...sections,
    ...(failures.length > 0 ? [`## What did not hold\n`, ...failures.map((f) => `- ${cellText(f)}`), ""] : [])
  ].join("\n")
  return { markdown, failures }
}
