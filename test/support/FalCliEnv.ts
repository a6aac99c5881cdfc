/**
 * The environment of an `automarket` process a test runs against the fal emulator: only what the
 * command needs (no real key of any provider leaks in, nothing reaches the internet), results
 * and state in the test's folder.
 */
import * as path from "node:path"

/** What the environment is built from: the emulator's URL and key. */
export interface FalEndpoint {
  readonly baseUrl: string
  readonly settings: { readonly key: string }
}

/**
 * The environment for `fal` with downloads in `dir/downloads` and durable state in
 * `dir/state-<emulator port>` (one state folder per emulator: a generation left unfinished by one
 * test is not resumed against another test's emulator); `extra` adds or overrides variables.
 */
export const falCliEnv = (fal: FalEndpoint, dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AUTOMARKET_STATE_DIR: path.join(dir, `state-${new URL(fal.baseUrl).port}`),
  FALAI_API_KEY: fal.settings.key,
  FALAI_BASE_URL: fal.baseUrl,
  FALAI_PLATFORM_URL: fal.baseUrl,
  AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1",
  AUTOMARKET_POLL_INTERVAL: "50 millis",
  AUTOMARKET_DOWNLOAD_DIR: path.join(dir, "downloads"),
  NO_COLOR: "1",
  ...extra
})
