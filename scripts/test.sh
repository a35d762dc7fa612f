#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests on SQLite and PostgreSQL, the store contract
# suites on the embedded adapters and Redis, then Playwright in Chromium against the demo shop and
# a second shop that takes cards with (localstripe's) Stripe.js.
# Uses TEST_DATABASE_URL / TEST_REDIS_URL / TEST_STRIPE_URL when given; otherwise starts
# throw-away PostgreSQL, Redis and localstripe servers (own data dir, free port) and stops them at
# the end, also when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh test

work=$(mktemp -d /tmp/sellout-test.XXXXXX)
chmod 755 "$work"
pg_data="" redis_pid="" stripe_pid=""
cleanup() {
  local code=$?
  if [ -n "$pg_data" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$stripe_pid" ]; then kill "$stripe_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit $code
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_data="$work/pg"
  port=$(free_port)
  mkdir -p "$pg_data"
  [ "$(id -u)" = 0 ] && chown postgres "$pg_data"
  log "starting a throw-away PostgreSQL on port $port"
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/log" -w \
    -o "-p $port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
fi

if [ -z "${TEST_REDIS_URL:-}" ]; then
  port=$(free_port)
  log "starting a throw-away Redis on port $port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
  for _ in $(seq 50); do [ -s "$work/redis.pid" ] && break; sleep 0.1; done
  redis_pid=$(cat "$work/redis.pid")
  export TEST_REDIS_URL="redis://127.0.0.1:$port"
fi

if [ -z "${TEST_STRIPE_URL:-}" ]; then
  port=$(free_port)
  log "starting a throw-away localstripe on port $port"
  "$SELLOUT_TOOLS/localstripe/bin/localstripe" --port "$port" --from-scratch >"$work/localstripe.log" 2>&1 &
  stripe_pid=$!
  for _ in $(seq 100); do
    curl -fsS -u sk_test_sellout: "http://127.0.0.1:$port/v1/payment_intents" >/dev/null 2>&1 && break
    sleep 0.1
  done
  export TEST_STRIPE_URL="http://127.0.0.1:$port/"
fi

log "Rust tests (unit, integration on SQLite + PostgreSQL, store contracts on embedded + Redis)"
# A cap well under CI's 90 minutes: a hung test fails the run instead of stalling it.
timeout --kill-after=30s 40m cargo test --workspace --exclude frontend --features app/ssr

log "building the storefront for the browser tests"
cargo build -p server
bash scripts/build-site.sh

log "Playwright in Chromium"
export SELLOUT_BIN="$CARGO_TARGET_DIR/debug/sellout" E2E_PORT=$(free_port) E2E_STRIPE_PORT=$(free_port) E2E_DATA_DIR="$work/e2e-data"
(cd end2end && npx playwright test)
