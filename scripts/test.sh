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
source scripts/services.sh
start_services "$work"

log "Rust tests (unit, integration on SQLite + PostgreSQL, store contracts on embedded + Redis)"
# A cap well under CI's 90 minutes: a hung test fails the run instead of stalling it.
timeout --kill-after=30s 40m cargo test --workspace --exclude frontend --features app/ssr

log "building the storefront for the browser tests"
cargo build -p server
bash scripts/build-site.sh

log "Playwright in Chromium"
export SELLOUT_BIN="$CARGO_TARGET_DIR/debug/sellout" E2E_PORT=$(free_port) E2E_STRIPE_PORT=$(free_port) E2E_DATA_DIR="$work/e2e-data"
(cd end2end && npx playwright test)
