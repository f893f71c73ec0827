# Usage: see make.py (after it, from the repository root): python3 results/cpu/novelty-oe/curve.py
# Compare the shipped detector's own threshold curve with the detector + head, at matched
# shares of drawn digits called no digit.
import numpy as np, json
from sklearn.linear_model import LogisticRegression
exec(open('results/cpu/novelty-oe/analyse.py').read().split('# Head:')[0])
def X(n): return np.hstack([F[n][0], np.log(D[n])[:, None]])
mean, sd = X('fit').mean(0), X('fit').std(0) + 1e-6
Z = lambda n: (X(n) - mean) / sd
tr_o = np.arange(len(okind)) < 5000
Xd, Xo = Z('fit'), Z('outliers')[tr_o]
w = np.r_[np.ones(len(Xd)) * len(Xo) / len(Xd), np.ones(len(Xo))]
clf = LogisticRegression(C=0.01, max_iter=3000).fit(np.vstack([Xd, Xo]), np.r_[np.zeros(len(Xd)), np.ones(len(Xo))], sample_weight=w)
S = {n: clf.decision_function(Z(n)) for n in F}
for n in ['d7', 'd8']:
    p = probs(F[n][1]); top, pred = p.max(1), p.argmax(1); sure = top >= 0.8
    kind, lab = meta[n][:, 0], meta[n][:, 1]; dg = kind == 'digit'
    print(f'== {n}: rule, scale -> digits read / called no digit / others flagged; MNIST test passed')
    for k in [0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5]:
        ref = D[n] > k * np.where(sure, hi, lo)
        tp = (D['test'] <= k * hi).mean()
        print(f'  maha x{k}: {100*(~ref & (pred.astype(str)==lab))[dg].mean():.1f} / {100*ref[dg].mean():.1f} / {100*(ref|~sure)[~dg].mean():.1f}; test {100*tp:.2f}')
    for q in [0.99, 0.995, 0.998, 0.999]:
        th = np.quantile(S['held'], q)
        for k in [1.0, 1.2, 1.5]:
            ref = (D[n] > k * np.where(sure, hi, lo)) | (S[n] > th)
            tp = ((D['test'] <= k * hi) & (S['test'] <= th)).mean()
            print(f'  maha x{k} + head at {q}: {100*(~ref & (pred.astype(str)==lab))[dg].mean():.1f} / {100*ref[dg].mean():.1f} / {100*(ref|~sure)[~dg].mean():.1f}; test {100*tp:.2f}')
