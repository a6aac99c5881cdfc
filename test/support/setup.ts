/**
 * Runs before every test file: the suite must not depend on the keys, URLs or cache of whoever
 * runs it.
 * - The providers' settings from the caller's environment are removed. A test that needs one
 *   sets it itself (in its layer's ConfigProvider or in a child process's environment).
 * - The model catalog (cached on disk) goes to a temp folder of this worker's, never the
 *   user's cache; child processes inherit it. It is made inside the run's temporary home
 *   (`$XDG_CACHE_HOME`, set by globalSetup.ts), which is removed when the whole run ends, not
 *   when this file does: a test's child may still be writing there when a file ends.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const providerSettings = /^(FALAI|FAL|TOGETHER|OPENROUTER|REPLICATE)_(API_KEY|KEY|API_TOKEN|BASE_URL|TIMEOUT|RETRIES)$/

for (const name of Object.keys(process.env)) {
  if (providerSettings.test(name)) delete process.env[name]
}

if (process.env.AUTOMARKET_CACHE_DIR === undefined) {
  process.env.AUTOMARKET_CACHE_DIR = fs.mkdtempSync(path.join(process.env.XDG_CACHE_HOME ?? os.tmpdir(), "automarket-test-cache-"))
}
