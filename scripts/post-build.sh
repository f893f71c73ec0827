#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): the threaded worker, wasm-opt on the page's and the
# single-threaded worker's wasm (release builds), then the service worker's file list, which
# must include the threaded worker's files and the optimised wasm, then the Brotli and gzip
# copies of every text and wasm file for servers that send precompressed files (README,
# "Serving it yourself"). In this order, hence one hook.
set -euo pipefail
bash "$(dirname "$0")/build-threaded-worker.sh"
bash "$(dirname "$0")/optimise-wasm.sh"
bash "$(dirname "$0")/stamp-service-worker.sh"
dir=${TRUNK_STAGING_DIR:-${1:-dist}}
root=$(cd "$(dirname "$0")/.." && pwd)
# Small files gain nothing worth a request's Vary; the MNIST files come compressed already.
# The default network's weights are floats: 9% smaller, still 0.27 MB.
cd "$dir"
mapfile -t files < <(find . -maxdepth 2 -type f -size +1k ! -path './data/*' \
  \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' -o -name '*.json' -o -name '*.weights' \))
node "$root/scripts/compress.mjs" --gzip --cache "$root/target/precompressed" "${files[@]}"
