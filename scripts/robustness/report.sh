#!/usr/bin/env bash
# npm run report:robustness [-- --only <evaluation> | --no-wait | --help …]: regenerates
# docs/robustness.{md,json} and the curve figures from stored runs, submitting (and waiting for)
# the ones that are missing. With --plan FILE --out DIR, the same for a plan of your own.
# On a fresh machine that is hours of CPU training (the runs resume if interrupted). With
# BULWARK_API set it talks to that running cluster; otherwise it starts an API and a worker
# (two jobs at a time per queue) against the local Postgres and Redis. Its calls send BULWARK_API_KEY;
# unset, a key of tenant "default" is created (the tenant that owns runs stored before tenants existed).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/machine.sh

# --help needs the build, not the services or a cluster.
for arg in "$@"; do
  if [ "$arg" = --help ] || [ "$arg" = -h ]; then
    ensure_node_modules
    npm run --silent build
    exec node dist/scripts/robustness/report.js --help
  fi
done

prepare_machine_and_build

if [ -z "${BULWARK_API:-}" ]; then
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bulwark}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  export QUEUE_PREFIX="${QUEUE_PREFIX:-bulwark-report}"
  export API_PORT="${API_PORT:-3000}"
  export API_HOST="${API_HOST:-127.0.0.1}"
  export WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"
  trap stop_cluster EXIT
  start_cluster
  BULWARK_API="http://$API_HOST:$API_PORT"
  if [ -z "${BULWARK_API_KEY:-}" ]; then
    BULWARK_API_KEY=$(create_api_key default member)
    export BULWARK_API_KEY
  fi
fi
[ -n "${BULWARK_API_KEY:-}" ] || { log "BULWARK_API is set: set BULWARK_API_KEY to an API key of that cluster too"; exit 2; }

node dist/scripts/robustness/report.js --api "$BULWARK_API" "$@"
