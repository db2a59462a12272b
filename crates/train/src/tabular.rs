//! Bring your own table: any CSV or Parquet file with a binary target becomes evaluated models.
//!
//! Columns are typed by what they hold; the target's bad outcome is named or recognised
//! (`1`, `true`, `yes`, `bad`, …); columns that cannot help (all missing, constant, identifiers)
//! are set aside with the reason recorded. Every model kind — gradient-boosted trees and a
//! points scorecard — is trained on a stratified 80 % and
//! judged on the other 20 %, and — when asked — by stratified K-fold cross-validation.

use crate::TrainError;
use crate::evaluate::{
    Decile, Distribution, Metrics, StabilityBaseline, deciles, distribution, mean_sd,
    stability_baseline,
};
use crate::split::{stratified_folds, stratified_holdout};
use forbear_data::{Column, Table};
use forbear_models::{
    FeatureDef, FeatureKind, FeatureMatrix, FeatureSpec, GbmParams, Model, Platt, ScorecardParams,
};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// Values recognised as the bad outcome when `--positive` is not given (case-insensitive).
pub const POSITIVE_WORDS: &[&str] = &["1", "true", "yes", "y", "bad", "default", "positive"];

/// Text columns with more distinct values than this are taken for identifiers, not categories.
pub const MAX_CATEGORIES: usize = 200;

/// How to train on a table.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Target column.
    pub target: String,
    /// The target value that is the bad outcome (recognised when `None`).
    pub positive: Option<String>,
    /// Columns to leave out.
    pub drop: Vec<String>,
    /// Columns to treat as categories even when numeric.
    pub categorical: Vec<String>,
    /// Seed of every split.
    pub seed: u64,
    /// Folds of cross-validation, if any.
    pub cv: Option<usize>,
    /// Share of rows held out.
    pub holdout: f64,
}

impl TableOptions {
    /// Defaults for a target: seed 42, 20 % holdout, no cross-validation.
    pub fn new(target: impl Into<String>) -> Self {
        TableOptions {
            target: target.into(),
            positive: None,
            drop: Vec::new(),
            categorical: Vec::new(),
            seed: 42,
            cv: None,
            holdout: 0.2,
        }
    }
}

/// A table turned into features and labels.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// How raw values become features.
    pub spec: FeatureSpec,
    /// The features of rows with a target.
    pub x: FeatureMatrix,
    /// The labels (`true` = the bad outcome).
    pub y: Vec<bool>,
    /// The target value taken as bad.
    pub positive: String,
    /// The other target value.
    pub negative: String,
    /// Rows left out because their target was missing.
    pub missing_target: usize,
    /// Columns set aside, with why.
    pub excluded: Vec<(String, String)>,
}

/// The error for a column of `table` that does not exist, listing those that do.
pub(crate) fn no_such_column(table: &Table, column: &str, what: &'static str) -> TrainError {
    TrainError::NoSuchColumn {
        path: table.path.clone(),
        column: column.to_owned(),
        what,
        columns: table.names.join(", "),
    }
}

