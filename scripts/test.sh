#!/usr/bin/env bash
# The test command (`npm test`): install what is missing, type-check, run the whole suite, and
# close with one line `N passed, N failed`. Every service a test needs is started and stopped
# by the test itself.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure.sh || exit 1

echo "typecheck: tsc --noEmit"
npx tsc --noEmit -p tsconfig.json || { echo "0 passed, 1 failed"; exit 1; }

report=$(mktemp -t automarket-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT

# Docker: a private engine (installed and started when missing) and the service images, for
# test/docker; stopped at the end when started here. If it cannot start, the Docker tests fail.
export DOCKER_HOST=unix:///tmp/am-docker/docker.sock
if docker_state=$(bash scripts/docker-env.sh up | tee /dev/stderr | tail -1); then
  [ "$docker_state" != started ] || trap 'rm -f "$report"; bash scripts/docker-env.sh down' EXIT
else
  echo "docker: the engine or the images could not be set up (see above): the Docker tests will fail" >&2
fi
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?

node -e '
  const fs = require("node:fs")
  const status = Number(process.argv[2])
  let r
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")) } catch { console.log("0 passed, 1 failed"); process.exit(0) }
  let failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0)
  if (status !== 0 && failed === 0) {
    // vitest failed the run outside any test (unhandled errors): count it, do not hide it.
    console.log("vitest exited with " + status + " although no test failed (errors outside tests, see above): counted as one failure")
    failed = 1
  }
  const skipped = r.numPendingTests + r.numTodoTests
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ""))
' "$report" "$status"
exit $status
