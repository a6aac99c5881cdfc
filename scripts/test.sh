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
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?

node -e '
  const fs = require("node:fs")
  let r
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")) } catch { console.log("0 passed, 1 failed"); process.exit(0) }
  const failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0)
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests + r.numTodoTests > 0 ? `, ${r.numPendingTests + r.numTodoTests} skipped` : ""))
' "$report"
exit $status
