/**
 * How the real `automarket` executable fails, as a careless user or a script sees it (issue 13,
 * Low 9): every failure is one line on stderr, `automarket: ...`, exit 1, with no blank line and
 * no ANSI escapes, whatever failed (the argument parser, a `--provider` naming nothing, an input
 * file that cannot be read); `--help` into a pipe is plain text.
 *
 * The local services are replaced by one loopback server that records every request
 * (`FFMPEG_SERVICE_URL`, `WHISPER_SERVICE_URL`, `CHATTERBOX_DOCKER_URL`), so "checked before any
 * provider is called" is a count of requests: 0. The remote providers have no keys.
 *
 * An unreadable file, for a test run as root (permission bits do not stop root): the command is
 * run as the user `nobody` (uid/gid 65534) on a file of mode 000; run as anyone else, the file's
 * mode alone does it. A FIFO with no writer stands for a file that is not a regular file (reading
 * it would block forever).
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Ran, run } from "../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")
const nobody = 65534

let dir: string
let server: http.Server
let serviceUrl: string
const requests: Array<string> = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-cli-failures-"))
  // Readable (not writable) by `nobody`, who runs the permission test.
  fs.chmodSync(dir, 0o755)
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    req.resume()
    res.writeHead(503, { "content-type": "application/json" })
    res.end(JSON.stringify({ detail: "a test server: nothing should ask it" }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  fs.rmSync(dir, { recursive: true, force: true })
})
beforeEach(() => {
  requests.length = 0
})

/** The executable's environment: the local services at the recording server, no remote keys, temp files in the test's folder. */
const env = (): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ["FALAI_API_KEY", "FAL_KEY", "TOGETHER_API_KEY", "OPENROUTER_API_KEY", "REPLICATE_API_TOKEN", "NO_COLOR", "FORCE_COLOR"]) {
    delete clean[name]
  }
  return {
    ...clean,
    FFMPEG_SERVICE_URL: serviceUrl,
    WHISPER_SERVICE_URL: serviceUrl,
    CHATTERBOX_DOCKER_URL: serviceUrl,
    TMPDIR: dir
  }
}

const exec = (args: ReadonlyArray<string>) => run(process.execPath, [bin, ...args], { cwd: dir, env: env(), timeout: 90_000 })

/** Run the executable as the user `uid` (`run` of support/Run.ts, with a user). */
const execAs = (uid: number, args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...env(), HOME: dir },
      uid,
      gid: uid,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })

/** A failure as the README states it: nothing on stdout, exit 1, and stderr exactly one line `automarket: ...`. */
const expectOneLine = (ran: { status: number | null; stdout: string; stderr: string }, pattern: RegExp) => {
  expect(ran.status, ran.stderr).toBe(1)
  expect(ran.stdout).toBe("")
  expect(ran.stderr).toMatch(/^automarket: [^\n]+\n$/)
  expect(ran.stderr).not.toContain("\u001b[")
  expect(ran.stderr).toMatch(pattern)
}

describe("argument errors (the parser's own)", () => {
  it("an unknown option, a missing argument and a bad value are each one line `automarket: ...`, exit 1, no blank line", async () => {
    expectOneLine(await exec(["models", "--bogus"]), /--bogus/)
    expectOneLine(await exec(["transcribe"]), /<audio>/)
    expectOneLine(await exec(["generate", "text"]), /<prompt>/)
    expectOneLine(await exec(["models", "--capability", "mind-reading"]), /text-to-text/)
    expectOneLine(await exec(["generate", "image", "a cat", "--width", "wide"]), /wide|integer/)
    expectOneLine(await exec(["nosuch"]), /nosuch|subcommand/)
    expect(requests).toEqual([])
  }, 200_000)

  it("--help is unchanged: the usage on stdout, exit 0, nothing on stderr", async () => {
    for (const args of [["--help"], ["models", "--help"], ["generate", "image", "--help"]]) {
      const ran = await exec(args)
      expect(ran.status).toBe(0)
      expect(ran.stderr).toBe("")
      expect(ran.stdout).toMatch(/USAGE/)
    }
  }, 200_000)
})

describe("output into a pipe is plain text", () => {
  it("--help piped has no ANSI escape", async () => {
    for (const args of [["--help"], ["models", "--help"], ["generate", "image", "--help"], ["--version"]]) {
      const ran = await exec(args)
      expect(ran.status).toBe(0)
      expect(ran.stdout).not.toContain("\u001b[")
    }
  }, 200_000)

  it("on a terminal (a pty, by script(1)) --help keeps its styles, unless NO_COLOR is set", async () => {
    const onTerminal = (extra: NodeJS.ProcessEnv) =>
      run("script", ["-qec", `${process.execPath} ${bin} --help`, "/dev/null"], { cwd: dir, env: { ...env(), ...extra }, timeout: 90_000 })
    const styled = await onTerminal({})
    expect(styled.status).toBe(0)
    expect(styled.stdout).toMatch(/\u001b\[[0-9;]*mUSAGE/)
    const plain = await onTerminal({ NO_COLOR: "1" })
    expect(plain.status).toBe(0)
    expect(plain.stdout).toMatch(/USAGE/)
    expect(plain.stdout).not.toContain("\u001b[")
  }, 200_000)
})

describe("--provider naming no provider", () => {
  it("every command taking --provider names the unknown provider and the known ones, before calling any", async () => {
    fs.writeFileSync(path.join(dir, "in.wav"), "RIFF")
    fs.writeFileSync(path.join(dir, "spec.json"), JSON.stringify({ clips: [{ src: "in.wav" }] }))
    const unknown = /^automarket: no provider "nosuch" \(known: [^)]*ffmpeg[^)]*\)\n$/
    for (const args of [
      ["speak", "hello", "--provider", "nosuch"],
      ["transcribe", "in.wav", "--provider", "nosuch"],
      ["compose", "spec.json", "--provider", "nosuch"],
      ["generate", "text", "hi", "--provider", "nosuch"],
      ["generate", "image", "a cat", "--provider", "nosuch"],
      ["generate", "speech", "hello", "--provider", "nosuch"],
      ["models", "--provider", "nosuch"]
    ]) {
      expectOneLine(await exec(args), unknown)
    }
    expect(requests).toEqual([])
  }, 300_000)
})

