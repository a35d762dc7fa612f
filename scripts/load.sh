#!/usr/bin/env bash
# The load test (`make load`, README "Performance"): builds the release shop and the load tool
# (end2end/load), starts throw-away PostgreSQL and Redis as the test command does (or uses
# TEST_DATABASE_URL / TEST_REDIS_URL), and runs the scenarios. Arguments go to the tool, e.g.
#   make load ARGS="--scenarios flash --shoppers 10000"
#   bash scripts/load.sh --json > load.json
#   bash scripts/load.sh --embedded            # browse on the embedded default (SQLite), no servers
# Everything it starts is stopped and everything it writes removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh load

log "building the release shop and the load tool"
cargo build --release -p server -p sellout-load

servers=()
if [[ " $* " != *" --embedded "* ]]; then
  work=$(mktemp -d /tmp/sellout-load.XXXXXX)
  source scripts/services.sh
  start_services "$work" no-stripe
  servers=(--database-url "$TEST_DATABASE_URL" --redis-url "$TEST_REDIS_URL")
fi

# 20,000 websockets need as many descriptors in the tool and the shop (which inherits this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "running the load tool (open files: $(ulimit -n))"
"$CARGO_TARGET_DIR/release/sellout-load" \
  --shop-bin "$CARGO_TARGET_DIR/release/sellout" \
  "${servers[@]}" \
  "$@"
