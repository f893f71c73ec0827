#!/usr/bin/env bash
# Install whatever is missing for building, serving and testing the app; quick when all is there.
# Usage: bash scripts/setup.sh          (everything)
#        SETUP_SKIP_BROWSER=1 ...       (no Chromium: for serving only)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
}

need_nightly() {
  if rustup run "$NIGHTLY_TOOLCHAIN" rustc --version >/dev/null 2>&1 \
     && rustup component list --toolchain "$NIGHTLY_TOOLCHAIN" --installed | grep -q '^rust-src'; then return 0; fi
  rustup toolchain install "$NIGHTLY_TOOLCHAIN" --profile minimal --component rust-src
}

need_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return 0; fi
  # Not --locked: the lock file shipped with wasm-bindgen-cli 0.2.130 pins webpki-roots 1.0.11,
  # which this machine's registry mirror does not carry; the resolver picks a compatible one.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
}

need_trunk() {
  if trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then return 0; fi
  # trunk 0.22.1 declares rustc 1.96.1 but builds and runs on 1.95.
  # --debug: its release profile (fat LTO, one codegen unit) compiled for 17 minutes on 2
  # cores, 12 of them on one core; without LTO 11 minutes, unoptimised 6.6 (2026-12-02, this
  # machine idle). trunk only orchestrates (cargo, wasm-bindgen, our hook) and copies files:
  # a release build with nothing to compile took 18-22 s instead of 14, and its server sent the
  # 47 MB training images in 73 ms instead of 41 on 127.0.0.1 (one request each).
  cargo install trunk --version "$TRUNK_VERSION" --locked --ignore-rust-version --force --debug
}

need_npm_packages() {
  # binaryen@132 is the only wasm-opt that reads wasm-bindgen 0.2.130 output (table.fill).
  if [ -x node_modules/.bin/wasm-opt ] && [ -d node_modules/playwright-core ] \
     && [ node_modules/.package-lock.json -nt package-lock.json ]; then return 0; fi
  npm ci --no-audit --no-fund
}

need_chromium() {
  if [ -x "$CHROMIUM_BIN" ] && [ -x "$CHROMEDRIVER" ]; then return 0; fi
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
}

# On a fresh machine wasm-bindgen-cli and trunk compile on every core (about 4 and 7 minutes),
# while the npm packages, Chromium and MNIST are downloads, plus MNIST's Brotli copies on one
# core for about 4 minutes: those run beside the compiles. (Not cargo fetch: it would wait on
# the installs' lock of cargo's package cache.)
# The first step that fails ends the setup (set -e), as when they all ran in turn; however it
# ends, the steps beside are waited for and every step's time is printed.
trap 'join_stages || true; print_stages' EXIT
stage_beside "npm packages" need_npm_packages
if [ -z "${SETUP_SKIP_BROWSER:-}" ]; then stage_beside "chromium + chromedriver" need_chromium; fi
stage_beside "MNIST data" bash scripts/fetch-mnist.sh
stage "rust target wasm32" need_wasm_target
stage "rust $NIGHTLY_TOOLCHAIN + rust-src" need_nightly
stage "wasm-bindgen-cli $WASM_BINDGEN_VERSION" need_wasm_bindgen
stage "trunk $TRUNK_VERSION" need_trunk
join_stages
stage "cargo fetch" cargo fetch --quiet
