#!/usr/bin/env bash
# Build the threaded worker: the same `worker` binary, compiled with WebAssembly threads
# (shared memory and atomics) so burn's CPU kernels run on a pool of Web Workers
# (src/worker/threads.rs). The page uses it only where the browser allows shared memory
# (a cross-origin isolated page); everywhere else it uses the single-threaded worker that
# Trunk builds. See README, "Two worker builds".
#
# Trunk runs this after every build (a post_build hook in Trunk.toml) and puts what it writes
# into TRUNK_STAGING_DIR next to the rest of the app: worker_mt.js, worker_mt_bg.wasm.
# By hand: bash scripts/build-threaded-worker.sh [--release] [OUT_DIR]
# For profiling (README, "Profiling the CPU path"): EXTRA_RUSTFLAGS adds rustc flags (such as
# "--cfg mnist_timeline") and THREADS_TARGET_DIR names another target folder, so that such a
# build does not replace the shipped one's cache.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

profile=${TRUNK_PROFILE:-debug}
out=${TRUNK_STAGING_DIR:-}
for arg in "$@"; do
  case $arg in
    --release) profile=release ;;
    *) out=$arg ;;
  esac
done
out=${out:-dist}
mkdir -p "$out"

# Threads need std rebuilt with atomics, which only a nightly toolchain can do (-Z build-std);
# the toolchain is pinned (scripts/setup.sh installs it). +simd128 as in .cargo/config.toml,
# which RUSTFLAGS replaces. Since late 2025 rustc no longer makes the memory shared by itself
# when +atomics is on (rust-lang/rust#147225), so the linker is told: a shared, imported
# memory (wasm-bindgen's thread support needs both) and the TLS symbols wasm-bindgen uses to
# give every thread its own thread-locals. The memory may grow to 2 GiB: MNIST takes 55 MB,
# a VGG run on the CPU about 130 MB more.
link=(--shared-memory --import-memory --max-memory=2147483648 --export=__heap_base
      --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base)
RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128"
for a in "${link[@]}"; do RUSTFLAGS+=" -C link-arg=$a"; done
RUSTFLAGS+=" ${EXTRA_RUSTFLAGS:-}"
target_dir=${THREADS_TARGET_DIR:-target/threads}
export RUSTFLAGS
release=()
[ "$profile" = release ] && release=(--release)
# A target folder of its own: these flags would otherwise invalidate the stable build's cache.
cargo "+$NIGHTLY_TOOLCHAIN" build "${release[@]}" --target wasm32-unknown-unknown \
  -Z build-std=panic_abort,std --bin worker --target-dir "$target_dir"
wasm-bindgen --target no-modules --no-typescript --out-dir "$out" --out-name worker_mt \
  "$target_dir/wasm32-unknown-unknown/$profile/worker.wasm"
echo "threaded worker ($profile) written to $out: $(du -h "$out/worker_mt_bg.wasm" | cut -f1)"
