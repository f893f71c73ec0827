"""The same two training steps in PyTorch on CUDA, for a machine with an NVIDIA GPU: what the
card does with the vendor's own kernels (cuDNN, cuBLAS), set beside our WebGPU figures from
tests/dawn/bench.mjs and `train --bench --backend gpu` in the same run (tests/dawn/pack.sh's
run.sh). Not a peer a browser can have; the floor a browser's WebGPU path could approach.

The networks and the timing are bench.rs's: batch 64, plain SGD at 0.01, cross-entropy; the
first step alone, 3 warm-up steps, then timed steps ended by one read of the loss, so the GPU
is never idle waiting for Python. Strict fp32 (TF32 off, as WebGPU has no TF32), then
PyTorch's defaults (cuDNN convolutions in TF32).

usage: python3 tests/dawn/torch_reference.py [timed steps, default 200]
"""
import sys
import time

import torch
from torch import nn

BATCH, WARMUP = 64, 3
TIMED = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def network(kind):
    if kind == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    # conv32-conv32-pool-conv64-conv64-pool-dense512-dense10, 3x3 valid, relu
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 512), nn.ReLU(), nn.Linear(512, 10),
    )


def measure(kind):
    torch.manual_seed(0)
    model = network(kind).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(BATCH, 1, 28, 28, device="cuda")
    y = torch.randint(0, 10, (BATCH,), device="cuda")
    loss_fn = nn.CrossEntropyLoss()

    def run(n):
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        return loss.item()

    t = time.perf_counter()
    run(1)
    first = (time.perf_counter() - t) * 1000
    run(WARMUP)
    t = time.perf_counter()
    run(TIMED)
    ms = (time.perf_counter() - t) * 1000 / TIMED
    return first, ms


print(f"## PyTorch {torch.__version__} on {torch.cuda.get_device_name()} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}), batch {BATCH}, {TIMED} timed steps")
for tf32 in (False, True):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    label = "TF32 convolutions/matmuls" if tf32 else "strict fp32"
    for kind in ("linear", "vgg"):
        first, ms = measure(kind)
        print(f"pytorch cuda ({label:>25}) {kind:<8} first step {first:8.1f} ms  {ms:9.3f} ms/step  {BATCH * 1000 / ms:8.0f} images/s")
