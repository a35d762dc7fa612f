# Throw-away PostgreSQL, Redis and localstripe for the test command and the load tool (sourced,
# not run). `start_services DIR [stripe]` starts each one whose URL is not already given
# (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_STRIPE_URL; localstripe only with `stripe`), each on
# a free port with its data under DIR, exports its URL, and stops them all and removes DIR when
# the calling script exits, also when it fails.

pg_data="" redis_pid="" stripe_pid="" services_dir=""
stop_services() {
  local code=$?
  if [ -n "$pg_data" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$stripe_pid" ]; then kill "$stripe_pid" 2>/dev/null || true; fi
  if [ -n "$services_dir" ]; then rm -rf "$services_dir"; fi
  exit $code
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_services() {
  services_dir="$1"
  local want_stripe="${2:-stripe}" port
  chmod 755 "$services_dir"
  trap stop_services EXIT INT TERM

  if [ -z "${TEST_DATABASE_URL:-}" ]; then
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    pg_data="$services_dir/pg"
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
      --dir "$services_dir" --pidfile "$services_dir/redis.pid" --logfile "$services_dir/redis.log"
    for _ in $(seq 50); do [ -s "$services_dir/redis.pid" ] && break; sleep 0.1; done
    redis_pid=$(cat "$services_dir/redis.pid")
    export TEST_REDIS_URL="redis://127.0.0.1:$port"
  fi

  if [ "$want_stripe" = stripe ] && [ -z "${TEST_STRIPE_URL:-}" ]; then
    port=$(free_port)
    log "starting a throw-away localstripe on port $port"
    "$SELLOUT_TOOLS/localstripe/bin/localstripe" --port "$port" --from-scratch >"$services_dir/localstripe.log" 2>&1 &
    stripe_pid=$!
    for _ in $(seq 100); do
      curl -fsS -u sk_test_sellout: "http://127.0.0.1:$port/v1/payment_intents" >/dev/null 2>&1 && break
      sleep 0.1
    done
    export TEST_STRIPE_URL="http://127.0.0.1:$port/"
  fi
}