/// Turns a table into features and labels, or says precisely why it cannot.
pub fn prepare(table: &Table, opts: &TableOptions) -> Result<Prepared, TrainError> {
    let path = table.path.clone();
    let no_such = |column: &str, what| no_such_column(table, column, what);
    let target = table
        .index_of(&opts.target)
        .ok_or_else(|| no_such(&opts.target, "the target"))?;
    for c in &opts.drop {
        table
            .index_of(c)
            .ok_or_else(|| no_such(c, "given with --drop"))?;
    }
    for c in &opts.categorical {
        table
            .index_of(c)
            .ok_or_else(|| no_such(c, "given with --categorical"))?;
    }
    // The target's values.
    let tcol = &table.columns[target];
    let mut counts: Vec<(String, usize)> = Vec::new();
    for i in 0..tcol.len() {
        if let Some(v) = tcol.text(i) {
            match counts.iter_mut().find(|(k, _)| *k == v) {
                Some((_, n)) => *n += 1,
                None => counts.push((v, 1)),
            }
        }
    }
    let listing = |c: &[(String, usize)]| {
        c.iter()
            .take(6)
            .map(|(v, n)| format!("{v:?} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match counts.len() {
        0 => {
            return Err(TrainError::NotBinary {
                path,
                column: opts.target.clone(),
                count: 0,
                examples: "all missing".into(),
            });
        }
        1 => {
            return Err(TrainError::OneClass {
                path,
                column: opts.target.clone(),
                value: counts[0].0.clone(),
            });
        }
        2 => {}
        n => {
            return Err(TrainError::NotBinary {
                path,
                column: opts.target.clone(),
                count: n,
                examples: listing(&counts),
            });
        }
    }
    let positive = match &opts.positive {
        Some(p) => {
            let p = p.trim();
            counts
                .iter()
                .find(|(v, _)| v == p || v.eq_ignore_ascii_case(p))
                .map(|(v, _)| v.clone())
                .ok_or_else(|| TrainError::NoSuchPositive {
                    path: path.clone(),
                    column: opts.target.clone(),
                    value: p.to_owned(),
                    values: listing(&counts),
                })?
        }
        None => {
            let hits: Vec<&String> = counts
                .iter()
                .map(|(v, _)| v)
                .filter(|v| POSITIVE_WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)))
                .collect();
            match hits.as_slice() {
                [one] => (*one).clone(),
                _ => {
                    return Err(TrainError::AmbiguousPositive {
                        path,
                        column: opts.target.clone(),
                        values: listing(&counts),
                    });
                }
            }
        }
    };
    let negative = counts
        .iter()
        .find(|(v, _)| *v != positive)
        .map(|(v, _)| v.clone())
        .unwrap_or_default();
    let keep: Vec<usize> = (0..tcol.len())
        .filter(|&i| tcol.text(i).is_some())
        .collect();
    let y: Vec<bool> = keep
        .iter()
        .map(|&i| tcol.text(i).as_deref() == Some(positive.as_str()))
        .collect();

    // Features.
    let skip: Vec<usize> = std::iter::once(target)
        .chain(opts.drop.iter().filter_map(|c| table.index_of(c)))
        .collect();
    let Features {
        defs,
        columns,
        excluded,
    } = features_of(table, &keep, &skip, &opts.categorical);
    if defs.is_empty() {
        let details = if excluded.is_empty() {
            "the table has no column besides the target and those dropped".to_owned()
        } else {
            excluded
                .iter()
                .map(|(n, why)| format!("{n}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(TrainError::NoFeature { path, details });
    }
    let spec = FeatureSpec { features: defs };
    let x = FeatureMatrix::new(spec.names(), columns).map_err(|source| TrainError::Model {
        model: "features",
        source,
    })?;
    Ok(Prepared {
        spec,
        x,
        y,
        positive,
        negative,
        missing_target: tcol.len() - keep.len(),
        excluded,
    })
}

/// Features built from a table's columns.
#[derive(Debug, Clone)]
pub struct Features {
    /// One definition per feature.
    pub defs: Vec<FeatureDef>,
    /// One column per feature, for the rows kept.
    pub columns: Vec<Vec<f64>>,
    /// Columns set aside, with why.
    pub excluded: Vec<(String, String)>,
}

/// Turns every column of `table` except those in `skip` into a feature over the rows `keep`:
/// numbers as they are, text (or the columns named in `categorical`) as category codes by
/// frequency; constant columns and identifiers are set aside with the reason.
pub fn features_of(
    table: &Table,
    keep: &[usize],
    skip: &[usize],
    categorical: &[String],
) -> Features {
    let mut defs = Vec::new();
    let mut columns = Vec::new();
    let mut excluded = Vec::new();
    for (c, name) in table.names.iter().enumerate() {
        if skip.contains(&c) {
            continue;
        }
        let col = &table.columns[c];
        let present = keep.iter().filter(|&&i| col.text(i).is_some()).count();
        if present == 0 {
            excluded.push((name.clone(), "all values missing".to_owned()));
            continue;
        }
        let forced = categorical.contains(name);
        match col {
            Column::Numeric(v) if !forced => {
                let vals: Vec<f64> = keep.iter().map(|&i| v[i]).collect();
                let first = vals.iter().copied().find(|x| !x.is_nan());
                if vals.iter().all(|x| x.is_nan() || Some(*x) == first)
                    && vals.iter().all(|x| !x.is_nan())
                {
                    excluded.push((name.clone(), "constant".to_owned()));
                    continue;
                }
                defs.push(FeatureDef {
                    name: name.clone(),
                    kind: FeatureKind::Numeric,
                });
                columns.push(vals);
            }
            _ => {
                let texts: Vec<Option<String>> = keep.iter().map(|&i| col.text(i)).collect();
                let mut freq: HashMap<&str, usize> = HashMap::new();
                for t in texts.iter().flatten() {
                    *freq.entry(t.as_str()).or_default() += 1;
                }
                if freq.len() == 1 && present == keep.len() {
                    excluded.push((name.clone(), "constant".to_owned()));
                    continue;
                }
                if !forced
                    && (freq.len() > MAX_CATEGORIES || freq.len() * 2 > present && present > 20)
                {
                    excluded.push((name.clone(), format!("looks like an identifier ({} distinct values); name it with --categorical to use it", freq.len())));
                    continue;
                }
                let mut cats: Vec<(&str, usize)> = freq.into_iter().collect();
                cats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let categories: Vec<String> = cats.iter().map(|(c, _)| (*c).to_owned()).collect();
                let index: HashMap<&str, f64> = cats
                    .iter()
                    .enumerate()
                    .map(|(k, (c, _))| (*c, k as f64))
                    .collect();
                columns.push(
                    texts
                        .iter()
                        .map(|t| {
                            t.as_deref()
                                .and_then(|t| index.get(t).copied())
                                .unwrap_or(f64::NAN)
                        })
                        .collect(),
                );
                defs.push(FeatureDef {
                    name: name.clone(),
                    kind: FeatureKind::Categorical { categories },
                });
            }
        }
    }
    Features {
        defs,
        columns,
        excluded,
    }
}

/// A model trained on a table (the shared [`forbear_models::Model`]).
pub type TableModel = Model;

/// Probabilities of the bad outcome, with the model kind named in errors.
pub fn predict(m: &Model, x: &FeatureMatrix) -> Result<Vec<f64>, TrainError> {
    m.predict_proba(x).map_err(|source| TrainError::Model {
        model: m.kind(),
        source,
    })
}

/// The kinds trained for every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Gradient-boosted trees.
    Gbm,
    /// A points scorecard.
    Scorecard,
}

impl Kind {
    /// Every kind, in the order they are trained.
    pub const ALL: [Kind; 2] = [Kind::Gbm, Kind::Scorecard];

    /// Fits this kind; `spec` says which features are categories.
    pub fn fit(
        self,
        x: &FeatureMatrix,
        y: &[bool],
        spec: &FeatureSpec,
    ) -> Result<TableModel, TrainError> {
        match self {
            Kind::Scorecard => {
                let categorical = spec
                    .features
                    .iter()
                    .filter(|f| matches!(f.kind, FeatureKind::Categorical { .. }))
                    .map(|f| f.name.clone())
                    .collect();
                ScorecardParams {
                    categorical,
                    ..ScorecardParams::default()
                }
                .fit(x, y)
                .map(Model::Scorecard)
                .map_err(|source| TrainError::Model {
                    model: "scorecard",
                    source,
                })
            }
            Kind::Gbm => GbmParams::default()
                .fit(x, y)
                .map(Model::Gbm)
                .map_err(|source| TrainError::Model {
                    model: "gbm",
                    source,
                }),
        }
    }
}

/// One trained and evaluated model.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    /// The model (trained on 85 % of the training share; see [`Calibrated`]).
    pub model: TableModel,
    /// Its metrics on the holdout, calibrated.
    pub holdout: Metrics,
    /// The same before calibration (ranking is the same; Brier and log-loss show the gain).
    pub uncalibrated: Metrics,
    /// Its Platt calibrator.
    pub platt: Platt,
    /// Its ROC curve on the holdout.
    pub roc: Vec<(f64, f64)>,
    /// Calibration and gains on the holdout.
    pub deciles: Vec<Decile>,
    /// Seconds to fit.
    pub fit_seconds: f64,
    /// Cross-validated AUC per fold, when asked.
    pub cv_auc: Vec<f64>,
    /// Spread of the holdout probabilities.
    pub distribution: Distribution,
    /// Deciles of the training probabilities, for population-stability monitoring.
    pub stability: StabilityBaseline,
}

/// Everything learned from a table.
#[derive(Debug, Clone)]
pub struct TrainedTable {
    /// The prepared data's description.
    pub prepared: Prepared,
    /// Every model kind, evaluated.
    pub models: Vec<Evaluated>,
    /// Index of the best model by holdout AUC.
    pub best: usize,
    /// Training and holdout row counts.
    pub split: (usize, usize),
}

/// Trains and evaluates every model kind on a table.
pub fn train_table(
    table: &Table,
    opts: &TableOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<TrainedTable, TrainError> {
    let prepared = prepare(table, opts)?;
    train_prepared(prepared, &table.path, opts, progress)
}

/// Trains and evaluates every model kind on prepared features and labels (`path` names the data
/// in errors).
pub fn train_prepared(
    prepared: Prepared,
    path: &std::path::Path,
    opts: &TableOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<TrainedTable, TrainError> {
    let y = &prepared.y;
    let positives = y.iter().filter(|v| **v).count();
    let negatives = y.len() - positives;
    let need = opts.cv.unwrap_or(0).max(5);
    if positives.min(negatives) < need * 2 {
        return Err(TrainError::TooFew {
            path: path.to_path_buf(),
            what: format!(
                "{positives} bad and {negatives} good rows: at least {} of each are needed for a holdout{}",
                need * 2,
                if opts.cv.is_some() {
                    " and the folds asked for"
                } else {
                    ""
                }
            ),
        });
    }
    let (train, test) = stratified_holdout(y, opts.holdout, opts.seed);
    let (xtr, xte) = (prepared.x.take(&train), prepared.x.take(&test));
    let ytr: Vec<bool> = train.iter().map(|&i| y[i]).collect();
    let yte: Vec<bool> = test.iter().map(|&i| y[i]).collect();
    let folds = opts.cv.map(|k| stratified_folds(y, k, opts.seed));
    // The kinds train side by side: the scorecard runs on one core while the booster's large
    // leaves use every core, so together they keep the machine busy.
    let evaluate = |kind: Kind| -> Result<Evaluated, TrainError> {
        progress(&format!("training {kind:?} on {} rows", train.len()));
        let started = Instant::now();
        let fitted = kind.fit_calibrated(&xtr, &ytr, &prepared.spec, opts.seed)?;
        let fit_seconds = started.elapsed().as_secs_f64();
        let raw = predict(&fitted.model, &xte)?;
        let p: Vec<f64> = raw.iter().map(|v| fitted.platt.apply(*v)).collect();
        let mut cv_auc = Vec::new();
        if let (Some(k), Some(folds)) = (opts.cv, &folds) {
            for f in 0..k {
                progress(&format!("cross-validating {kind:?}: fold {} of {k}", f + 1));
                let tr: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != f).collect();
                let te: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == f).collect();
                let ytr_fold: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
                let m = kind.fit_calibrated(
                    &prepared.x.take(&tr),
                    &ytr_fold,
                    &prepared.spec,
                    opts.seed,
                )?;
                let pf = m.predict(&prepared.x.take(&te))?;
                cv_auc.push(forbear_models::metrics::auc(
                    &te.iter().map(|&i| y[i]).collect::<Vec<_>>(),
                    &pf,
                ));
            }
        }
        let stability = stability_baseline(&fitted.predict(&xtr)?);
        Ok(Evaluated {
            holdout: Metrics::of(&yte, &p),
            uncalibrated: Metrics::of(&yte, &raw),
            platt: fitted.platt,
            roc: crate::evaluate::roc_points(&yte, &p, 200),
            deciles: deciles(&yte, &p),
            distribution: distribution(&p),
            stability,
            model: fitted.model,
            fit_seconds,
            cv_auc,
        })
    };
    let models = in_parallel(&Kind::ALL, &evaluate)?;
    let best = (0..models.len())
        .max_by(|&a, &b| models[a].holdout.auc.total_cmp(&models[b].holdout.auc))
        .unwrap_or(0);
    Ok(TrainedTable {
        prepared,
        models,
        best,
        split: (train.len(), test.len()),
    })
}

/// Share of the training rows kept aside to fit each model's Platt calibrator.
pub const CALIBRATION_SHARE: f64 = 0.15;

/// A model and its calibrator, fitted the one way every evaluation and every bundle uses: the
/// model on 85 % of the training rows, Platt scaling on the other 15 % (stratified, seeded).
#[derive(Debug, Clone)]
pub struct Calibrated {
    /// The model.
    pub model: Model,
    /// Its calibrator.
    pub platt: Platt,
}

impl Calibrated {
    /// Calibrated probabilities of the bad outcome.
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<f64>, TrainError> {
        Ok(predict(&self.model, x)?
            .into_iter()
            .map(|p| self.platt.apply(p))
            .collect())
    }
}

impl Kind {
    /// Fits this kind and its calibrator on `x`, `y` (see [`Calibrated`]).
    pub fn fit_calibrated(
        self,
        x: &FeatureMatrix,
        y: &[bool],
        spec: &FeatureSpec,
        seed: u64,
    ) -> Result<Calibrated, TrainError> {
        let (fit, calib) = stratified_holdout(y, CALIBRATION_SHARE, seed ^ 0xca11b);
        let yf: Vec<bool> = fit.iter().map(|&i| y[i]).collect();
        let model = self.fit(&x.take(&fit), &yf, spec)?;
        let yc: Vec<bool> = calib.iter().map(|&i| y[i]).collect();
        let platt = Platt::fit(&predict(&model, &x.take(&calib))?, &yc);
        Ok(Calibrated { model, platt })
    }
}

/// Runs `job` for every kind on its own thread; results in the order of `kinds`, the first
/// error if any.
pub fn in_parallel<T: Send>(
    kinds: &[Kind],
    job: &(dyn Fn(Kind) -> Result<T, TrainError> + Sync),
) -> Result<Vec<T>, TrainError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = kinds.iter().map(|&k| s.spawn(move || job(k))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

impl TrainedTable {
    /// Mean and standard deviation of the cross-validated AUC of model `k`.
    pub fn cv(&self, k: usize) -> Option<(f64, f64)> {
        let v = &self.models[k].cv_auc;
        (!v.is_empty()).then(|| mean_sd(v))
    }
}
