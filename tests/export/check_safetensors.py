# Runs the exported network in numpy exactly as the README's PyTorch module would (eval mode),
# on MNIST test images: the layouts are right if the accuracy is the network's.
import json, sys, numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open
path, data = sys.argv[1], sys.argv[2]
t = load_file(path)
meta = safe_open(path, "np").metadata()
imgs = np.fromfile(f"{data}/t10k-images-idx3-ubyte", np.uint8, offset=16).reshape(-1, 1, 28, 28)[:2000]
labels = np.fromfile(f"{data}/t10k-labels-idx1-ubyte", np.uint8, offset=8)[:2000]
x = (imgs / 255.0 - float(meta["input_mean"])) / float(meta["input_std"])
def conv(x, w, b):  # valid 3x3, NCHW, like nn.Conv2d
    n, c, h, wd = x.shape
    cols = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))  # n c h' w' 3 3
    return np.einsum("nchwij,ocij->nohw", cols, w, optimize=True) + b[None, :, None, None]
def bn(x, p, eps=1e-3):
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    r = lambda k: t[f"{p}.{k}"].reshape(shape)
    return (x - r("running_mean")) / np.sqrt(r("running_var") + eps) * r("weight") + r("bias")
relu = lambda v: np.maximum(v, 0)
pool = lambda v: v.reshape(v.shape[0], v.shape[1], v.shape[2] // 2, 2, v.shape[3] // 2, 2).max(axis=(3, 5))
has_bn = "bn1.weight" in t
maybe = lambda v, p: bn(v, p) if has_bn else v
if meta["network"] == "linear":
    logits = x.reshape(len(x), -1) @ t["dense.weight"].T + t["dense.bias"]
else:
    h = maybe(relu(conv(x, t["conv1.weight"], t["conv1.bias"])), "bn1")
    h = maybe(relu(conv(h, t["conv2.weight"], t["conv2.bias"])), "bn2")
    h = pool(h)
    h = maybe(relu(conv(h, t["conv3.weight"], t["conv3.bias"])), "bn3")
    h = maybe(relu(conv(h, t["conv4.weight"], t["conv4.bias"])), "bn4")
    h = pool(h).reshape(len(h), -1)
    h = maybe(relu(h @ t["dense.weight"].T + t["dense.bias"]), "bn_dense")
    logits = h @ t["head.weight"].T + t["head.bias"]
acc = (logits.argmax(1) == labels).mean()
print(f"{meta['network']}: accuracy on the first {len(labels)} test images {acc:.4f} (file says {meta['test_accuracy']} on all 10,000)")
