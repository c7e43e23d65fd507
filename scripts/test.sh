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
latency_report=$(mktemp -t bulwark-jest-latency-XXXXXX.json)
trap 'rm -f "$report" "$latency_report"' EXIT
set +e
if (($#)); then
  npx jest --ci --maxWorkers=2 --json --outputFile="$report" "$@"
  status=$?
else
  npx jest --ci --maxWorkers=2 --json --outputFile="$report" --selectProjects unit training integration e2e chaos
  status=$?
  # Last and alone: a latency bound measures the API, not the other tests sharing its two cores.
  log "latency tests, alone"
  npx jest --ci --maxWorkers=1 --json --outputFile="$latency_report" --selectProjects latency
  latency_status=$?
  ((status == 0)) && status=$latency_status
fi
set -e
if ((${#failed_checks[@]})); then
  log "failed checks: ${failed_checks[*]} (run them alone: npm run typecheck | lint | format:check; npm run format fixes formatting)"
  status=1
fi
node -e '
  const fs = require("fs");
  const [checks, main, latency] = process.argv.slice(1);
  const failedChecks = checks ? checks.split(" ") : [];
  // A run given arguments writes no latency report; the main one must exist.
  const reports = [main, ...(fs.statSync(latency).size > 0 ? [latency] : [])].map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  const sum = (key) => reports.reduce((n, r) => n + r[key], 0);
  const skipped = sum("numPendingTests") + sum("numTodoTests");
  const failed = sum("numFailedTests") + sum("numRuntimeErrorTestSuites") + failedChecks.length;
  console.log(`${sum("numPassedTests")} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "${failed_checks[*]}" "$report" "$latency_report" || echo "0 passed, $((1 + ${#failed_checks[@]})) failed"
exit "$status"
