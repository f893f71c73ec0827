# Shared helpers for the scripts in this folder: sourced, not run.
# Every installer here is idempotent: it checks first and installs only what is missing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Tools installed by npm (wasm-opt 132, playwright-core) must win over Debian's older ones.
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Headless Chromium and ChromeDriver from Debian (see ../shared/NOTES.md).
export CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}

TRUNK_VERSION=0.22.1
# The threaded worker needs std rebuilt with atomics (-Z build-std), which needs nightly:
# pinned, with rust-src (scripts/build-threaded-worker.sh).
NIGHTLY_TOOLCHAIN=nightly-2026-05-20
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock, byte for byte.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)

STAGE_LOG=()
# stage NAME COMMAND...: run a step, print how long it took, remember it for the summary.
stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  if "$@"; then
    STAGE_LOG+=("$(printf '%-34s %5ss  ok' "$name" $((SECONDS - start)))")
  else
    local rc=$?
    STAGE_LOG+=("$(printf '%-34s %5ss  FAILED (exit %s)' "$name" $((SECONDS - start)) "$rc")")
    return $rc
  fi
}

print_stages() {
  echo "---- stage timings ----"
  printf '%s\n' "${STAGE_LOG[@]}"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
