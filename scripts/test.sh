#!/usr/bin/env bash
# Set up whatever is missing, then run every test: native, browser (wasm-bindgen-test in
# headless Chromium with WebGPU) and end to end (the built app driven by Playwright).
# Ends with one line: "ALL TESTS PASSED" or "TESTS FAILED: <stages>".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
START=$SECONDS

bash scripts/setup.sh || { echo "TESTS FAILED: setup"; exit 1; }

FAILED=()
run() { stage "$@" || FAILED+=("$1"); }

# The browser tests need WebGPU in headless Chromium: SwiftShader, on the CPU.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-280}

# Tests run in parallel: a run's weights come from its own seeded generator, not from burn's
# process-wide one (src/model/init.rs), so two tests cannot disturb each other's start.
run "native tests (cargo test)" cargo test --quiet
# Release, as `scripts/serve.sh` builds: the browser tests, the Trunk build and the served app
# share one build of burn for wasm, so a newcomer who runs both README commands compiles it
# once (and the end-to-end tests drive the very build that is served).
# No --quiet: cargo would hand it to wasm-bindgen-test-runner, which rejects it.
run "browser tests (wasm-bindgen-test)" cargo test --release --target wasm32-unknown-unknown --features webgpu --test web
# Shares every compiled dependency with the browser tests above: burn for wasm is built once,
# for the single-threaded worker (the page is built without burn). Its post-build hook builds the threaded worker
# (nightly, std with atomics): a second build of burn, in target/threads, also reused by
# `scripts/serve.sh`.
run "trunk build (release)" trunk build --release
run "end-to-end tests (playwright)" node tests/e2e/run.mjs dist

print_stages
echo "total $((SECONDS - START))s"
if [ ${#FAILED[@]} -eq 0 ]; then
  echo "ALL TESTS PASSED"
else
  echo "TESTS FAILED: ${FAILED[*]}"
  exit 1
fi
