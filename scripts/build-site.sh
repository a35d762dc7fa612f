#!/usr/bin/env bash
# Builds what the browser loads into $SELLOUT_SITE_ROOT: the hydrating wasm (frontend crate +
# wasm-bindgen), the stylesheet and public/. `--release` builds the size-optimised wasm
# (profile wasm-release) and runs wasm-opt when npm's binaryen is installed.
# This is what cargo-leptos does for us, without its 13-minute install (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

profile_flag=(); wasm_dir=debug
if [ "${1:-}" = "--release" ]; then profile_flag=(--profile wasm-release); wasm_dir=wasm-release; fi

log "building the wasm storefront (${wasm_dir})"
cargo build -p frontend --lib --target wasm32-unknown-unknown "${profile_flag[@]}"
pkg="$SELLOUT_SITE_ROOT/pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name sellout \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
if [ "$wasm_dir" = wasm-release ] && command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$pkg/sellout_bg.wasm" -o "$pkg/sellout_bg.wasm.opt" && mv "$pkg/sellout_bg.wasm.opt" "$pkg/sellout_bg.wasm"
fi
cat style/*.css > "$pkg/sellout.css"
cp -r public/. "$SELLOUT_SITE_ROOT/"
log "site ready in $SELLOUT_SITE_ROOT ($(du -h "$pkg/sellout_bg.wasm" | cut -f1) wasm)"
