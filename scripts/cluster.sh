#!/usr/bin/env bash
# A local cluster on this machine: migrates, starts the API and N worker processes against the
# local Postgres and Redis, and keeps them running until Ctrl-C (or SIGTERM), which stops them
# gracefully. What `docker compose up --scale worker=N` does where Docker exists.
#
#   npm run cluster -- --workers 3        # or: WORKERS=3 bash scripts/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/machine.sh

workers="${WORKERS:-2}"
while (($#)); do
  case "$1" in
    -n | --workers)
      workers="${2:-}"
      shift 2 || { log "--workers needs a number"; exit 2; }
      ;;
    -h | --help)
      sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      log "unknown argument $1 (usage: scripts/cluster.sh [--workers N])"
      exit 2
      ;;
  esac
done
if ! [[ "$workers" =~ ^[1-9][0-9]*$ ]] || ((workers > 64)); then
  log "--workers must be a whole number from 1 to 64 (got \"$workers\")"
  exit 2
fi

ensure_services
ensure_node_modules
log "build"
npm run --silent build

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bulwark}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export QUEUE_PREFIX="${QUEUE_PREFIX:-bulwark}"
export API_PORT="${API_PORT:-3000}"
export API_HOST="${API_HOST:-127.0.0.1}"

trap stop_cluster EXIT
trap 'log "stopping"; exit 0' INT TERM
start_cluster "$workers"
log "API on http://$API_HOST:$API_PORT (OpenAPI at /docs), $workers worker(s); Ctrl-C stops them"
log "every call but /health needs an API key: npm run -s keys -- create --tenant NAME --role admin (same DATABASE_URL)"
# Any process that exits ends the cluster: a half-running one would hide the failure.
wait -n
log "a process of the cluster exited; stopping the others (logs in $cluster_logs)"
exit 1
