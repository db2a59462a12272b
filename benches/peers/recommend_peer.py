"""Peer of `cargo bench --bench recommend`: one recommendation scored the way a Python team would.

Four LightGBM heads of the same shape as forbear's response bundle (150 trees, 31 leaves; 57
features; the complaint head 50 trees, 15 leaves), fitted on synthetic rows, then for each
recommendation the ~108 candidate actions of one account are built as a NumPy matrix and every
head's predict_proba is called once — the cheapest honest way in LightGBM (one call per head per
account). Reports the median wall time per recommendation over 2,000 recommendations, one thread.

~/.cache/forbear-peer-venv/bin/python benches/peers/recommend_peer.py
"""
import time

import lightgbm as lgb
import numpy as np

rng = np.random.default_rng(42)
n, d, options = 200_000, 57, 108
X = rng.normal(size=(n, d))
heads = []
for k, (trees, leaves) in enumerate([(150, 31), (150, 31), (150, 31), (50, 15)]):
    y = (X[:, k] + 0.5 * X[:, 40 + k] * X[:, 3] + rng.normal(size=n) > 0.8).astype(int)
    m = lgb.LGBMClassifier(n_estimators=trees, num_leaves=leaves, n_jobs=1, verbose=-1)
    heads.append(m.fit(X, y))
state = rng.normal(size=d)
times = []
for _ in range(2_000):
    t0 = time.perf_counter()
    rows = np.tile(state, (options, 1))
    rows[:, 47:] = rng.normal(size=(options, d - 47))
    preds = [h.predict_proba(rows)[:, 1] for h in heads]
    value = preds[0] * preds[1] - 0.01 - 15 * preds[3]
    best = int(np.argmax(value))
    times.append(time.perf_counter() - t0)
print(f"LightGBM {lgb.__version__}: median {1e6 * np.median(times):.0f} µs per recommendation "
      f"({options} options, 4 heads), p90 {1e6 * np.quantile(times, 0.9):.0f} µs")
