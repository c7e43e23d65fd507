#!/usr/bin/env bash
# Command 2: the whole test suite (unit, integration against the real Postgres and Redis,
# end to end through HTTP and a real worker). Ends with one line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/machine.sh

prepare_machine_and_build
log "typecheck"
npm run --silent typecheck

report=$(mktemp -t bulwark-jest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
set +e
npx jest --ci --maxWorkers=2 --json --outputFile="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || echo "0 passed, 1 failed"
exit "$status"
