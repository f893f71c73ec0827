#!/usr/bin/env bash
# wasm-opt on the page's, the reader's and the single-threaded worker's wasm in release builds, from Trunk's
# post-build hook (scripts/post-build.sh), before the service worker's list and the compressed
# copies are made from them. Not Trunk's own wasm-opt step (off in www/index.html): that reruns
# on every release build, and npm's binaryen 132, the one wasm-opt that handles wasm-bindgen
# 0.2.130's output correctly (README, "Notes"), runs as JavaScript on one thread: about 2
# minutes for the page and 3 for the worker on this 2-core machine. Here each result is kept
# under the SHA-256 of its input and its options (target/wasm-opt/), so a build whose wasm did
# not change optimises nothing, and `serve.sh` after `test.sh` (or the reverse) reuses it.
# By hand: bash scripts/optimise-wasm.sh [DIR]   (default dist; always optimises)
set -euo pipefail
[ "${TRUNK_PROFILE:-release}" = release ] || exit 0
dir=${TRUNK_STAGING_DIR:-${1:-dist}}
root=$(cd "$(dirname "$0")/.." && pwd)
wasm_opt="$root/node_modules/.bin/wasm-opt"
[ -x "$wasm_opt" ] || { echo "optimise-wasm: $wasm_opt is missing: run bash scripts/setup.sh" >&2; exit 1; }
# The features rustc used (SIMD is on for all our wasm: .cargo/config.toml), which the
# stripped files no longer name, so wasm-opt must be told.
features=(--enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
          --enable-mutable-globals --enable-multivalue)
cache="$root/target/wasm-opt"

# optimise FILE OPTION...: FILE replaced by wasm-opt's output, from the cache when it has it.
optimise() {
  local wasm=$1; shift
  local key kept before start
  key=$( (sha256sum < "$wasm"; echo "$*") | sha256sum | cut -c1-64)
  kept="$cache/$key.wasm"
  if [ ! -f "$kept" ]; then
    mkdir -p "$cache"
    start=$SECONDS
    "$wasm_opt" "$@" "$wasm" -o "$kept.part"
    # Renamed once whole: an interrupted run must not leave a cut file to reuse.
    mv "$kept.part" "$kept"
    echo "optimise-wasm: $(basename "$wasm"): wasm-opt $* took $((SECONDS - start)) s"
  fi
  before=$(stat -c %s "$wasm")
  cp "$kept" "$wasm"
  echo "optimise-wasm: $(basename "$wasm") $before -> $(stat -c %s "$wasm") bytes"
}

# binaryen.js uses one thread, so the two run side by side (on 2 cores about 3 minutes, not 5).
pids=()
# The page (yew, 4.7 MB): for size.
for page in "$dir"/app-*_bg.wasm; do optimise "$page" "${features[@]}" -Oz & pids+=($!); done
# The worker (burn with WebGPU, 31 MB): -O1, plus reference types for wasm-bindgen's table of
# JavaScript values (`table.fill`), which the worker uses and the page does not. Why -O1
# (README, "Size levers"): 31.4 -> 24.4 MB raw, Brotli 2.78 -> 2.71 MB, and V8 compiles it
# sooner (the first drawing is read about 0.1 s sooner); -O2, -Os and -Oz make it smaller raw
# but larger compressed and take longer. The threaded worker gains nothing from it.
optimise "$dir/worker_bg.wasm" "${features[@]}" --enable-reference-types -O1 & pids+=($!)
# The reader (no burn, a few hundred kB): for speed, since it runs the network at every stroke.
optimise "$dir/reader_bg.wasm" "${features[@]}" --enable-reference-types -O3 & pids+=($!)
# Each wait returns its job's status, so a failed wasm-opt fails the build.
for pid in "${pids[@]}"; do wait "$pid"; done