describe("an input file that cannot be read", () => {
  it("transcribe: a missing file, a directory and a FIFO are one line naming the file and why, before any provider is called", async () => {
    fs.mkdirSync(path.join(dir, "folder.wav"))
    execFileSync("mkfifo", [path.join(dir, "pipe.wav")])
    expectOneLine(await exec(["transcribe", "gone.wav"]), /^automarket: cannot read gone\.wav: not found\n$/)
    expectOneLine(await exec(["transcribe", "folder.wav"]), /^automarket: cannot read folder\.wav: is a directory\n$/)
    expectOneLine(await exec(["transcribe", "pipe.wav"]), /^automarket: cannot read pipe\.wav: not a regular file\n$/)
    expect(requests).toEqual([])
  }, 200_000)

  it("compose: the spec and every local file it names, checked before the provider is called", async () => {
    fs.mkdirSync(path.join(dir, "media"))
    fs.mkdirSync(path.join(dir, "media", "folder.mp4"))
    execFileSync("mkfifo", [path.join(dir, "media", "pipe.mp4")])
    fs.writeFileSync(path.join(dir, "media", "ok.mp4"), "not really a video")
    const spec = (name: string, content: unknown) => {
      fs.writeFileSync(path.join(dir, "media", name), JSON.stringify(content))
      return path.join("media", name)
    }
    expectOneLine(await exec(["compose", "nowhere.json"]), /^automarket: cannot read nowhere\.json: not found\n$/)
    expectOneLine(await exec(["compose", "media"]), /^automarket: cannot read media: is a directory\n$/)
    const media = path.join(dir, "media")
    expectOneLine(
      await exec(["compose", spec("missing.json", { clips: [{ src: "ok.mp4" }, { src: "nowhere.mp4" }] })]),
      new RegExp(`^automarket: cannot read ${media}/nowhere\\.mp4: not found\\n$`)
    )
    expectOneLine(
      await exec(["compose", spec("folder.json", { clips: [{ src: "ok.mp4" }], audio: { mode: "mix", tracks: [{ src: "folder.mp4" }] } })]),
      new RegExp(`^automarket: cannot read ${media}/folder\\.mp4: is a directory\\n$`)
    )
    expectOneLine(
      await exec(["compose", spec("fifo.json", { clips: [{ src: "ok.mp4" }], overlays: [{ _tag: "image", src: "pipe.mp4" }] })]),
      new RegExp(`^automarket: cannot read ${media}/pipe\\.mp4: not a regular file\\n$`)
    )
    expect(requests).toEqual([])
  }, 300_000)

  it("jobs resume|cancel and demo: a ticket or a script that cannot be read is the same one line", async () => {
    fs.mkdirSync(path.join(dir, "tickets.json"))
    expectOneLine(await exec(["jobs", "resume", "gone.json"]), /^automarket: cannot read gone\.json: not found\n$/)
    expectOneLine(await exec(["jobs", "cancel", "tickets.json"]), /^automarket: cannot read tickets\.json: is a directory\n$/)
    expectOneLine(await exec(["demo", "tickets.json"]), /^automarket: cannot read tickets\.json: is a directory\n$/)
    expectOneLine(await exec(["demo", "gone.md"]), /^automarket: cannot read gone\.md: not found\n$/)
    expect(requests).toEqual([])
  }, 200_000)

  it("a file its user may not read is `permission denied` (run as nobody when the test runs as root)", async () => {
    const secret = path.join(dir, "secret.wav")
    fs.writeFileSync(secret, "RIFF")
    fs.chmodSync(secret, 0o000)
    fs.writeFileSync(path.join(dir, "secret.json"), JSON.stringify({ clips: [{ src: "secret.wav" }] }))
    fs.chmodSync(path.join(dir, "secret.json"), 0o644)
    const denied = (args: ReadonlyArray<string>) => (process.getuid?.() === 0 ? execAs(nobody, args) : exec(args))
    expectOneLine(await denied(["transcribe", "secret.wav"]), /^automarket: cannot read secret\.wav: permission denied\n$/)
    expectOneLine(await denied(["compose", "secret.json"]), new RegExp(`^automarket: cannot read ${secret}: permission denied\\n$`))
    expectOneLine(await denied(["jobs", "resume", "secret.wav"]), /^automarket: cannot read secret\.wav: permission denied\n$/)
    expect(requests).toEqual([])
  }, 200_000)
})
