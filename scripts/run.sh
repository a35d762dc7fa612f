#!/usr/bin/env bash
# Builds and runs the demo shop at http://127.0.0.1:3000 on the embedded default: SQLite under
# ./data, in-process stores, the demo catalog seeded on first start. No accounts, keys or services.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if [ "${1:-}" = "--release" ]; then bash scripts/setup.sh release; else bash scripts/setup.sh; fi
bash scripts/build-site.sh "$@"
if [ "${1:-}" = "--release" ]; then
  cargo build -p server --release
  bin="$CARGO_TARGET_DIR/release/sellout"
else
  cargo build -p server
  bin="$CARGO_TARGET_DIR/debug/sellout"
fi
log "starting Sellout on http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000} (Ctrl-C stops it)"
exec "$bin" serve
