/**
 * A Prism mock server of one of the vendored OpenAPI specs (test/contract/specs), for contract
 * tests: Prism checks every request against the spec. Started with `--errors`, so a request
 * that breaks the spec is answered with an error, and its log lines are kept so a test can
 * assert that no violation was reported. Scoped: the process is killed when the scope closes.
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"

/** A running Prism mock. */
export interface Prism {
  /** Base URL, without the spec's server path (Prism ignores it: `/models`, not `/v1/models`). */
  readonly url: string
  /** Every log line so far. */
  readonly log: () => ReadonlyArray<string>
  /**
   * The log lines that report a request or response violation: the validator's warnings and
   * errors (`[VALIDATOR] ⚠ warning Request did not pass the validation rules`,
   * `[VALIDATOR] ✖ error Violation: ...`), not its "passed the validation rules" lines.
   */
  readonly violations: () => ReadonlyArray<string>
}

const isViolation = (line: string): boolean =>
  /\[VALIDATOR\]\s*(⚠|✖)|did not pass the validation rules|violation/i.test(line)

const root = path.resolve(import.meta.dirname, "..", "..")

/** The path of a vendored spec, e.g. `spec("together/openapi.yaml")`. */
export const spec = (relative: string): string => path.join(root, "test", "contract", "specs", relative)

const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Start `prism mock --errors` on a free loopback port for `specPath`; wait until it listens (max 60 s). */
export const prism = (specPath: string) =>
  Effect.acquireRelease(
    Effect.flatMap(freePort, (port) =>
      Effect.async<{ prism: Prism; kill: () => void }, Error>((resume) => {
        const lines: Array<string> = []
        const child = spawn(
          path.join(root, "node_modules", ".bin", "prism"),
          ["mock", "-h", "127.0.0.1", "-p", String(port), "--errors", specPath],
          { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } }
        )
        const kill = () => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
          } catch {
            // already gone
          }
        }
        let started = false
        const timer = setTimeout(() => {
          if (started) return
          kill()
          resume(Effect.fail(new Error(`prism did not start within 60 s:\n${lines.slice(-20).join("\n")}`)))
        }, 60_000)
        const onData = (chunk: Buffer) => {
          for (const line of chunk.toString("utf8").split("\n")) {
            if (line.trim() === "") continue
            lines.push(line)
            if (!started && line.includes("Prism is listening")) {
              started = true
              clearTimeout(timer)
              resume(
                Effect.succeed({
                  kill,
                  prism: {
                    url: `http://127.0.0.1:${port}`,
                    log: () => [...lines],
                    violations: () => lines.filter(isViolation)
                  }
                })
              )
            }
          }
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        child.on("exit", (code) => {
          if (started) return
          clearTimeout(timer)
          resume(Effect.fail(new Error(`prism exited with ${code}:\n${lines.slice(-20).join("\n")}`)))
        })
      })
    ),
    ({ kill }) => Effect.sync(kill)
  ).pipe(Effect.map(({ prism }) => prism))
