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

db=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$DATABASE_URL")
admin=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/postgres"; console.log(u.toString())' "$DATABASE_URL")
if [ "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  log "creating database $db"
  psql "$admin" -qc "CREATE DATABASE \"$db\""
fi
log "migrate"
npm run --silent migrate

logs=$(mktemp -d -t bulwark-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
node dist/apps/api/src/main.js >"$logs/api.log" 2>&1 & pids+=($!)
node dist/apps/worker/src/main.js >"$logs/worker.log" 2>&1 & pids+=($!)
log "api and worker started (logs in $logs)"

for _ in $(seq 1 60); do
  node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://$API_HOST:$API_PORT/health" && break
  sleep 1
done

node dist/scripts/demo-client.js "http://$API_HOST:$API_PORT" || { log "demo failed; worker log:"; tail -n 40 "$logs/worker.log" >&2; exit 1; }
