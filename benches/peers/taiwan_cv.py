"""Side-by-side peer for the Taiwan cross-validation bar (issue 3).

Runs the protocol of ../shared/peers/BASELINES.md — 5-fold StratifiedKFold(shuffle=True,
random_state=42), ID dropped, SEX/EDUCATION/MARRIAGE categorical — for scikit-learn's logistic
regression, LightGBM and HistGradientBoosting, and writes the fold of every row to FOLDS_OUT so
forbear is evaluated on exactly the same folds:

    ~/.cache/forbear-peer-venv/bin/python benches/peers/taiwan_cv.py ../shared/data/taiwan-credit-default.csv /tmp/taiwan-folds.txt
    cargo run --release -p forbear-models --example taiwan_cv -- ../shared/data/taiwan-credit-default.csv /tmp/taiwan-folds.txt
"""
import sys, time
import numpy as np, pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import StandardScaler, OneHotEncoder
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
import lightgbm as lgb

path, folds_out = sys.argv[1], sys.argv[2]
df = pd.read_csv(path)
y = df.pop("default.payment.next.month").to_numpy()
df = df.drop(columns=["ID"])
cat = ["SEX", "EDUCATION", "MARRIAGE"]
num = [c for c in df.columns if c not in cat]
folds = np.zeros(len(y), dtype=int)
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
for k, (_, te) in enumerate(skf.split(df, y)):
    folds[te] = k
np.savetxt(folds_out, folds, fmt="%d")

def logreg():
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        (OneHotEncoder(handle_unknown="ignore"), cat))
    return make_pipeline(pre, LogisticRegression(max_iter=1000))

models = {
    "logreg": (logreg, df),
    "lightgbm": (lambda: lgb.LGBMClassifier(verbose=-1), df.astype({c: "category" for c in cat})),
    "histgb": (lambda: HistGradientBoostingClassifier(), df),
}
for name, (make, X) in models.items():
    aucs, t = [], time.process_time()
    for k in range(5):
        tr, te = folds != k, folds == k
        m = make().fit(X[tr], y[tr])
        aucs.append(roc_auc_score(y[te], m.predict_proba(X[te])[:, 1]))
    print(f"{name} 5-fold auc {np.mean(aucs):.4f} ± {np.std(aucs, ddof=1):.4f} in {time.process_time()-t:.2f} CPU-s")
