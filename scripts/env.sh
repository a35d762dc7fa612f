# Shared settings for every Sellout script (sourced, not run). Tools and cargo's target dir live
# outside the clone so a second run (and CI on the same machine) builds incrementally.
export SELLOUT_TOOLS="${SELLOUT_TOOLS:-$HOME/.cache/sellout-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sellout-target}"
export PATH="$SELLOUT_TOOLS/bin:$SELLOUT_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export SELLOUT_SITE_ROOT="${SELLOUT_SITE_ROOT:-$CARGO_TARGET_DIR/site}"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
