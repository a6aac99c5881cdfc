/**
 * The FFmpeg service's URL inputs attacked as a server-side request forgery: a `src` on a live
 * loopback server, on private and special addresses, on a name that resolves to loopback,
 * behind a redirect to loopback, and N URLs each under the size limit but over it together. By
 * default a URL input is refused outright; with hosts allowed, every refused address is refused
 * after resolution with the same words as a closed port, and the loopback server never sees a
 * request. The one file server the allowed service may reach is on 127.0.0.2, trusted by the
 * test-only `trustedUrlAddresses` (tests have loopback only).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { addressRefused, hostListed } from "../../../src/services/ffmpeg/Inputs.js"
import { layer, type ServerTuning } from "../../../src/services/ffmpeg/Server.js"
import { makeClip, type RunningServer, startServer } from "./support.js"

let root: string
let clip: string
let clipBytes: Buffer
let maxBodyBytes: number
/** A file server on 127.0.0.1: what an attacker wants the service to reach. */
let loopback: Http.Server
let loopbackUrl: string
let loopbackHits = 0
/** A file server on 127.0.0.2, the one address the allowing service trusts. */
let allowed: Http.Server
let allowedUrl: string
let allowedHits = 0
/** A service with URL inputs as they are by default: off. */
let closed: RunningServer
/** A service allowing any host, with only 127.0.0.2 trusted among the refused addresses. */
let open: RunningServer

const listen = async (host: string, handle: Http.RequestListener): Promise<{ server: Http.Server; url: string }> => {
  const server = Http.createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const address = server.address() as Net.AddressInfo
  return { server, url: `http://${host}:${address.port}` }
}

const serveClip = (res: Http.ServerResponse) => {
  res.writeHead(200, { "content-type": "video/mp4", "content-length": clipBytes.length })
  res.end(clipBytes)
}

const close = (server: Http.Server | undefined) =>
  new Promise<void>((resolve) => {
    if (server === undefined) return resolve()
    server.closeAllConnections()
    server.close(() => resolve())
  })

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-url-inputs-"))
  clip = makeClip(root, "clip.mp4", "blue", { seconds: 1 })
  clipBytes = readFileSync(clip)
  // Each clip is 40 % of the limit: one or two fit, three together do not.
  maxBodyBytes = Math.ceil(statSync(clip).size * 2.5)
  ;({ server: loopback, url: loopbackUrl } = await listen("127.0.0.1", (_req, res) => {
    loopbackHits++
    serveClip(res)
  }))
  ;({ server: allowed, url: allowedUrl } = await listen("127.0.0.2", (req, res) => {
    allowedHits++
    if (req.url?.startsWith("/clip.mp4") === true) return serveClip(res)
    if (req.url === "/to-loopback") return void res.writeHead(302, { location: `${loopbackUrl}/clip.mp4` }).end()
    if (req.url === "/to-localhost") return void res.writeHead(307, { location: `http://localhost:${new URL(loopbackUrl).port}/clip.mp4` }).end()
    if (req.url === "/to-itself") return void res.writeHead(301, { location: "/clip.mp4" }).end()
    res.writeHead(404).end()
  }))
  const options = { host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 1 }
  const tuning: ServerTuning = { fetchTimeout: "20 seconds" }
  ;[closed, open] = await Promise.all([
    startServer(layer(options, tuning)),
    startServer(layer({ ...options, allowUrlHosts: ["*"] }, { ...tuning, trustedUrlAddresses: ["127.0.0.2"] }))
  ])
})

afterAll(async () => {
  await Promise.all([closed?.stop(), open?.stop(), close(loopback), close(allowed)])
  rmSync(root, { recursive: true, force: true })
})

