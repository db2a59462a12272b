//! Model bundles and model cards: what a trained model is, how it was made, how good it is.
//!
//! A bundle is a directory: `bundle.json` (feature spec, models, training fingerprint,
//! versions), `card.json` (metrics for machines), `card.md` (the same for a credit-risk
//! reviewer) and `checksums.sha256` (in `sha256sum -c` format). It is written to a temporary
//! directory beside the target and renamed into place, so a bundle is never seen half-written.

use crate::TrainError;
use crate::evaluate::mean_sd;
use crate::tabular::{TableModel, TrainedTable};
use serde::Serialize;
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use forbear_models::bundle::{BUNDLE_FORMAT, sha256_hex};

/// Where the training data came from.
#[derive(Debug, Clone, Serialize)]
pub struct Fingerprint {
    /// The input file.
    pub input: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Rows used (with a target).
    pub rows: usize,
    /// Share of the bad outcome.
    pub positive_rate: f64,
}

impl Fingerprint {
    /// The fingerprint of training data at `input` — a file, or a dataset directory (then the hash
    /// of its Parquet files' hashes, in name order) — with the labels it gave.
    pub fn of(input: &Path, y: &[bool]) -> Result<Fingerprint, TrainError> {
        let sha256 = if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(io(input))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                .collect();
            files.sort();
            let mut listing = String::new();
            for f in files {
                let bytes = std::fs::read(&f).map_err(io(&f))?;
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                listing.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
            }
            sha256_hex(listing.as_bytes())
        } else {
            sha256_hex(&std::fs::read(input).map_err(io(input))?)
        };
        Ok(Fingerprint {
            input: input.display().to_string(),
            sha256,
            rows: y.len(),
            positive_rate: y.iter().filter(|v| **v).count() as f64 / y.len().max(1) as f64,
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The machine-readable card of a table model.
pub fn card_json(t: &TrainedTable, fp: &Fingerprint, seed: u64) -> serde_json::Value {
    let best = &t.models[t.best];
    let names = t.prepared.spec.names();
    let models: Vec<_> = t
        .models
        .iter()
        .map(|m| {
            let mut v = json!({
                "kind": m.model.kind(),
                "metrics": m.holdout,
                "metrics_uncalibrated": m.uncalibrated,
                "calibration": { "method": "platt", "a": m.platt.a, "b": m.platt.b, "fitted_on": "15 % of the training rows, not used to fit the model" },
                "fit_seconds": m.fit_seconds,
                "deciles": m.deciles,
                "score_distribution": m.distribution,
                "stability_baseline": m.stability,
                "feature_importance": importance(&names, &m.model),
            });
            if !m.cv_auc.is_empty() {
                let (mean, sd) = mean_sd(&m.cv_auc);
                v["cv"] = json!({ "auc_mean": mean, "auc_sd": sd, "folds": m.cv_auc });
            }
            v
        })
        .collect();
    let mut card = json!({
        "format": "forbear-card-1",
        "task": "binary classification",
        "target": { "positive": t.prepared.positive, "negative": t.prepared.negative },
        "training": fp,
        "seed": seed,
        "split": { "train_rows": t.split.0, "holdout_rows": t.split.1, "holdout": "stratified random" },
        "best_model": best.model.kind(),
        "metrics": best.holdout,
        "models": models,
        "calibration": best.deciles,
        "gains": best.deciles.iter().map(|d| json!({"decile": d.decile, "cumulative_capture": d.cumulative_capture, "lift": d.lift})).collect::<Vec<_>>(),
        "score_distribution": best.distribution,
        "stability_baseline": best.stability,
        "feature_importance": importance(&names, &best.model),
        "features": t.prepared.spec.features,
        "excluded_columns": t.prepared.excluded.iter().map(|(n, why)| json!({"column": n, "reason": why})).collect::<Vec<_>>(),
        "rows_without_target": t.prepared.missing_target,
    });
    if let Some(sc) = t.models.iter().find_map(|m| match &m.model {
        forbear_models::Model::Scorecard(sc) => Some(sc),
        forbear_models::Model::Gbm(_) => None,
    }) {
        card["scorecard"] = json!({
            "base_score": sc.params.base_score,
            "base_odds": sc.params.base_odds,
            "pdo": sc.params.pdo,
            "points": sc.points_table().into_iter().map(|(f, b, p)| json!({"feature": f, "bin": b, "points": p})).collect::<Vec<_>>(),
            "dropped": sc.dropped,
        });
    }
    if let Some((mean, sd)) = t.cv(t.best) {
        let per_kind: Vec<_> = (0..t.models.len())
            .filter_map(|i| t.cv(i).map(|(m, s)| json!({ "kind": t.models[i].model.kind(), "auc_mean": m, "auc_sd": s })))
            .collect();
        let k = t.models[t.best].cv_auc.len();
        card["cv"] = json!({ "k": k, "stratified": true, "auc_mean": mean, "auc_sd": sd, "models": per_kind });
    }
    card
}

fn importance(names: &[String], m: &TableModel) -> Vec<serde_json::Value> {
    let mut v: Vec<(String, f64)> = names.iter().cloned().zip(m.importance()).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.into_iter()
        .map(|(f, i)| json!({ "feature": f, "importance": i }))
        .collect()
}

/// The human-readable card.
pub fn card_markdown(t: &TrainedTable, fp: &Fingerprint, name: &str) -> String {
    let best = &t.models[t.best];
    let mut md = String::new();
    let _ = writeln!(md, "# Model card: {name}\n");
    let _ = writeln!(
        md,
        "Binary classifier of `{}` (bad outcome) against `{}`, trained by forbear {} on `{}` \
         ({} rows, {:.2} % bad; SHA-256 `{}`).\n",
        t.prepared.positive,
        t.prepared.negative,
        env!("CARGO_PKG_VERSION"),
        fp.input,
        fp.rows,
        100.0 * fp.positive_rate,
        &fp.sha256[..16]
    );
    let _ = writeln!(md, "{MODELS_TEXT}\n");
    let _ = writeln!(
        md,
        "## Evaluation\n\nStratified random holdout of {} rows (trained on {}: each model on 85 % of them, \
         its Platt calibrator on the other 15 %).\n",
        t.split.1, t.split.0
    );
    let _ = writeln!(
        md,
        "| model | AUC | Gini | KS | Brier | log-loss | CV AUC |\n|---|---|---|---|---|---|---|"
    );
    for (i, m) in t.models.iter().enumerate() {
        let cv = t
            .cv(i)
            .map_or("–".to_owned(), |(a, s)| format!("{a:.4} ± {s:.4}"));
        let h = m.holdout;
        let _ = writeln!(
            md,
            "| {}{} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {cv} |",
            m.model.kind(),
            if i == t.best { " (best)" } else { "" },
            h.auc,
            h.gini,
            h.ks,
            h.brier,
            h.log_loss
        );
    }
    let _ = writeln!(
        md,
        "\n![ROC curves](roc.svg) ![calibration](calibration.svg) ![score distribution](scores.svg)"
    );
    let _ = writeln!(
        md,
        "\n## Calibration and gains of the best model ({})\n",
        best.model.kind()
    );
    let _ = writeln!(
        md,
        "| decile | rows | mean predicted | observed | cumulative capture | lift |\n|---|---|---|---|---|---|"
    );
    for d in &best.deciles {
        let _ = writeln!(
            md,
            "| {} | {} | {:.4} | {:.4} | {:.1} % | {:.2} |",
            d.decile,
            d.count,
            d.mean_predicted,
            d.observed_rate,
            100.0 * d.cumulative_capture,
            d.lift
        );
    }
    let _ = writeln!(
        md,
        "\n## Features\n\n| feature | type | importance |\n|---|---|---|"
    );
    let imp = best.model.importance();
    for (f, i) in t.prepared.spec.features.iter().zip(imp) {
        let kind = match &f.kind {
            forbear_models::FeatureKind::Numeric => "numeric".to_owned(),
            forbear_models::FeatureKind::Categorical { categories } => {
                format!("categorical ({} values)", categories.len())
            }
        };
        let _ = writeln!(md, "| `{}` | {kind} | {:.3} |", f.name, i);
    }
    if let Some(sc) = t.models.iter().find_map(|m| match &m.model {
        forbear_models::Model::Scorecard(sc) => Some(sc),
        forbear_models::Model::Gbm(_) => None,
    }) {
        let _ = writeln!(
            md,
            "\n## Scorecard points\n\nBase score {} at odds {}:1, {} points to double the odds. Higher is safer.\n\n| feature | bin | points |\n|---|---|---|",
            sc.params.base_score, sc.params.base_odds, sc.params.pdo
        );
        for (f, b, p) in sc.points_table() {
            let _ = writeln!(md, "| `{f}` | {b} | {p:.2} |");
        }
    }
    if !t.prepared.excluded.is_empty() {
        let _ = writeln!(md, "\nColumns not used:\n");
        for (n, why) in &t.prepared.excluded {
            let _ = writeln!(md, "- `{n}`: {why}");
        }
    }
    md
}

/// Which models are trained and why these: the card says it to its reviewer.
pub const MODELS_TEXT: &str = "## Models\n\n\
- **gbm**: gradient-boosted decision trees, forbear's own implementation of LightGBM's algorithm \
(histograms of at most 255 bins, leaf-wise growth, 100 trees, 31 leaves, learning rate 0.1). Chosen \
over linfa's ensembles because linfa has no gradient boosting and its random forest and bagged \
trees reached only 0.73–0.75 AUC on the Taiwan data against LightGBM's 0.78; the Rust boosting \
crates measured fell short of LightGBM too (see benches/RESULTS.md). Reasons: exact TreeSHAP \
contributions.\n\
- **scorecard**: weight-of-evidence bins (monotone where the relation is, missing values in a bin \
of their own), logistic regression (L-BFGS) on the WoE values, points scaled by base score, base \
odds and points to double the odds. Reasons: points lost against each feature's best bin.\n\
- Both are Platt-calibrated on rows they were not fitted on.";

/// What a pipeline adds to the card of the models it trained (e.g. out-of-time validation).
#[derive(Debug, Clone, Default)]
pub struct CardExtra {
    /// Keys added to `card.json`.
    pub json: Vec<(&'static str, serde_json::Value)>,
    /// Text appended to `card.md`.
    pub markdown: String,
    /// What the bundle is for (`bundle.json` `kind`); `table` when not set.
    pub kind: Option<&'static str>,
}

/// Writes the bundle of a table model to `dir` (refusing to replace one unless `overwrite`).
pub fn write_table_bundle(
    t: &TrainedTable,
    fp: &Fingerprint,
    seed: u64,
    dir: &Path,
    overwrite: bool,
    extra: &CardExtra,
) -> Result<PathBuf, TrainError> {
    refuse_existing(dir, overwrite)?;
    let name = bundle_name(dir);
    let mut bundle = bundle_header(&name, extra.kind.unwrap_or("table"));
    let body = json!({
        "target": { "positive": t.prepared.positive, "negative": t.prepared.negative },
        "spec": t.prepared.spec,
        "best": t.models[t.best].model.kind(),
        "models": t.models.iter().map(|m| &m.model).collect::<Vec<_>>(),
        "calibrators": t.models.iter().map(|m| m.platt).collect::<Vec<_>>(),
        "training": fp,
        "seed": seed,
    });
    if let (Some(b), Some(extra)) = (bundle.as_object_mut(), body.as_object()) {
        b.extend(extra.clone());
    }
    let files = [
        (
            "bundle.json",
            serde_json::to_vec(&bundle).unwrap_or_default(),
        ),
        ("card.json", {
            let mut card = card_json(t, fp, seed);
            for (k, v) in &extra.json {
                card[*k] = v.clone();
            }
            serde_json::to_vec_pretty(&card).unwrap_or_default()
        }),
        (
            "card.md",
            (card_markdown(t, fp, &name) + &extra.markdown).into_bytes(),
        ),
        ("roc.svg", {
            let curves: Vec<crate::plots::Curve<'_>> = t
                .models
                .iter()
                .map(|m| (m.model.kind(), m.roc.clone(), m.holdout.auc))
                .collect();
            crate::plots::roc_svg(&curves).into_bytes()
        }),
        (
            "calibration.svg",
            crate::plots::calibration_svg(t.models[t.best].model.kind(), &t.models[t.best].deciles)
                .into_bytes(),
        ),
        (
            "scores.svg",
            crate::plots::distribution_svg(
                t.models[t.best].model.kind(),
                &t.models[t.best].distribution,
            )
            .into_bytes(),
        ),
    ];
    write_bundle_files(dir, &files)
}

/// The fields every `bundle.json` starts with: format, name, kind, and the versions that wrote
/// it (every learning algorithm is forbear's own code, so its version pins them all).
pub fn bundle_header(name: &str, kind: &str) -> serde_json::Value {
    json!({
        "format": BUNDLE_FORMAT,
        "name": name,
        "kind": kind,
        "created_by": format!("forbear {}", env!("CARGO_PKG_VERSION")),
        "libraries": { "forbear-models": env!("CARGO_PKG_VERSION"), "forbear-features": env!("CARGO_PKG_VERSION") },
    })
}

/// Refuses to replace an existing bundle unless `overwrite`.
pub fn refuse_existing(dir: &Path, overwrite: bool) -> Result<(), TrainError> {
    if dir.exists() && !overwrite {
        return Err(TrainError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; choose another --out or pass --overwrite",
            ),
        });
    }
    Ok(())
}

/// A bundle's name: its directory's.
pub fn bundle_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Writes the files of a bundle and their `checksums.sha256` into a temporary directory beside
/// `dir`, then renames it into place (replacing `dir`).
pub fn write_bundle_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<PathBuf, TrainError> {
    let name = bundle_name(dir);
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{name}.partial"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let mut sums = String::new();
    for (file, bytes) in files {
        let path = tmp.join(file);
        std::fs::write(&path, bytes).map_err(io(&path))?;
        let _ = writeln!(sums, "{}  {file}", sha256_hex(bytes));
    }
    let path = tmp.join("checksums.sha256");
    std::fs::write(&path, sums).map_err(io(&path))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io(dir))?;
    Ok(dir.to_path_buf())
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed into place: a reader sees
/// the old file or the new one, never half of one. Creates the parent directory.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TrainError::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
