/**
 * The Docker engine of the Docker tests: the one at `DOCKER_HOST` when it answers, else the
 * private one of `scripts/docker-env.sh` (installed and started when missing, and stopped by
 * `stopEngine` only when this process started it). The service images are built (or found
 * cached) first. Any failure throws: tests that need Docker fail loudly, they never skip.
 */
import Docker from "dockerode"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { freePort } from "../support/Ports.js"

const root = path.resolve(import.meta.dirname, "../..")
const privateHost = "unix:///tmp/am-docker/docker.sock"

/** What `startEngine` did. */
export interface Engine {
  readonly docker: Docker
  /** True when this process started the daemon (and so must stop it). */
  readonly started: boolean
}

const run = (script: string, ...args: Array<string>): string =>
  execFileSync("bash", [path.join(root, "scripts", script), ...args], {
    cwd: root,
    encoding: "utf8",
    env: process.env,
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 20 * 60_000
  })

/** Make sure an engine answers and the images exist; throws with the scripts' output otherwise. */
export const startEngine = (): Engine => {
  const host = process.env["DOCKER_HOST"]
  if (host === undefined || host === "" || host === privateHost) {
    process.env["DOCKER_HOST"] = privateHost
    const out = run("docker-env.sh", "up").trim().split("\n")
    return { docker: new Docker(), started: out[out.length - 1] === "started" }
  }
  run("docker-images.sh")
  return { docker: new Docker(), started: false }
}

/** Stop the daemon if `startEngine` started it. */
export const stopEngine = (engine: Engine | undefined): void => {
  if (engine?.started === true) run("docker-env.sh", "down")
}

/** A loopback port nothing listens on right now. */
export { freePort }
