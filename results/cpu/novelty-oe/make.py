# Outlier exposure for the "not a digit" detector, a diagnostic (issue 9; results/cpu/novelty-alternatives.txt).
# From the repository root, with numpy, scipy and scikit-learn:
#   node tests/e2e/drawn.mjs DIST --per-digit=30 --others=160 --spread=2 --seed=7 --dump=/tmp/drawn-dump.jsonl
#   node tests/e2e/drawn.mjs DIST --per-digit=30 --others=160 --spread=1 --seed=8 --dump=/tmp/drawn-dump8.jsonl
#   mkdir -p /tmp/oe && python3 results/cpu/novelty-oe/make.py
#   for n in outliers fit fitwide held heldwide test d7 d8; do
#     IN=/tmp/oe/$n.u8 OUT=/tmp/oe/$n.f32 cargo test --release --lib features_dump -- --ignored; done
#   python3 results/cpu/novelty-oe/analyse.py
# Images for the outlier-exposure diagnostic: MNIST digits, and outliers made from MNIST digits
# and random strokes (never from drawn.mjs's templates).
import numpy as np, json, base64
from scipy import ndimage
rng = np.random.default_rng(5)
def idx(p, off): return np.frombuffer(open(p,'rb').read()[off:], np.uint8)
X = idx('www/data/train-images-idx3-ubyte', 16).reshape(-1, 28, 28)
Y = idx('www/data/train-labels-idx1-ubyte', 8)
T = idx('www/data/t10k-images-idx3-ubyte', 16).reshape(-1, 28, 28)
def recentre(im):
    # MNIST's recipe: centre of mass at the centre.
    im = im.astype(np.float32)
    if im.sum() == 0: return im.astype(np.uint8)
    r, c = ndimage.center_of_mass(im)
    return np.clip(ndimage.shift(im, (13.5 - r, 13.5 - c), order=1), 0, 255).astype(np.uint8)
def wide(im):
    a = rng.uniform(-24, 24); sh = rng.uniform(-0.6, 0.6)
    m = np.array([[1, 0], [sh, 1]]) @ np.array([[np.cos(np.radians(a)), -np.sin(np.radians(a))], [np.sin(np.radians(a)), np.cos(np.radians(a))]])
    c = np.array([13.5, 13.5])
    return np.clip(ndimage.affine_transform(im.astype(np.float32), m, offset=c - m @ c, order=1), 0, 255).astype(np.uint8)
def scribble():
    n = rng.integers(6, 20); pts = np.cumsum(rng.normal(0, 4, (n, 2)), 0); pts -= pts.mean(0)
    s = 18 / max(1e-3, np.abs(pts).max() * 2); pts = pts * s + 14
    im = np.zeros((28, 28), np.float32)
    for (r0, c0), (r1, c1) in zip(pts[:-1], pts[1:]):
        for t in np.linspace(0, 1, 30):
            r, c = r0 + (r1 - r0) * t, c0 + (c1 - c0) * t
            rr, cc = np.mgrid[0:28, 0:28]
            im = np.maximum(im, np.clip(1.6 - np.hypot(rr - r, cc - c), 0, 1) * 255)
    return recentre(im)
def outlier(i):
    kind = i % 6
    j = 20000 + rng.integers(0, 35000); im, y = X[j], Y[j]
    if kind == 0:  # mirrored, of digits whose mirror is no digit
        while Y[j] not in (2, 3, 4, 5, 6, 7, 9): j = 20000 + rng.integers(0, 35000)
        return recentre(X[j][:, ::-1]), 'mirror'
    if kind == 1:  # turned a quarter
        while Y[j] not in (2, 3, 4, 5, 6, 7, 9): j = 20000 + rng.integers(0, 35000)
        return recentre(np.rot90(X[j], rng.choice([1, 3]))), 'quarter'
    if kind == 2:  # upside down
        while Y[j] not in (3, 4, 7): j = 20000 + rng.integers(0, 35000)
        return recentre(np.rot90(X[j], 2)), 'upside'
    if kind == 3:  # two digits' halves
        k = 20000 + rng.integers(0, 35000)
        while Y[k] == y: k = 20000 + rng.integers(0, 35000)
        out = X[j].copy(); out[14:] = X[k][14:]
        return recentre(out), 'halves'
    if kind == 4:  # two digits on top of each other
        k = 20000 + rng.integers(0, 35000)
        while Y[k] == y: k = 20000 + rng.integers(0, 35000)
        return recentre(np.maximum(X[j], X[k])), 'overlay'
    return scribble(), 'scribble'
N = 6000
outs = [outlier(i) for i in range(N)]
np.array([o[0] for o in outs]).tofile('/tmp/oe/outliers.u8'); json.dump([o[1] for o in outs], open('/tmp/oe/outliers.json', 'w'))
# digits: 20000 plain (fit), 20000 wide copies, held-out 5000 plain + 5000 wide, test
X[:20000].tofile('/tmp/oe/fit.u8'); np.array([wide(x) for x in X[:20000]]).tofile('/tmp/oe/fitwide.u8')
X[55000:].tofile('/tmp/oe/held.u8'); np.array([wide(x) for x in X[55000:]]).tofile('/tmp/oe/heldwide.u8')
T.tofile('/tmp/oe/test.u8')
for name, f in [('d7', '/tmp/drawn-dump.jsonl'), ('d8', '/tmp/drawn-dump8.jsonl')]:
    rows = [json.loads(l) for l in open(f)]
    np.array([np.frombuffer(base64.b64decode(r['pixels']), np.uint8) for r in rows]).tofile(f'/tmp/oe/{name}.u8')
    json.dump([[r['kind'], r['label']] for r in rows], open(f'/tmp/oe/{name}.json', 'w'))
print('ok')
