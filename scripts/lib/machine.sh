# Shared by scripts/test.sh and scripts/demo.sh: make a fresh machine of this kind ready.
# Installs what the project needs and starts Postgres and Redis if they are down.

log() { printf '\033[1m[bulwark]\033[0m %s\n' "$*" >&2; }

# Debian packages the tests and the demo use; installed only when missing.
ensure_system_packages() {
  local missing=()
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql-client)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  # The dashboard's browser test (test/e2e/dashboard.spec.ts) drives Debian's Chromium with playwright-core.
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Fashion-MNIST's IDX files, which the dataset tests read (libs/data DEFAULT_FASHION_MNIST_DIR).
  [ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
  # Mesa's llvmpipe through EGL, which the webgpu parity spec runs Dawn's OpenGL ES route on: Dawn
  # dlopens the unversioned libEGL.so (libegl-dev), libegl-mesa0 is Mesa's EGL, libgl1-mesa-dri llvmpipe.
  local pkg
  for pkg in libegl-dev libegl-mesa0 libgl1-mesa-dri; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt)"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
  fi
}

ensure_services() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; return 1; }
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { log "Redis is not reachable on 127.0.0.1:6379"; return 1; }
}

# npm ci only when package-lock.json changed since the last install (a fresh clone always installs).
ensure_node_modules() {
  local stamp=node_modules/.bulwark-lock-sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci (the native TensorFlow packages are optional: their failed download is expected offline)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
}

# Everything both commands need before they run anything of the project's.
prepare_machine_and_build() {
  ensure_system_packages
  ensure_services
  ensure_node_modules
  log "build"
  npm run --silent build
}

# Creates the database of $DATABASE_URL if missing, migrates it, starts the API and N worker
# processes (the first argument, default 1) in the background (logs in $cluster_logs: api.log,
# worker-1.log …) and waits for /health. The caller sets DATABASE_URL, REDIS_URL, QUEUE_PREFIX,
# API_HOST and API_PORT, and must call stop_cluster on exit.
cluster_pids=()
start_cluster() {
  local workers=${1:-1} db admin i
  db=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$DATABASE_URL")
  admin=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/postgres"; console.log(u.toString())' "$DATABASE_URL")
  if [ "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    log "creating database $db"
    psql "$admin" -qc "CREATE DATABASE \"$db\""
  fi
  log "migrate"
  npm run --silent migrate
  cluster_logs=$(mktemp -d -t bulwark-cluster-XXXXXX)
  node dist/apps/api/src/main.js >"$cluster_logs/api.log" 2>&1 & cluster_pids+=($!)
  for i in $(seq 1 "$workers"); do
    node dist/apps/worker/src/main.js >"$cluster_logs/worker-$i.log" 2>&1 & cluster_pids+=($!)
  done
  log "api and $workers worker(s) started (logs in $cluster_logs)"
  for _ in $(seq 1 60); do
    node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://$API_HOST:$API_PORT/health" && return 0
    sleep 1
  done
  log "the API did not answer /health within 60 s; its log:"; tail -n 40 "$cluster_logs/api.log" >&2
  return 1
}

# Prints a new API key of tenant $1 (created if new) with role $2 (default member), made by the
# admin command the README documents; the database of $DATABASE_URL must be migrated (start_cluster does).
create_api_key() {
  npm run --silent keys -- create --tenant "$1" --role "${2:-member}" | tail -n 1
}

stop_cluster() {
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
