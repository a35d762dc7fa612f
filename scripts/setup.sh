#!/usr/bin/env bash
# Installs what building and running Sellout needs, skipping whatever is already there:
# the wasm target and a wasm-bindgen CLI that matches Cargo.lock. `setup.sh test` also installs
# what the tests need: Chromium, PostgreSQL and Redis (Debian packages), localstripe (PyPI) and
# Playwright (npm);
# `setup.sh release` adds wasm-opt for the size-optimised wasm; `setup.sh load` what the load
# tool needs (PostgreSQL, Redis and redis-benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p "$SELLOUT_TOOLS/bin"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

wbg_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  log "installing wasm-bindgen-cli $wbg_version (once, about 2 minutes)"
  # Not --locked: the registry mirror lacks a pinned transitive version (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$wbg_version" --root "$SELLOUT_TOOLS" --quiet
fi

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Precompressing the storefront's files (build-site.sh): Debian's brotli.
command -v brotli >/dev/null || apt_install brotli

# Size optimisation of the release wasm: npm's binaryen (Debian's is too old, TOOLCHAIN.md).
if [ "${1:-}" = "release" ] && ! command -v wasm-opt >/dev/null; then
  log "installing wasm-opt (npm binaryen)"
  npm install --prefix "$SELLOUT_TOOLS" --no-audit --no-fund --loglevel=error binaryen@132.0.0
fi

if [ "${1:-}" = "load" ]; then
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-benchmark >/dev/null || apt_install redis-tools
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
fi

if [ "${1:-}" = "test" ]; then
  command -v chromium >/dev/null || apt_install chromium
  command -v redis-server >/dev/null || apt_install redis-server
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  # localstripe (PyPI): a stateful fake Stripe the payment tests talk to, in its own venv.
  if [ ! -x "$SELLOUT_TOOLS/localstripe/bin/localstripe" ]; then
    log "installing localstripe 1.15.10 (PyPI) into $SELLOUT_TOOLS/localstripe"
    python3 -m venv "$SELLOUT_TOOLS/localstripe"
    "$SELLOUT_TOOLS/localstripe/bin/pip" install --quiet --disable-pip-version-check localstripe==1.15.10
  fi
  if [ ! -x end2end/node_modules/.bin/playwright ]; then
    log "installing Playwright (npm, no browser download: Debian's Chromium is used)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
