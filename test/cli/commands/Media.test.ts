/**
 * `automarket speak`, `transcribe` and `compose` as a user runs them: the real executable, which
 * starts the local services it needs as child processes and stops them when it exits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { probeFile } from "../../support/media.js"
import { run } from "../../support/Run.js"
import { wordErrorRate } from "../../support/wer.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
let dir: string

const exec = (...args: Array<string>) => run(process.execPath, [bin, ...args], { timeout: 120_000, cwd: dir })

/** Service processes whose parent is gone: what a command that did not stop its services leaves. */
const orphanedServices = () => {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
  const pids = new Set(rows.map((m) => m[1]))
  return rows.filter((m) => m[3]!.includes("automarket.mjs serve") && (m[2] === "1" || !pids.has(m[2]!))).map((m) => m[1])
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-cli-media-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("automarket speak / transcribe / compose", () => {
  const sentence = "Please call the office before noon tomorrow."

  it("speak writes a wav and says which provider made it; transcribe reads it back as text and srt, and times a known text with --align", async () => {
    const before = orphanedServices()
    const spoken = await exec("speak", sentence, "--out", "speech.wav")
    expect(spoken.stderr).toBe("")
    expect(spoken.status).toBe(0)
    expect(spoken.stdout).toMatch(/speech\.wav \(\d+\.\d+ s\) by chatterbox\//)
    const probe = probeFile(path.join(dir, "speech.wav"))
    expect(probe.codec).toBe("pcm_s16le")
    expect(probe.duration).toBeGreaterThan(1)

    const txt = await exec("transcribe", "speech.wav")
    expect(txt.status).toBe(0)
    expect(wordErrorRate(sentence, txt.stdout)).toBeLessThanOrEqual(0.25)

    const srt = await exec("transcribe", "speech.wav", "--format", "srt", "--out", "speech.srt")
    expect(srt.status).toBe(0)
    const cues = fs.readFileSync(path.join(dir, "speech.srt"), "utf8")
    expect(cues).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n\S/)

    // --align: the known sentence's own words (punctuation and case kept), timed by the transcript.
    fs.writeFileSync(path.join(dir, "said.txt"), `${sentence}\n`)
    const aligned = await exec("transcribe", "speech.wav", "--align", "said.txt", "--format", "srt")
    expect(aligned.stderr).toBe("")
    expect(aligned.status).toBe(0)
    const blocks = aligned.stdout.trim().split(/\n\n/).map((block) => block.split("\n"))
    expect(blocks.map(([, , ...text]) => text.join(" ")).join(" ")).toBe(sentence)
    const ms = (t: string) => t.split(/[:,]/).map(Number).reduce((acc, v, i) => acc + v * [3_600_000, 60_000, 1000, 1][i]!, 0)
    let last = 0
    for (const [index, timing] of blocks) {
      expect(index).toMatch(/^\d+$/)
      const [start, end] = timing!.split(" --> ").map(ms)
      expect(start).toBeGreaterThanOrEqual(last)
      expect(end).toBeGreaterThan(start!)
      expect(end).toBeLessThanOrEqual(Math.round(probe.duration * 1000))
      last = end!
    }
    const missing = await exec("transcribe", "speech.wav", "--align", "nothing.txt")
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/nothing\.txt/)
    // Every service the commands started was stopped when they exited.
    expect(orphanedServices()).toEqual(before)
  })

  it("speak --out x.mp3 produces mp3", async () => {
    const run = await exec("speak", "Hello there.", "--out", "hello.mp3")
    expect(run.status).toBe(0)
    expect(probeFile(path.join(dir, "hello.mp3")).codec).toBe("mp3")
  })

  it("compose renders a spec whose paths are relative to the spec file", async () => {
    fs.mkdirSync(path.join(dir, "media"))
    for (const [name, color] of [["a", "red"], ["b", "blue"]] as const) {
      execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", `color=c=${color}:s=320x180:d=2:r=25`, "-f", "lavfi", "-i", "sine=f=440:d=2", "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", path.join(dir, "media", `${name}.mp4`)])
    }
    fs.writeFileSync(
      path.join(dir, "media", "spec.json"),
      JSON.stringify({
        clips: [{ src: "a.mp4" }, { src: "b.mp4" }],
        layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
        output: { width: 320, height: 180, fps: 25 }
      })
    )
    const run = await exec("compose", "media/spec.json", "--out", "composed.mp4")
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/composed\.mp4 \(3\.\d+ s\) by ffmpeg\//)
    expect(probeFile(path.join(dir, "composed.mp4")).duration).toBeCloseTo(3.5, 1)
  })

  it("bad input is one line on stderr and exit 1, and no output file", async () => {
    fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ clips: [] }))
    const bad = await exec("compose", "bad.json", "--out", "never.mp4")
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.stderr).toMatch(/^automarket: bad\.json: /)
    fs.writeFileSync(path.join(dir, "missing.json"), JSON.stringify({ clips: [{ src: "nowhere.mp4" }] }))
    const missing = await exec("compose", "missing.json", "--out", "never.mp4")
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/nowhere\.mp4/)
    expect(fs.existsSync(path.join(dir, "never.mp4"))).toBe(false)
    expect(fs.existsSync(path.join(dir, "never.mp4.part"))).toBe(false)
    expect(fs.readdirSync(dir).filter((file) => file.includes("never.mp4"))).toEqual([])
  })
})
