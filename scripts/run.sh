#!/usr/bin/env bash
# Runs the whole People's Coin system on this machine: PostgreSQL and Redis (started, or
# installed with apt-get as root, when missing), the database and its migrations, coin-api,
# and coin-controller, whose process scaler starts and stops the coin-worker processes.
# Ctrl-C (or SIGTERM) stops everything gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

ensure_base
ensure_database "$DATABASE_URL"
command -v curl >/dev/null || apt_install curl

say "building release binaries (the first build takes a few minutes)"
# The query macros check against the committed .sqlx/, not the DATABASE_URL being run.
SQLX_OFFLINE=true cargo build --release --locked -p coin-api -p coin-worker -p coin-controller
bin="${CARGO_TARGET_DIR:-target}/release"

mkdir -p run/logs
if [ -z "${JWT_SECRET:-}" ]; then
  [ -s run/dev-jwt-secret ] || head -c 32 /dev/urandom | base64 | tr -d '\n=' > run/dev-jwt-secret
  JWT_SECRET=$(cat run/dev-jwt-secret)
  say "JWT_SECRET not set: using the development secret in run/dev-jwt-secret"
fi
export JWT_SECRET
# coin-api's allocator (mimalloc): give freed memory back at once (docs/benchmarks.md).
export MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY:-0}" MIMALLOC_ARENA_EAGER_COMMIT="${MIMALLOC_ARENA_EAGER_COMMIT:-0}"
export RUN_MIGRATIONS=false SCALER="${SCALER:-process}" WORKER_METRICS_PORT_BASE="${WORKER_METRICS_PORT_BASE:-9464}"

"$bin/coin-api" migrate
say "migrations applied"

pids=()
stop_all() {
  trap - INT TERM
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap 'stop_all; exit 0' INT TERM

"$bin/coin-api" >run/logs/coin-api.log 2>&1 & pids+=($!)
"$bin/coin-controller" >run/logs/coin-controller.log 2>&1 & pids+=($!)

api="http://127.0.0.1:${API_PORT:-8000}"
wait_until 30 "coin-api" curl -fsS "$api/health"
wait_until 30 "coin-controller" curl -fsS "http://127.0.0.1:${OBSERVABILITY_PORT:-8080}/health"
cat <<TXT

People's Coin is running (logs in run/logs/):
  API                     $api            (GET /openapi.json)
  Observability Node      http://127.0.0.1:${OBSERVABILITY_PORT:-8080}   (/api/system_state, /metrics)
  Operator console        http://127.0.0.1:${CONSOLE_PORT:-8090}   (sign in with: $bin/coin-api token --sub \$(cat /proc/sys/kernel/random/uuid) --role operator)
  workers                 started by the controller (SCALER=$SCALER), metrics from :$WORKER_METRICS_PORT_BASE

Try it:
  TOKEN=\$($bin/coin-api token --sub \$(cat /proc/sys/kernel/random/uuid) --role member | tail -n 1)
  curl -s -X POST $api/v1/goodwill-actions -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -H "Idempotency-Key: \$(cat /proc/sys/kernel/random/uuid)" \\
       -d '{"action_type":"volunteering","description":"Planted trees","loves_value":10}'
  (on a 503, send it again with the same Idempotency-Key: it never doubles the effect)

Ctrl-C stops everything.
TXT

# If any process exits, stop the others and exit with its status.
set +e
wait -n "${pids[@]}"
status=$?
say "a process exited (status $status)"
stop_all
exit "$status"
