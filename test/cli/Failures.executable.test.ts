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
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { run } from "../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../bin/automarket.mjs")

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
