//! Learning whom to treat from a randomised experiment, judged off-policy on held-out rows.
//!
//! A table with one row per customer, the arm each was assigned (`treatment`) and what followed
//! (`outcome`). A response model is fitted per arm on a stratified share of the rows (a
//! T-learner of our gradient-boosted trees; a numeric outcome is scaled into `[0, 1]` and fitted
//! by cross-entropy, so the model predicts its mean); the learned policy gives each held-out
//! customer the arm with the highest predicted outcome net of the arm's cost. Its value is
//! estimated on the held-out rows by IPS, SNIPS and doubly robust ([`forbear_strategy::ope`]),
//! next to each single arm's observed value, with seeded bootstrap intervals, and the margin over
//! the best single arm with a paired bootstrap interval.
//!
//! Columns affected by the treatment are not features: in a randomised experiment a pre-treatment
//! column is independent of the arm, so a column whose distribution differs between arms beyond
//! any chance (a χ² test of independence, p below [`LEAK_P_VALUE`]) is another outcome — the
//! Hillstrom data's `conversion` and `spend` — and is set aside with the reason.

use crate::error::TrainError;
use crate::policy_tree;
use crate::split::stratified_holdout_classes;
use crate::tabular::{Features, features_of};
use forbear_data::{Column, Table};
use forbear_models::{FeatureMatrix, GbmParams};
use forbear_strategy::ope::{self, Estimate, Logged, OpeConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A column whose independence from the arm has a p-value below this is set aside as an outcome.
pub const LEAK_P_VALUE: f64 = 1e-6;

/// How the arms' probabilities are known.
#[derive(Debug, Clone, PartialEq)]
pub enum Propensity {
    /// Estimated from the arms' shares of the rows (a randomised experiment with fixed shares).
    FromShares,
    /// Given per arm.
    PerArm(Vec<(String, f64)>),
    /// Read per row from a column.
    Column(String),
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct UpliftOptions {
    /// The column naming each row's arm.
    pub treatment: String,
    /// The outcome column (binary or a non-negative amount).
    pub outcome: String,
    /// The arm that is no treatment, if any.
    pub control: Option<String>,
    /// Cost of each arm, in units of the outcome (arms not named cost 0).
    pub costs: Vec<(String, f64)>,
    /// How propensities are known.
    pub propensity: Propensity,
    /// Columns never used as features.
    pub drop: Vec<String>,
    /// Columns kept as features even if they differ between arms.
    pub keep: Vec<String>,
    /// Share of rows held out for evaluation.
    pub holdout: f64,
    /// Seed of the split and the bootstrap.
    pub seed: u64,
    /// Bootstrap replicates.
    pub replicates: usize,
    /// The shared model's hyper-parameters (fitted on every arm's rows).
    pub base: GbmParams,
    /// Candidate per-arm continuations (trees grown on each arm's rows from the shared model);
    /// the one with the best cross-validated policy value on the training rows is used.
    pub arm_candidates: Vec<GbmParams>,
    /// Candidate margins by which another arm must beat the default arm.
    pub margins: Vec<f64>,
    /// Folds of the cross-validation that chooses among the candidates.
    pub folds: usize,
}

impl UpliftOptions {
    /// Defaults: 30 % held out, seed 42, 1,000 replicates, propensities from the arm shares, and
    /// trees small and slow-learning (uplift is a small signal in noisy outcomes).
    pub fn new(treatment: impl Into<String>, outcome: impl Into<String>) -> Self {
        UpliftOptions {
            treatment: treatment.into(),
            outcome: outcome.into(),
            control: None,
            costs: Vec::new(),
            propensity: Propensity::FromShares,
            drop: Vec::new(),
            keep: Vec::new(),
            holdout: 0.3,
            seed: 42,
            replicates: 1000,
            base: GbmParams {
                n_trees: 200,
                learning_rate: 0.03,
                max_leaves: 15,
                min_data_in_leaf: 100,
                ..GbmParams::default()
            },
            arm_candidates: [
                (10, 3),
                (25, 3),
                (50, 3),
                (25, 7),
                (50, 7),
                (100, 7),
                (200, 15),
            ]
            .into_iter()
            .map(|(n_trees, max_leaves)| GbmParams {
                n_trees,
                learning_rate: 0.03,
                max_leaves,
                min_data_in_leaf: 200,
                ..GbmParams::default()
            })
            .collect(),
            margins: vec![0.0, 0.005, 0.01, 0.02, 0.03, 0.05],
            folds: 5,
        }
    }
}

/// One arm's observed value on the held-out rows.
#[derive(Debug, Clone, Serialize)]
pub struct ArmValue {
    /// Arm name.
    pub name: String,
    /// Mean outcome net of the arm's cost.
    pub value: f64,
    /// 95 % bootstrap interval of the mean.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Held-out rows in the arm.
    pub n: usize,
    /// The arm's propensity (mean over its rows).
    pub propensity: f64,
    /// Cost of the arm.
    pub cost: f64,
    /// Share of held-out customers the learned policy gives this arm.
    pub policy_share: f64,
}

/// The best single arm.
#[derive(Debug, Clone, Serialize)]
pub struct BestArm {
    /// Arm name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// The learned policy's estimated value.
#[derive(Debug, Clone, Serialize)]
pub struct LearnedPolicy {
    /// Inverse propensity scoring.
    pub ips: Estimate,
    /// Self-normalised IPS.
    pub snips: Estimate,
    /// Doubly robust (the per-arm models as the reward model).
    pub dr: Estimate,
    /// SNIPS value minus the best single arm's, with a paired bootstrap interval.
    pub margin_over_best_arm: Estimate,
    /// Effective sample size of the importance weights.
    pub effective_sample_size: f64,
    /// Warnings of the estimators.
    pub warnings: Vec<String>,
}

/// The evaluation, as written to `evaluation.json`.
#[derive(Debug, Clone, Serialize)]
pub struct UpliftReport {
    /// Input file.
    pub input: PathBuf,
    /// Treatment column.
    pub treatment: String,
    /// Outcome column.
    pub outcome: String,
    /// Control arm, if named.
    pub control: Option<String>,
    /// Seed of split and bootstrap.
    pub seed: u64,
    /// Rows used for training.
    pub train_rows: usize,
    /// Rows held out.
    pub test_rows: usize,
    /// Rows left out for a missing arm or outcome.
    pub rows_missing: usize,
    /// How propensities were obtained.
    pub propensity_source: String,
    /// The outcome was scaled by this before fitting (1 for a binary outcome).
    pub outcome_scale: f64,
    /// Features used.
    pub features: Vec<String>,
    /// Columns set aside, with why.
    pub set_aside: Vec<SetAside>,
    /// Each arm on the held-out rows.
    pub arms: Vec<ArmValue>,
    /// The best single arm.
    pub best_arm: BestArm,
    /// The learned policy.
    pub learned_policy: LearnedPolicy,
    /// Hyper-parameters of the shared model.
    pub base: GbmParams,
    /// Hyper-parameters of the per-arm continuation chosen by cross-validation.
    pub arm_params: GbmParams,
    /// The arm given when no other is predicted to be clearly better.
    pub default_arm: String,
    /// How much better (in outcome units, net of cost) another arm must be predicted to be.
    pub margin: f64,
    /// The best policy tree (a rule by segment, depth 1 or 2, on doubly robust scores),
    /// reported beside the learned policy with both cross-validated values; not applied.
    pub segment_rule: Option<SegmentRule>,
    /// The cross-validated policy value (SNIPS, net of cost) of each candidate.
    pub cv: Vec<CvResult>,
    /// Bootstrap replicates.
    pub replicates: usize,
}

/// A policy tree fitted on the training rows.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRule {
    /// The rule in words.
    pub rule: String,
    /// Its depth.
    pub depth: usize,
    /// Its cross-validated SNIPS value (net of cost) on the training rows.
    pub cv_snips: f64,
    /// The learned (per-customer) policy's, for comparison.
    pub cv_snips_per_customer: f64,
}

/// One candidate of the cross-validation.
#[derive(Debug, Clone, Serialize)]
pub struct CvResult {
    /// "per customer" (the per-arm models' best arm, with `margin`) or a policy tree of a
    /// depth (on doubly robust scores with these per-arm models).
    pub policy: String,
    /// Trees per arm.
    pub n_trees: usize,
    /// Leaves per tree.
    pub max_leaves: usize,
    /// Margin required to leave the default arm (`null` in JSON: never).
    pub margin: f64,
    /// Out-of-fold SNIPS value of the policy.
    pub snips: f64,
}

/// The policy: the arm with the highest predicted value net of cost, if it beats the default
/// arm's by more than `margin`; the default arm otherwise (a small predicted gain is mostly
/// noise).
fn choose(q: &[Vec<f64>], cost: &[f64], i: usize, default_arm: usize, margin: f64) -> usize {
    let net = |a: usize| q[a][i] - cost[a];
    let best = (0..q.len())
        .max_by(|&u, &v| net(u).total_cmp(&net(v)))
        .unwrap_or(default_arm);
    if net(best) - net(default_arm) > margin {
        best
    } else {
        default_arm
    }
}

/// A shared model on all rows, continued on each arm's rows with every candidate: for each
/// candidate, per arm, the predictions for the rows of `x_eval`.
fn fit_predict(
    x: &FeatureMatrix,
    y: &[f64],
    arms: &[usize],
    k: usize,
    base: &GbmParams,
    candidates: &[GbmParams],
    x_eval: &FeatureMatrix,
) -> Result<Vec<Vec<Vec<f64>>>, TrainError> {
    let gbm = |source| TrainError::Model {
        model: "gbm",
        source,
    };
    let shared = base.fit_weighted(x, y, None).map_err(gbm)?;
    let per_arm = |a: usize| -> Result<Vec<Vec<f64>>, TrainError> {
        let rows: Vec<usize> = (0..arms.len()).filter(|&i| arms[i] == a).collect();
        let xa = x.take(&rows);
        let ya: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        candidates
            .iter()
            .map(|p| {
                p.fit_continued(&shared, &xa, &ya, None)
                    .and_then(|m| m.predict_proba(x_eval))
                    .map_err(gbm)
            })
            .collect()
    };
    let by_arm: Vec<Result<Vec<Vec<f64>>, TrainError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..k).map(|a| s.spawn(move || per_arm(a))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let by_arm = by_arm.into_iter().collect::<Result<Vec<_>, _>>()?;
    // Candidate-major.
    Ok((0..candidates.len())
        .map(|c| by_arm.iter().map(|per| per[c].clone()).collect())
        .collect())
}

/// A column not used, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct SetAside {
    /// Column.
    pub column: String,
    /// Why.
    pub reason: String,
}

/// The complementary error function (Numerical Recipes' `erfcc`, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Upper-tail probability of a χ² statistic with `dof` degrees of freedom (Wilson–Hilferty).
pub fn chi2_sf(stat: f64, dof: f64) -> f64 {
    if dof <= 0.0 {
        return 1.0;
    }
    let a = 2.0 / (9.0 * dof);
    let z = ((stat / dof).cbrt() - (1.0 - a)) / a.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// χ² test of independence of a feature (binned) and the arm: (statistic, degrees of freedom).
fn independence(values: &[f64], categorical: bool, arms: &[usize], n_arms: usize) -> (f64, f64) {
    // Categories are their own bins; numbers are cut at deciles; missing values get a bin.
    let bin_of: Box<dyn Fn(f64) -> usize> = if categorical {
        Box::new(|v: f64| if v.is_nan() { 0 } else { v as usize + 1 })
    } else {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let mut cuts: Vec<f64> = (1..10)
            .filter_map(|q| sorted.get(q * sorted.len() / 10).copied())
            .collect();
        cuts.dedup();
        Box::new(move |v: f64| {
            if v.is_nan() {
                0
            } else {
                1 + cuts.partition_point(|c| *c < v)
            }
        })
    };
    let mut table: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for (&v, &a) in values.iter().zip(arms) {
        table.entry(bin_of(v)).or_insert_with(|| vec![0.0; n_arms])[a] += 1.0;
    }
    let n = values.len() as f64;
    let arm_totals: Vec<f64> = (0..n_arms)
        .map(|a| table.values().map(|r| r[a]).sum())
        .collect();
    let mut stat = 0.0;
    for row in table.values() {
        let row_total: f64 = row.iter().sum();
        for (a, &obs) in row.iter().enumerate() {
            let expected = row_total * arm_totals[a] / n;
            if expected > 0.0 {
                stat += (obs - expected).powi(2) / expected;
            }
        }
    }
    let used_arms = arm_totals.iter().filter(|t| **t > 0.0).count();
    let dof = (table.len().saturating_sub(1) * used_arms.saturating_sub(1)) as f64;
    (stat, dof)
}

/// Trains the per-arm models and evaluates the learned policy on the held-out rows.
pub fn evaluate_uplift(table: &Table, opts: &UpliftOptions) -> Result<UpliftReport, TrainError> {
    let path = table.path.clone();
    let no_such = |column: &str, what| crate::tabular::no_such_column(table, column, what);
    let too_few = |what: String| TrainError::TooFew {
        path: path.clone(),
        what,
    };
    let t_idx = table
        .index_of(&opts.treatment)
        .ok_or_else(|| no_such(&opts.treatment, "the treatment"))?;
    let y_idx = table
        .index_of(&opts.outcome)
        .ok_or_else(|| no_such(&opts.outcome, "the outcome"))?;
    for c in opts.drop.iter().chain(&opts.keep) {
        table
            .index_of(c)
            .ok_or_else(|| no_such(c, "given with --drop or --keep"))?;
    }
    let p_col = match &opts.propensity {
        Propensity::Column(c) => Some(
            table
                .index_of(c)
                .ok_or_else(|| no_such(c, "given with --propensity"))?,
        ),
        _ => None,
    };
    let Column::Numeric(outcome) = &table.columns[y_idx] else {
        return Err(too_few(format!(
            "outcome column {:?} is not numeric (a 0/1 response or an amount is expected)",
            opts.outcome
        )));
    };
    if let Some(i) = outcome.iter().position(|v| *v < 0.0) {
        return Err(too_few(format!(
            "outcome column {:?} has a negative value {} on data row {}; outcomes must be ≥ 0",
            opts.outcome,
            outcome[i],
            i + 1
        )));
    }
    let tcol = &table.columns[t_idx];
    let keep: Vec<usize> = (0..table.rows())
        .filter(|&i| tcol.text(i).is_some() && !outcome[i].is_nan())
        .collect();
    let mut arm_names: Vec<String> = Vec::new();
    let arms: Vec<usize> = keep
        .iter()
        .map(|&i| {
            let t = tcol.text(i).unwrap_or_default();
            match arm_names.iter().position(|a| *a == t) {
                Some(k) => k,
                None => {
                    arm_names.push(t);
                    arm_names.len() - 1
                }
            }
        })
        .collect();
    // Arms in a stable order: by name.
    let mut order: Vec<usize> = (0..arm_names.len()).collect();
    order.sort_by(|a, b| arm_names[*a].cmp(&arm_names[*b]));
    let rank: Vec<usize> = {
        let mut r = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            r[old] = new;
        }
        r
    };
    let arms: Vec<usize> = arms.iter().map(|a| rank[*a]).collect();
    let arm_names: Vec<String> = order.iter().map(|&k| arm_names[k].clone()).collect();
    let k = arm_names.len();
    if k < 2 {
        return Err(too_few(format!(
            "treatment column {:?} has {k} arm(s) ({}); an experiment needs at least two",
            opts.treatment,
            arm_names.join(", ")
        )));
    }
    if k > 50 {
        return Err(too_few(format!(
            "treatment column {:?} has {k} distinct values: is it an identifier?",
            opts.treatment
        )));
    }
    let arm_of = |name: &str, what: &str| {
        arm_names.iter().position(|a| a == name).ok_or_else(|| {
            too_few(format!(
                "{what} names arm {name:?}, which is not a value of {:?} (arms: {})",
                opts.treatment,
                arm_names.join(", ")
            ))
        })
    };
    if let Some(c) = &opts.control {
        arm_of(c, "--control")?;
    }
    let mut cost = vec![0.0; k];
    for (name, c) in &opts.costs {
        if !c.is_finite() {
            return Err(too_few(format!("--cost for {name:?} is not a number")));
        }
        cost[arm_of(name, "--cost")?] = *c;
    }
    let n_rows = keep.len();
    let propensity: Vec<f64> = match &opts.propensity {
        Propensity::FromShares => {
            let mut counts = vec![0usize; k];
            arms.iter().for_each(|a| counts[*a] += 1);
            arms.iter()
                .map(|a| counts[*a] as f64 / n_rows as f64)
                .collect()
        }
        Propensity::PerArm(given) => {
            let mut p = vec![f64::NAN; k];
            for (name, v) in given {
                p[arm_of(name, "--propensity")?] = *v;
            }
            if let Some(a) = p.iter().position(|v| v.is_nan()) {
                return Err(too_few(format!(
                    "--propensity gives no probability for arm {:?}",
                    arm_names[a]
                )));
            }
            arms.iter().map(|a| p[*a]).collect()
        }
        Propensity::Column(_) => {
            let col = &table.columns[p_col.unwrap_or(0)];
            keep.iter()
                .map(|&i| match col {
                    Column::Numeric(v) => v[i],
                    Column::Text(_) => f64::NAN,
                })
                .collect()
        }
    };
    if let Some(i) = propensity.iter().position(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(too_few(format!(
            "propensity {} of data row {} is outside (0, 1]",
            propensity[i],
            keep[i] + 1
        )));
    }
    let y: Vec<f64> = keep.iter().map(|&i| outcome[i]).collect();
    let scale = y.iter().copied().fold(0.0, f64::max);
    if scale <= 0.0 {
        return Err(too_few(format!(
            "outcome column {:?} is zero on every row: nothing to learn",
            opts.outcome
        )));
    }

    // Features, without the columns that the treatment moved.
    let mut skip = vec![t_idx, y_idx];
    skip.extend(p_col);
    skip.extend(opts.drop.iter().filter_map(|c| table.index_of(c)));
    let Features {
        defs,
        columns,
        mut excluded,
    } = features_of(table, &keep, &skip, &[]);
    let mut names = Vec::new();
    let mut used = Vec::new();
    for (d, col) in defs.into_iter().zip(columns) {
        let categorical = matches!(d.kind, forbear_models::FeatureKind::Categorical { .. });
        let (stat, dof) = independence(&col, categorical, &arms, k);
        let p = chi2_sf(stat, dof);
        if p < LEAK_P_VALUE && !opts.keep.contains(&d.name) {
            excluded.push((
                d.name.clone(),
                format!(
                    "differs between arms (χ² = {stat:.0} on {dof} degrees of freedom, p < {LEAK_P_VALUE:e}): \
                     in a randomised experiment only an outcome of the treatment does; name it with --keep to use it anyway"
                ),
            ));
            continue;
        }
        names.push(d.name);
        used.push(col);
    }
    if names.is_empty() {
        return Err(TrainError::NoFeature {
            path: path.clone(),
            details: excluded
                .iter()
                .map(|(n, why)| format!("{n}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let x = FeatureMatrix::new(names.clone(), used).map_err(|source| TrainError::Model {
        model: "features",
        source,
    })?;
    let (train, test) = stratified_holdout_classes(&arms, opts.holdout, opts.seed);
    let xtr = x.take(&train);
    let xte = x.take(&test);
    tracing::info!(
        rows = n_rows,
        train = train.len(),
        test = test.len(),
        arms = k,
        features = names.len(),
        "fitting one response model per arm"
    );
    // One model per arm, fitted on the arm's training rows; predictions for every test row.
    let arms_tr: Vec<usize> = train.iter().map(|&r| arms[r]).collect();
    let y_tr: Vec<f64> = train.iter().map(|&r| y[r] / scale).collect();
    let p_tr: Vec<f64> = train.iter().map(|&r| propensity[r]).collect();
    // Choose the per-arm continuation by cross-validated policy value on the training rows.
    let folds = crate::split::stratified_folds_classes(&arms_tr, opts.folds.max(2), opts.seed);
    let mut oof: Vec<Vec<Vec<f64>>> =
        vec![vec![vec![0.0; train.len()]; k]; opts.arm_candidates.len()];
    for f in 0..opts.folds.max(2) {
        let (fit_rows, eval_rows): (Vec<usize>, Vec<usize>) =
            (0..train.len()).partition(|&i| folds[i] != f);
        let preds = fit_predict(
            &xtr.take(&fit_rows),
            &fit_rows.iter().map(|&i| y_tr[i]).collect::<Vec<_>>(),
            &fit_rows.iter().map(|&i| arms_tr[i]).collect::<Vec<_>>(),
            k,
            &opts.base,
            &opts.arm_candidates,
            &xtr.take(&eval_rows),
        )?;
        for (c, per_arm) in preds.into_iter().enumerate() {
            for (a, p) in per_arm.into_iter().enumerate() {
                for (j, &i) in eval_rows.iter().enumerate() {
                    oof[c][a][i] = p[j] * scale;
                }
            }
        }
    }
    // The default arm: the best on average in the training rows (inverse-propensity weighted).
    let default_arm = {
        let mut sums = vec![(0.0, 0.0); k];
        for i in 0..train.len() {
            let a = arms_tr[i];
            sums[a].0 += (y_tr[i] * scale - cost[a]) / p_tr[i];
            sums[a].1 += 1.0 / p_tr[i];
        }
        (0..k)
            .max_by(|&u, &v| (sums[u].0 / sums[u].1).total_cmp(&(sums[v].0 / sums[v].1)))
            .unwrap_or(0)
    };
    // The SNIPS value (net of cost) on the training rows of a policy giving row `i` the arm
    // `pick(i)`.
    let snips_by = |pick: &dyn Fn(usize) -> usize| {
        let (mut swr, mut sw) = (0.0, 0.0);
        for i in 0..train.len() {
            let a = arms_tr[i];
            if pick(i) == a {
                swr += (y_tr[i] * scale - cost[a]) / p_tr[i];
                sw += 1.0 / p_tr[i];
            }
        }
        if sw > 0.0 {
            swr / sw
        } else {
            f64::NEG_INFINITY
        }
    };
    let snips_of =
        |q: &[Vec<f64>], margin: f64| snips_by(&|i| choose(q, &cost, i, default_arm, margin));
    let mut cv = Vec::new();
    for (c, q) in oof.iter().enumerate() {
        for &margin in &opts.margins {
            cv.push((c, margin, snips_of(q, margin)));
        }
    }
    let (chosen, margin, best_cv) = cv
        .iter()
        .copied()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or((0, 0.0, 0.0));
    // For reference, the default arm for everyone, on the same rows.
    let always_default_cv = snips_by(&|_| default_arm);
    tracing::debug!(cv_snips = always_default_cv, "always the default arm");
    // Policy trees (depth 1 and 2) on each training row's doubly robust score per arm, the
    // chosen continuation's out-of-fold predictions as the reward model; judged by the same
    // folds (a tree fitted on the other folds, valued on this one).
    let columns_tr: Vec<&[f64]> = (0..xtr.features()).map(|f| xtr.column(f)).collect();
    let binned = policy_tree::Binned::new(&columns_tr);
    let gamma: Vec<Vec<f64>> = (0..train.len())
        .map(|i| {
            (0..k)
                .map(|a| {
                    let q = oof[chosen][a][i];
                    let observed = if arms_tr[i] == a {
                        (y_tr[i] * scale - q) / p_tr[i]
                    } else {
                        0.0
                    };
                    q - cost[a] + observed
                })
                .collect()
        })
        .collect();
    let tree_cv: Vec<(usize, f64)> = [1usize, 2]
        .iter()
        .map(|&depth| {
            let mut picks = vec![0; train.len()];
            for f in 0..opts.folds.max(2) {
                let fit_rows: Vec<usize> = (0..train.len()).filter(|&i| folds[i] != f).collect();
                let (tree, _) = policy_tree::fit(&binned, &gamma, &fit_rows, depth);
                for i in (0..train.len()).filter(|&i| folds[i] == f) {
                    picks[i] = tree.choose(&|c| columns_tr[c][i]);
                }
            }
            let v = snips_by(&|i| picks[i]);
            tracing::debug!(depth, cv_snips = v, "policy tree");
            (depth, v)
        })
        .collect();
    // The better depth refitted on every training row: a rule by segment reported beside the
    // learned policy, not in its place — on Hillstrom, choosing it whenever its cross-validated
    // value was the highest made the held-out margin worse on the one seed of nine where that
    // happened (more candidates, more winner's curse).
    let segment_rule = tree_cv
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(depth, cv_snips)| {
            let all: Vec<usize> = (0..train.len()).collect();
            let rule = policy_tree::fit(&binned, &gamma, &all, depth)
                .0
                .describe(&names, &arm_names);
            SegmentRule {
                rule,
                depth,
                cv_snips,
                cv_snips_per_customer: best_cv,
            }
        });
    for &(c, m, v) in &cv {
        let p = &opts.arm_candidates[c];
        tracing::debug!(
            trees = p.n_trees,
            leaves = p.max_leaves,
            margin = m,
            cv_snips = v,
            "per-arm continuation"
        );
    }
    tracing::info!(
        trees = opts.arm_candidates[chosen].n_trees,
        leaves = opts.arm_candidates[chosen].max_leaves,
        margin,
        default_arm = arm_names[default_arm],
        "chosen by cross-validation"
    );
    let q: Vec<Vec<f64>> = fit_predict(
        &xtr,
        &y_tr,
        &arms_tr,
        k,
        &opts.base,
        std::slice::from_ref(&opts.arm_candidates[chosen]),
        &xte,
    )?
    .swap_remove(0)
    .into_iter()
    .map(|p| p.into_iter().map(|v| v * scale).collect())
    .collect();
    let choice: Vec<usize> = (0..test.len())
        .map(|i| choose(&q, &cost, i, default_arm, margin))
        .collect();
    let logged: Vec<Logged> = test
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let a = arms[r];
            Logged {
                reward: y[r] - cost[a],
                propensity: propensity[r],
                target: f64::from(u8::from(choice[i] == a)),
                q_logged: q[a][i] - cost[a],
                q_target: q[choice[i]][i] - cost[choice[i]],
            }
        })
        .collect();
    let cfg = OpeConfig {
        replicates: opts.replicates,
        seed: opts.seed,
        min_ess: 1000.0,
        ..OpeConfig::default()
    };
    let report = ope::evaluate(&logged, &cfg).map_err(|e| too_few(e.to_string()))?;
    // Each arm's observed value, and the margin of the learned policy over the best.
    let arm_mean = |a: usize, counts: &[u32]| {
        let (mut s, mut n) = (0.0, 0.0);
        for (i, &r) in test.iter().enumerate() {
            if arms[r] == a {
                s += f64::from(counts[i]) * logged[i].reward;
                n += f64::from(counts[i]);
            }
        }
        if n > 0.0 { s / n } else { f64::NAN }
    };
    let mut arm_values = Vec::with_capacity(k);
    for a in 0..k {
        let e = ope::bootstrap(test.len(), opts.replicates, opts.seed ^ a as u64, |c| {
            arm_mean(a, c)
        });
        let rows: Vec<usize> = test.iter().copied().filter(|&r| arms[r] == a).collect();
        arm_values.push(ArmValue {
            name: arm_names[a].clone(),
            value: e.value,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            n: rows.len(),
            propensity: rows.iter().map(|&r| propensity[r]).sum::<f64>() / rows.len().max(1) as f64,
            cost: cost[a],
            policy_share: choice.iter().filter(|c| **c == a).count() as f64 / test.len() as f64,
        });
    }
    let best = (0..k)
        .max_by(|&a, &b| arm_values[a].value.total_cmp(&arm_values[b].value))
        .unwrap_or(0);
    let weights: Vec<f64> = logged.iter().map(|l| l.target / l.propensity).collect();
    let margin_est = ope::bootstrap(test.len(), opts.replicates, opts.seed ^ 0x3a4, |c| {
        let (mut swr, mut sw) = (0.0, 0.0);
        for ((l, w), k) in logged.iter().zip(&weights).zip(c) {
            let k = f64::from(*k);
            swr += k * w * l.reward;
            sw += k * w;
        }
        let snips = if sw > 0.0 { swr / sw } else { 0.0 };
        snips - arm_mean(best, c)
    });
    let set_aside = excluded
        .into_iter()
        .chain(table.dropped.iter().cloned())
        .map(|(column, reason)| SetAside { column, reason })
        .collect();
    Ok(UpliftReport {
        input: path.clone(),
        treatment: opts.treatment.clone(),
        outcome: opts.outcome.clone(),
        control: opts.control.clone(),
        seed: opts.seed,
        train_rows: train.len(),
        test_rows: test.len(),
        rows_missing: table.rows() - n_rows,
        propensity_source: match &opts.propensity {
            Propensity::FromShares => "estimated from the arms' shares".to_owned(),
            Propensity::PerArm(_) => "given per arm".to_owned(),
            Propensity::Column(c) => format!("column {c:?}"),
        },
        outcome_scale: scale,
        features: names,
        set_aside,
        best_arm: BestArm {
            name: arm_names[best].clone(),
            value: arm_values[best].value,
        },
        arms: arm_values,
        learned_policy: LearnedPolicy {
            ips: report.ips,
            snips: report.snips,
            dr: report.dr,
            margin_over_best_arm: margin_est,
            effective_sample_size: report.effective_sample_size,
            warnings: report.warnings,
        },
        base: opts.base.clone(),
        arm_params: opts.arm_candidates[chosen].clone(),
        default_arm: arm_names[default_arm].clone(),
        margin,
        segment_rule,
        cv: cv
            .iter()
            .map(|&(c, margin, snips)| CvResult {
                policy: "per customer".to_owned(),
                n_trees: opts.arm_candidates[c].n_trees,
                max_leaves: opts.arm_candidates[c].max_leaves,
                margin,
                snips,
            })
            .chain(std::iter::once(CvResult {
                policy: format!("always {}", arm_names[default_arm]),
                n_trees: 0,
                max_leaves: 0,
                margin: f64::INFINITY,
                snips: always_default_cv,
            }))
            .chain(tree_cv.iter().map(|&(depth, snips)| CvResult {
                policy: format!("policy tree of depth {depth}"),
                n_trees: opts.arm_candidates[chosen].n_trees,
                max_leaves: opts.arm_candidates[chosen].max_leaves,
                margin: 0.0,
                snips,
            }))
            .collect(),
        replicates: opts.replicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_tail_matches_known_quantiles() {
        // 95th percentiles: 3.841 (1 dof), 18.307 (10 dof); 99.9th of 2 dof: 13.816.
        assert!((chi2_sf(3.841, 1.0) - 0.05).abs() < 0.005);
        assert!((chi2_sf(18.307, 10.0) - 0.05).abs() < 0.002);
        assert!((chi2_sf(13.816, 2.0) - 0.001).abs() < 0.0005);
        assert!(chi2_sf(200.0, 2.0) < 1e-10);
    }
}
