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

# stage_beside NAME COMMAND...: run a step in the background, its output kept aside; then
# join_stages prints each one's output and time, in the order started, and fails if one did.
# For steps that mostly wait on the network or use one core, beside the ones that compile
# Rust on every core.
BESIDE_DIR=""
BESIDE_PIDS=()
BESIDE_NAMES=()
stage_beside() {
  local name=$1; shift
  [ -n "$BESIDE_DIR" ] || BESIDE_DIR=$(mktemp -d)
  local n=${#BESIDE_PIDS[@]}
  (
    start=$SECONDS
    rc=0
    "$@" > "$BESIDE_DIR/$n.log" 2>&1 || rc=$?
    echo "$rc $((SECONDS - start))" > "$BESIDE_DIR/$n.rc"
  ) &
  BESIDE_PIDS+=($!)
  BESIDE_NAMES+=("$name")
}

join_stages() {
  local i rc secs failed=0
  for i in "${!BESIDE_PIDS[@]}"; do
    wait "${BESIDE_PIDS[$i]}" || true
    echo "==> ${BESIDE_NAMES[$i]} (beside the others)"
    cat "$BESIDE_DIR/$i.log"
    read -r rc secs < "$BESIDE_DIR/$i.rc" || { rc=1; secs=0; }
    if [ "$rc" = 0 ]; then
      STAGE_LOG+=("$(printf '%-34s %5ss  ok (beside)' "${BESIDE_NAMES[$i]}" "$secs")")
    else
      STAGE_LOG+=("$(printf '%-34s %5ss  FAILED (exit %s, beside)' "${BESIDE_NAMES[$i]}" "$secs" "$rc")")
      failed=1
    fi
  done
  rm -rf "$BESIDE_DIR"
  BESIDE_DIR="" BESIDE_PIDS=() BESIDE_NAMES=()
  return $failed
}
