#!/usr/bin/env bash
# Command 2: the whole test suite. Static checks first (typecheck, lint, format), then the four
# jest tiers (unit, training, integration against the real Postgres and Redis, end to end
# through HTTP and a real worker). Ends with one line, "N passed, N failed", whatever failed:
# a failed check counts there as one failure (named on the line before) and fails the run, but
# the tests still run, so one run reports everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/machine.sh

prepare_machine_and_build

failed_checks=()
check() {
  local name=$1
  shift
  log "$name"
  if ! "$@"; then
    failed_checks+=("$name")
    log "$name FAILED (the tests run anyway; the run fails at the end)"
  fi
}
check typecheck npm run --silent typecheck
check lint npm run --silent lint
check format npm run --silent format:check

report=$(mktemp -t bulwark-jest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
set +e
npx jest --ci --maxWorkers=2 --json --outputFile="$report" "$@"
status=$?
set -e
if ((${#failed_checks[@]})); then
  log "failed checks: ${failed_checks[*]} (run them alone: npm run typecheck | lint | format:check; npm run format fixes formatting)"
  status=1
fi
node -e '
  const [file, checks] = process.argv.slice(1);
  const failedChecks = checks ? checks.split(" ") : [];
  const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + failedChecks.length;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" "${failed_checks[*]}" || echo "0 passed, $((1 + ${#failed_checks[@]})) failed"
exit "$status"
