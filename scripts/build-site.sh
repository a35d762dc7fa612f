#!/usr/bin/env bash
# Builds what the browser loads into $SELLOUT_SITE_ROOT: the hydrating wasm (frontend crate +
# wasm-bindgen), the stylesheet and public/. `--release` builds the size-optimised wasm
# (profile wasm-release) and runs wasm-opt when npm's binaryen is installed. The files are named
# by their content and precompressed (gzip; brotli with Debian's `brotli`, which setup.sh installs).
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

# Each file named by its content (the server lists them from assets.json and serves them as
# immutable), then compressed once for the browsers that take brotli or gzip.
rm -f "$pkg"/sellout.*.js "$pkg"/sellout_bg.*.wasm "$pkg"/sellout.*.css "$pkg"/*.br "$pkg"/*.gz
named() { # file stem ext → stem.<hash>.ext, moved into place
  local hash; hash=$(sha256sum "$pkg/$1" | cut -c1-20)
  mv "$pkg/$1" "$pkg/$2.$hash.$3"
  echo "$2.$hash.$3"
}
js=$(named sellout.js sellout js)
wasm=$(named sellout_bg.wasm sellout_bg wasm)
css=$(named sellout.css sellout css)
printf '{"js":"%s","wasm":"%s","css":"%s"}\n' "$js" "$wasm" "$css" > "$pkg/assets.json"
quality=5; [ "$wasm_dir" = wasm-release ] && quality=11
for f in "$js" "$wasm" "$css"; do
  gzip -9 -k -f "$pkg/$f"
  if command -v brotli >/dev/null; then brotli -q "$quality" -k -f "$pkg/$f"; fi
done
size() { if [ -f "$1" ]; then du -k "$1" | cut -f1; else echo -; fi; }
log "site ready in $SELLOUT_SITE_ROOT: wasm $(size "$pkg/$wasm") KB ($(size "$pkg/$wasm.br") KB brotli, $(size "$pkg/$wasm.gz") KB gzip), js $(size "$pkg/$js") KB, css $(size "$pkg/$css") KB"
