# A logistic "digit or not" head on the default network's frozen dense-512 features (and the
# log Mahalanobis distance), trained on MNIST digits against the outliers make.py builds from
# MNIST (mirrored, turned, upside down, two digits' halves, two digits overlaid, random strokes),
# then judged on the drawn dumps beside the shipped detector. Usage: see make.py.
import numpy as np, json
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
T = 1.187
def load(n):
    a = np.fromfile(f'/tmp/oe/{n}.f32', np.float32).reshape(-1, 522); return a[:, :512].astype(np.float64), a[:, 512:].astype(np.float64)
def idx(p, off): return np.frombuffer(open(p,'rb').read()[off:], np.uint8)
Y = idx('www/data/train-labels-idx1-ubyte', 8)
F = {n: load(n) for n in ['fit', 'fitwide', 'held', 'heldwide', 'test', 'd7', 'd8', 'outliers']}
okind = np.array(json.load(open('/tmp/oe/outliers.json')))
meta = {n: np.array(json.load(open(f'/tmp/oe/{n}.json'))) for n in ['d7', 'd8']}
# Mahalanobis as shipped (shared covariance, shrunk)
f, y = F['fit'][0], Y[:20000]
mu = np.stack([f[y == c].mean(0) for c in range(10)])
cen = f - mu[y]; cov = cen.T @ cen / len(f); cov += 1e-2 * np.trace(cov) / 512 * np.eye(512)
P = np.linalg.inv(cov)
def maha(x):
    d = np.stack([np.einsum('ij,jk,ik->i', x - m, P, x - m) for m in mu], 1); return d.min(1)
def probs(l):
    z = l / T; z -= z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
D = {n: maha(F[n][0]) for n in F}
hi, lo = np.quantile(D['held'], 0.99), np.quantile(D['held'], 0.98)
# Head: logistic regression on standardised features + log distance
def X(n): return np.hstack([F[n][0], np.log(D[n])[:, None]])
mean, sd = X('fit').mean(0), X('fit').std(0) + 1e-6
Z = lambda n: (X(n) - mean) / sd
tr_o = np.arange(len(okind)) < 5000
for digits_set in [['fit'], ['fit', 'fitwide']]:
  for C in [0.01, 0.1, 1.0]:
    Xd = np.vstack([Z(n) for n in digits_set]); Xo = Z('outliers')[tr_o]
    w = np.r_[np.ones(len(Xd)) * len(Xo) / len(Xd), np.ones(len(Xo))]
    clf = LogisticRegression(C=C, max_iter=2000).fit(np.vstack([Xd, Xo]), np.r_[np.zeros(len(Xd)), np.ones(len(Xo))], sample_weight=w)
    S = {n: clf.decision_function(Z(n)) for n in F}
    ev_o = S['outliers'][~tr_o]
    line = f"digits {'+'.join(digits_set):12} C {C}: held-out outliers AUROC vs held digits {roc_auc_score(np.r_[np.zeros(5000), np.ones(len(ev_o))], np.r_[S['held'], ev_o]):.3f}"
    for q in [0.99, 0.995]:
        th = np.quantile(S['held'], q)
        line += f"\n   head at {q}: MNIST test pass {100*(S['test'] <= th).mean():.2f}%"
        for n in ['d7', 'd8']:
            p = probs(F[n][1]); top, pred = p.max(1), p.argmax(1); sure = top >= 0.8
            kind, lab = meta[n][:, 0], meta[n][:, 1]
            m_ref = D[n] > np.where(sure, hi, lo)
            for rule, ref in [('maha', m_ref), ('head', S[n] > th), ('both', m_ref | (S[n] > th))]:
                dg = kind == 'digit'
                right = (~ref & (pred.astype(str) == lab))[dg].mean(); refd = ref[dg].mean(); oth = (ref | ~sure)[~dg].mean()
                line += f" | {n} {rule}: right {100*right:.1f} refused {100*refd:.1f} others {100*oth:.1f}"
            dg = kind == 'digit'
            line += f" | {n} auroc head {roc_auc_score(~dg, S[n]):.3f} maha {roc_auc_score(~dg, D[n]):.3f}"
    print(line, flush=True)
