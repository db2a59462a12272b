"""Side-by-side peer for the logistic-regression speed bar (issue 3).

make_classification(n_samples=1_000_000, n_features=30, random_state=0) as in
../shared/peers/BASELINES.md, written to OUT (Parquet, columns x0..x29 and y), then
scikit-learn's LogisticRegression (lbfgs, C=1) fitted on all rows, single thread:

    ~/.cache/forbear-peer-venv/bin/python benches/peers/logistic_1m.py /tmp/mc1m.parquet
    cargo run --release -p forbear-train --example logistic_parquet -- /tmp/mc1m.parquet
"""
import os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

X, y = make_classification(n_samples=1_000_000, n_features=30, random_state=0)
out = sys.argv[1]
if not os.path.exists(out):
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(30)])
    df["y"] = y
    df.to_parquet(out, index=False)
best = None
for _ in range(3):
    t = time.process_time()
    m = LogisticRegression(max_iter=1000).fit(X, y)
    cpu = time.process_time() - t
    best = cpu if best is None else min(best, cpu)
auc = roc_auc_score(y, m.predict_proba(X)[:, 1])
print(f"scikit-learn LogisticRegression(lbfgs): min CPU {best:.3f}s of 3, {m.n_iter_[0]} iterations, train AUC {auc:.4f}")
