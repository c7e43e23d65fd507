#!/usr/bin/env bash
# Command 1: the main job, end to end on a fresh machine. Installs, migrates, starts the API and
# one worker against the local Postgres and Redis, submits the demo runs (plain vs FGSM
# adversarial training), follows them and prints clean and FGSM accuracy side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/machine.sh

prepare_machine_and_build

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bulwark}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export QUEUE_PREFIX="${QUEUE_PREFIX:-bulwark-demo}"
export API_PORT="${API_PORT:-3000}"
export API_HOST="${API_HOST:-127.0.0.1}"

trap stop_cluster EXIT
start_cluster
# Every call needs an API key: the demo makes one for its own tenant, as an operator would.
if [ -z "${BULWARK_API_KEY:-}" ]; then
  BULWARK_API_KEY=$(create_api_key demo member)
  export BULWARK_API_KEY
  log "created an API key of tenant demo (npm run -s keys -- create --tenant demo --role member)"
fi

node dist/scripts/demo-client.js "http://$API_HOST:$API_PORT" || { log "demo failed; worker log:"; tail -n 40 "$cluster_logs/worker-1.log" >&2; exit 1; }