/** POST a job whose only part is its spec; the answer's status and envelope. */
const job = (base: string, path: string, spec: unknown) =>
  new Promise<{ readonly status: number; readonly body: { readonly success: boolean; readonly error?: string; readonly code?: string } }>(
    (resolve, reject) => {
      const boundary = "----urlinputs"
      const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec)}\r\n--${boundary}--\r\n`)
      const req = Http.request(
        `${base}${path}`,
        { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(body.length) } },
        (res) => {
          let text = ""
          res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
        }
      )
      req.on("error", reject)
      req.end(body)
    }
  )

const metadata = (base: string, src: string) => job(base, "/video/metadata", { src })

// The refusal of a target, with the URL taken out: the same words whatever the target was.
const refusalOf = (answer: { readonly body: { readonly error?: string } }, url: string) => (answer.body.error ?? "").split(JSON.stringify(url)).join("<url>")

describe("URL inputs: off by default", () => {
  it("a spec naming a URL is refused 400 saying URL inputs are disabled; nothing is fetched", async () => {
    const before = loopbackHits
    const answer = await metadata(closed.url, `${loopbackUrl}/clip.mp4`)
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ success: false, code: "bad-request" })
    expect(answer.body.error).toContain("URL inputs are disabled")
    expect(answer.body.error).toContain("--allow-url-host")
    expect(loopbackHits).toBe(before)
  })
})

describe("URL inputs allowed: refused addresses, whatever the allowlist says", () => {
  it("a live loopback server is never reached, by address or by a name that resolves to it", async () => {
    const before = loopbackHits
    const port = new URL(loopbackUrl).port
    for (const src of [`${loopbackUrl}/clip.mp4`, `http://localhost:${port}/clip.mp4`, `http://[::ffff:127.0.0.1]:${port}/clip.mp4`, `http://0.0.0.0:${port}/clip.mp4`]) {
      const answer = await metadata(open.url, src)
      expect(answer.status, src).toBe(400)
      expect(refusalOf(answer, src), src).toBe("could not fetch <url>: no answer from its host (unreachable, or not one this service may reach)")
    }
    expect(loopbackHits).toBe(before)
  })

  it("private, link-local, unspecified and multicast addresses are refused before any connection", async () => {
    for (const src of [
      "http://10.20.30.40/clip.mp4",
      "http://192.168.1.1:8080/clip.mp4",
      "http://172.16.5.4/clip.mp4",
      "http://169.254.169.254/latest/meta-data/",
      "http://[fd00::1]/clip.mp4",
      "http://[fe80::1]/clip.mp4",
      "http://[::]/clip.mp4",
      "http://224.0.0.1/clip.mp4"
    ]) {
      const answer = await metadata(open.url, src)
      expect(answer.status, src).toBe(400)
      expect(refusalOf(answer, src), src).toBe("could not fetch <url>: no answer from its host (unreachable, or not one this service may reach)")
    }
  })

  it("a refused address reads exactly like a closed port: no port-scan oracle", async () => {
    const idle = await listen("127.0.0.2", () => undefined)
    const closedPort = idle.url
    await close(idle.server)
    const refused = await metadata(open.url, `${loopbackUrl}/clip.mp4`)
    const unanswered = await metadata(open.url, `${closedPort}/clip.mp4`)
    expect(refused.status).toBe(400)
    expect(unanswered.status).toBe(400)
    expect(refusalOf(refused, `${loopbackUrl}/clip.mp4`)).toBe(refusalOf(unanswered, `${closedPort}/clip.mp4`))
  })

  it("a redirect to loopback (by address or by name) is not followed there", async () => {
    const before = loopbackHits
    for (const path of ["/to-loopback", "/to-localhost"]) {
      const answer = await metadata(open.url, `${allowedUrl}${path}`)
      expect(answer.status, path).toBe(400)
      expect(answer.body.error, path).toContain("no answer from its host")
    }
    expect(loopbackHits).toBe(before)
  })

  it("what the policy allows is fetched, redirects to allowed places followed", async () => {
    for (const src of [`${allowedUrl}/clip.mp4`, `${allowedUrl}/to-itself`]) {
      const answer = await metadata(open.url, src)
      expect(answer.status, `${src}: ${answer.body.error}`).toBe(200)
    }
  })

  it("N URLs each under the limit but over it together: 413, one budget for the request", async () => {
    const clips = [1, 2, 3].map((n) => ({ src: `${allowedUrl}/clip.mp4?copy=${n}` }))
    const two = await job(open.url, "/video/compose", { clips: clips.slice(0, 2), output: { width: 160, height: 90 } })
    expect(two.status, two.body.error).toBe(200)
    const hitsBefore = allowedHits
    const three = await job(open.url, "/video/compose", { clips, output: { width: 160, height: 90 } })
    expect(three.status).toBe(413)
    expect(three.body).toMatchObject({ success: false, code: "payload-too-large" })
    expect(three.body.error).toContain("together")
    expect(allowedHits - hitsBefore).toBe(3)
  })
})

describe("the URL policy's rules", () => {
  it("hosts: exact names, subdomains of a *. entry, any with *", () => {
    expect(hostListed(["media.example"], "media.example")).toBe(true)
    expect(hostListed(["media.example"], "MEDIA.example.")).toBe(true)
    expect(hostListed(["media.example"], "evil.media.example")).toBe(false)
    expect(hostListed(["*.media.example"], "cdn.media.example")).toBe(true)
    expect(hostListed(["*.media.example"], "media.example")).toBe(false)
    expect(hostListed(["*.media.example"], "evilmedia.example")).toBe(false)
    expect(hostListed(["*"], "anything.example")).toBe(true)
    expect(hostListed([], "anything.example")).toBe(false)
  })

  it("addresses: loopback, private, link-local, unspecified, multicast, also inside IPv6, are refused; public ones are not", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.9",
      "10.0.0.1",
      "172.31.255.255",
      "192.168.0.10",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.251",
      "255.255.255.255",
      "::",
      "::1",
      "fc00::1",
      "fdff::2",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.1.2.3",
      "64:ff9b::a9fe:a9fe",
      "2002:7f00:1::1",
      "not-an-address"
    ]) {
      expect(addressRefused(address), address).toBe(true)
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"]) {
      expect(addressRefused(address), address).toBe(false)
    }
  })
})
