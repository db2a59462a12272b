//! A credit scorecard: each feature cut into a few bins, each bin's weight of evidence, a
//! logistic regression on those weights, and points a person can add up on paper.
//!
//! Labels `true` are *bad* (the positive class). A bin's weight of evidence is
//! `ln((goods in bin / all goods) / (bads in bin / all bads))`, counts smoothed by 0.5, so riskier
//! bins have lower WoE; the regression of bad on WoE therefore has negative coefficients, and a
//! feature whose coefficient comes out positive (a collinear feature reversing its own evidence)
//! is dropped and the regression refitted, so that in every feature a riskier bin earns fewer
//! points. Points follow the usual scaling: `base_score` points at odds `base_odds` (good:bad)
//! and `pdo` more points for every doubling of the odds; a score is the sum of one bin's points
//! per feature, higher is safer. Probabilities come from the unrounded model, not the points.
//!
//! Numeric features are binned by value: about twenty quantile bins, bins smaller than
//! `min_bin_share` merged into a neighbour, then (if `monotone`) adjacent bins pooled until the
//! bad rate moves in one direction, then the closest pair merged until at most `max_bins` remain.
//! Categorical features get a bin per value, small values pooled as "other". Missing values get
//! a bin of their own whenever training had any; a value the training data gave no bin (missing,
//! or an unseen category) scores as WoE 0, i.e. as neutral evidence.

use crate::logistic::{LogisticParams, sigmoid};
use crate::matrix::Columns;
use crate::{FeatureMatrix, ModelError};
use serde::{Deserialize, Serialize};

/// Quantile bins a numeric feature starts from.
const PRE_BINS: usize = 20;
/// Features with less information value than this are left out of the regression.
const MIN_IV: f64 = 0.02;

/// Hyper-parameters of a [`Scorecard`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScorecardParams {
    /// Most bins of a numeric feature's values, between 2 and 20 (a missing bin comes on top).
    /// Default 6.
    pub max_bins: usize,
    /// Smallest share of training rows in a bin of values, in [0, 0.5); smaller numeric bins are
    /// merged, smaller categories pooled as "other". Default 0.05.
    pub min_bin_share: f64,
    /// Make the bad rate of a numeric feature's bins monotone. Default true.
    pub monotone: bool,
    /// Score at the base odds. Default 600.
    pub base_score: f64,
    /// Odds good:bad that score `base_score`. Default 50.
    pub base_odds: f64,
    /// Points that double the odds. Default 20.
    pub pdo: f64,
    /// L2 penalty of the regression on WoE values (see [`LogisticParams::l2`]). Default 1.0.
    pub l2: f64,
    /// Names of features binned by category (their values are codes) rather than by value.
    /// Default none.
    pub categorical: Vec<String>,
}

impl Default for ScorecardParams {
    fn default() -> Self {
        ScorecardParams {
            max_bins: 6,
            min_bin_share: 0.05,
            monotone: true,
            base_score: 600.0,
            base_odds: 50.0,
            pdo: 20.0,
            l2: 1.0,
            categorical: Vec::new(),
        }
    }
}

impl ScorecardParams {
    /// Checks every parameter's range.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |name, value: String, expected| {
            Err(ModelError::InvalidParam {
                name,
                value,
                expected,
            })
        };
        if !(2..=PRE_BINS).contains(&self.max_bins) {
            return bad("max_bins", self.max_bins.to_string(), "between 2 and 20");
        }
        if !(0.0..0.5).contains(&self.min_bin_share) {
            return bad(
                "min_bin_share",
                self.min_bin_share.to_string(),
                "in [0, 0.5)",
            );
        }
        if !self.base_score.is_finite() {
            return bad("base_score", self.base_score.to_string(), "finite");
        }
        if !(self.base_odds.is_finite() && self.base_odds > 0.0) {
            return bad("base_odds", self.base_odds.to_string(), "finite and > 0");
        }
        if !(self.pdo.is_finite() && self.pdo > 0.0) {
            return bad("pdo", self.pdo.to_string(), "finite and > 0");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", self.l2.to_string(), "finite and ≥ 0");
        }
        Ok(())
    }

    /// Fits a scorecard to `x` and labels `y` (`true` = bad).
    pub fn fit(&self, x: &FeatureMatrix, y: &[bool]) -> Result<Scorecard, ModelError> {
        self.check()?;
        fit(self, x, y)
    }
}

/// How a feature is binned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinningKind {
    /// By value ranges.
    Numeric,
    /// One bin per category code.
    Categorical,
}

/// Which values fall in a bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BinRule {
    /// `lower < x <= upper`; `None` is unbounded.
    Range {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// One category.
    Category { value: f64 },
    /// The small categories of training, pooled.
    Other { values: Vec<f64> },
    /// Missing values.
    Missing,
}

impl BinRule {
    fn holds(&self, x: f64) -> bool {
        match self {
            BinRule::Range { lower, upper } => {
                !x.is_nan() && lower.is_none_or(|l| x > l) && upper.is_none_or(|u| x <= u)
            }
            BinRule::Category { value } => x == *value,
            BinRule::Other { values } => values.contains(&x),
            BinRule::Missing => x.is_nan(),
        }
    }

    /// Interval notation: `(-inf, 3]`, `(3, 10]`, `(10, inf)`, `= 2`, `other`, `missing`.
    fn label(&self) -> String {
        match self {
            BinRule::Range { lower, upper } => {
                let l = lower.map_or("-inf".to_string(), |l| l.to_string());
                match upper {
                    Some(u) => format!("({l}, {u}]"),
                    None => format!("({l}, inf)"),
                }
            }
            BinRule::Category { value } => format!("= {value}"),
            BinRule::Other { .. } => "other".into(),
            BinRule::Missing => "missing".into(),
        }
    }

    /// Plain words for reason texts: `<= 3`, `> 10`, `> 3 and <= 10`, `= 2`, `other`, `missing`.
    fn describe(&self) -> String {
        match self {
            BinRule::Range { lower, upper } => match (lower, upper) {
                (None, None) => "any value".into(),
                (None, Some(u)) => format!("<= {u}"),
                (Some(l), None) => format!("> {l}"),
                (Some(l), Some(u)) => format!("> {l} and <= {u}"),
            },
            _ => self.label(),
        }
    }
}

/// One bin of a scorecard feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreBin {
    /// The bin in interval notation, e.g. `(-inf, 0]`, `(0, 1]`, `= 2`, `other`, `missing`.
    pub label: String,
    /// Which values fall in it.
    pub rule: BinRule,
    /// Training rows in it.
    pub count: usize,
    /// Share of those rows that were bad.
    pub bad_rate: f64,
    /// Weight of evidence, `ln(good share / bad share)`.
    pub woe: f64,
    /// Points, rounded to 2 decimals.
    pub points: f64,
}

/// One feature of a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorecardFeature {
    /// Feature name.
    pub name: String,
    /// Its position among the scorecard's inputs ([`Scorecard::inputs`]).
    pub column: usize,
    /// How it is binned.
    pub kind: BinningKind,
    /// Its bins: values in order (or categories, then "other"), then "missing".
    pub bins: Vec<ScoreBin>,
    /// Regression coefficient on its WoE (≤ 0).
    pub coefficient: f64,
    /// Information value.
    pub iv: f64,
}

impl ScorecardFeature {
    /// The bin `x` falls in, if training gave it one.
    pub fn bin(&self, x: f64) -> Option<usize> {
        self.bins.iter().position(|b| b.rule.holds(x))
    }

    fn woe(&self, x: f64) -> f64 {
        self.bin(x).map_or(0.0, |b| self.bins[b].woe)
    }

    /// For a numeric feature whose ranges tile the line: the upper bounds in order (the last is
    /// +inf), each range's contribution `coefficient × WoE`, and the missing values'
    /// contribution. `None` when the bins are not such ranges (categories), so the caller falls
    /// back to [`ScorecardFeature::bin`]. Same answers as `woe`, without scanning the bins.
    fn range_lookup(&self) -> Option<(Vec<f64>, Vec<f64>, f64)> {
        if self.kind != BinningKind::Numeric {
            return None;
        }
        let mut ranges: Vec<(Option<f64>, Option<f64>, f64)> = Vec::new();
        let mut missing = 0.0;
        for b in &self.bins {
            match b.rule {
                BinRule::Range { lower, upper } => {
                    ranges.push((lower, upper, self.coefficient * b.woe))
                }
                BinRule::Missing => missing = self.coefficient * b.woe,
                _ => return None,
            }
        }
        ranges.sort_by(|a, b| {
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY))
        });
        let tiles = ranges.first().is_some_and(|r| r.0.is_none())
            && ranges.last().is_some_and(|r| r.1.is_none())
            && ranges.windows(2).all(|w| w[0].1 == w[1].0);
        if !tiles {
            return None;
        }
        let uppers = ranges
            .iter()
            .map(|r| r.1.unwrap_or(f64::INFINITY))
            .collect();
        Some((uppers, ranges.iter().map(|r| r.2).collect(), missing))
    }
}

/// Why a feature is not in the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Information value below 0.02.
    LowInformation,
    /// Its coefficient came out positive (riskier bins would have earned more points).
    WrongSign,
}

/// A feature left out of the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedFeature {
    /// Feature name.
    pub name: String,
    /// Information value of its bins.
    pub iv: f64,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Why an account lost points on one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code: `R`, the feature's index in [`Scorecard::features`] (from 0, two digits), `-`,
    /// the feature name; e.g. `R03-PAY_0`.
    pub code: String,
    /// Feature name.
    pub feature: String,
    /// The account's value (`NaN` when missing).
    pub value: f64,
    /// The feature's best points minus the account's points on it.
    pub points_lost: f64,
    /// The same in plain words.
    pub text: String,
}

/// A fitted scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Names of the columns it reads, in order (the training matrix's).
    pub inputs: Vec<String>,
    /// The features it scores, in input order.
    pub features: Vec<ScorecardFeature>,
    /// Inputs left out, and why.
    pub dropped: Vec<DroppedFeature>,
    /// Intercept of the regression of bad on WoE.
    pub intercept: f64,
    /// Whether the regression converged.
    pub converged: bool,
    /// Parameters it was fitted with.
    pub params: ScorecardParams,
}

impl Scorecard {
    /// Points per `ln` of the odds: `pdo / ln 2`.
    pub fn factor(&self) -> f64 {
        self.params.pdo / std::f64::consts::LN_2
    }

    /// Score at odds 1:1: `base_score − factor · ln(base_odds)`.
    pub fn offset(&self) -> f64 {
        self.params.base_score - self.factor() * self.params.base_odds.ln()
    }

    /// Sets every bin's points from the scaling in `params`.
    fn assign_points(&mut self) {
        let points: Vec<Vec<f64>> = self
            .features
            .iter()
            .map(|f| {
                f.bins
                    .iter()
                    .map(|b| self.points_at(f.coefficient, b.woe))
                    .collect()
            })
            .collect();
        for (f, pts) in self.features.iter_mut().zip(points) {
            for (b, pt) in f.bins.iter_mut().zip(pts) {
                b.points = pt;
            }
        }
    }

    /// Re-expresses the points on another scale (base score at base odds, points to double the
    /// odds). Probabilities do not change: points are presentation, the model is the same.
    pub fn rescale(&mut self, base_score: f64, base_odds: f64, pdo: f64) -> Result<(), ModelError> {
        let probe = ScorecardParams {
            base_score,
            base_odds,
            pdo,
            ..self.params.clone()
        };
        probe.check()?;
        self.params = probe;
        self.assign_points();
        Ok(())
    }

    /// Points of a feature at WoE `woe`, rounded to 2 decimals.
    fn points_at(&self, coefficient: f64, woe: f64) -> f64 {
        let k = self.features.len() as f64;
        round2(-(coefficient * woe + self.intercept / k) * self.factor() + self.offset() / k)
    }

    /// Points of feature `k` for value `x` (neutral points when training gave `x` no bin).
    fn points(&self, k: usize, x: f64) -> f64 {
        let f = &self.features[k];
        match f.bin(x) {
            Some(b) => f.bins[b].points,
            None => self.points_at(f.coefficient, 0.0),
        }
    }

    /// Log-odds of bad for one row given as a lookup of the inputs.
    pub fn decision(&self, row: &dyn Fn(usize) -> f64) -> f64 {
        self.intercept
            + self
                .features
                .iter()
                .map(|f| f.coefficient * f.woe(row(f.column)))
                .sum::<f64>()
    }

    fn check_width(&self, x: &Columns<'_>) -> Result<(), ModelError> {
        if x.features() != self.inputs.len() {
            return Err(ModelError::FeatureCount {
                expected: self.inputs.len(),
                found: x.features(),
            });
        }
        Ok(())
    }

    /// Probability of bad for every row of `x`, from the unrounded model.
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        self.predict_columns(&x.view())
    }

    /// Probability of bad for every row of borrowed columns (an Arrow batch, without a copy).
    pub fn predict_columns(&self, x: &Columns<'_>) -> Result<Vec<f64>, ModelError> {
        self.check_width(x)?;
        let mut z = vec![self.intercept; x.rows()];
        for f in &self.features {
            let col = x.column(f.column);
            match f.range_lookup() {
                // Numeric bins: the contributions of contiguous ranges, found by their upper bounds.
                // A handful of bounds: counting those below is branch-free and beats a search.
                Some((uppers, contrib, missing)) => {
                    for (zi, &v) in z.iter_mut().zip(col) {
                        let k = uppers.iter().map(|u| usize::from(*u < v)).sum::<usize>();
                        *zi += if v.is_nan() { missing } else { contrib[k] };
                    }
                }
                None => {
                    for (zi, &v) in z.iter_mut().zip(col) {
                        *zi += f.coefficient * f.woe(v);
                    }
                }
            }
        }
        Ok(z.into_iter().map(sigmoid).collect())
    }

    /// The score (sum of points; higher is safer) of every row of `x`.
    pub fn score(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        self.check_width(&x.view())?;
        let mut s = vec![0.0; x.rows()];
        for (k, f) in self.features.iter().enumerate() {
            for (si, &v) in s.iter_mut().zip(x.column(f.column)) {
                *si += self.points(k, v);
            }
        }
        Ok(s)
    }

    /// Up to `top` features on which the row lost points against the feature's best bin, most
    /// points lost first (ties in feature order); features on which it lost nothing are left out.
    pub fn reasons(&self, row: &dyn Fn(usize) -> f64, top: usize) -> Vec<Reason> {
        let mut reasons = Vec::new();
        for (k, f) in self.features.iter().enumerate() {
            let Some(best) = f
                .bins
                .iter()
                .reduce(|a, b| if b.points > a.points { b } else { a })
            else {
                continue;
            };
            let value = row(f.column);
            let lost = round2(best.points - self.points(k, value));
            if lost <= 0.0 {
                continue;
            }
            let what = if value.is_nan() {
                format!("{} is missing and", f.name)
            } else {
                format!("{} = {value}", f.name)
            };
            reasons.push(Reason {
                code: format!("R{k:02}-{}", f.name),
                feature: f.name.clone(),
                value,
                points_lost: lost,
                text: format!(
                    "{what} scores {lost} points below its best bin ({})",
                    best.rule.describe()
                ),
            });
        }
        // A stable sort keeps feature order among ties.
        reasons.sort_by(|a, b| b.points_lost.total_cmp(&a.points_lost));
        reasons.truncate(top);
        reasons
    }

    /// Every bin's points as (feature, bin label, points), for model cards.
    pub fn points_table(&self) -> Vec<(String, String, f64)> {
        self.features
            .iter()
            .flat_map(|f| {
                f.bins
                    .iter()
                    .map(|b| (f.name.clone(), b.label.clone(), b.points))
            })
            .collect()
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Rows and bads of a run of values: a bin in the making.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// The largest value in it.
    upper: f64,
    n: usize,
    bads: usize,
}

impl Group {
    fn rate(&self) -> f64 {
        self.bads as f64 / self.n as f64
    }

    /// `self` followed by `right`.
    fn join(self, right: Group) -> Group {
        Group {
            upper: right.upper,
            n: self.n + right.n,
            bads: self.bads + right.bads,
        }
    }
}

/// A group per distinct non-missing value, ascending, and a group of the missing values.
fn tally(values: &[f64], y: &[bool]) -> (Vec<Group>, Group) {
    let mut pairs: Vec<(f64, bool)> = values
        .iter()
        .zip(y)
        .filter(|(v, _)| !v.is_nan())
        .map(|(&v, &b)| (v, b))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut distinct: Vec<Group> = Vec::new();
    for (v, b) in pairs {
        match distinct.last_mut() {
            Some(g) if g.upper == v => {
                g.n += 1;
                g.bads += usize::from(b);
            }
            _ => distinct.push(Group {
                upper: v,
                n: 1,
                bads: usize::from(b),
            }),
        }
    }
    let mut missing = Group {
        upper: f64::NAN,
        n: 0,
        bads: 0,
    };
    for (_, &b) in values.iter().zip(y).filter(|(v, _)| v.is_nan()) {
        missing.n += 1;
        missing.bads += usize::from(b);
    }
    (distinct, missing)
}

/// Cuts distinct values into at most `PRE_BINS` groups of about equal rows.
fn quantile_groups(distinct: &[Group]) -> Vec<Group> {
    let total: usize = distinct.iter().map(|g| g.n).sum();
    let per_bin = total as f64 / PRE_BINS as f64;
    let mut groups: Vec<Group> = Vec::new();
    let (mut acc, mut next) = (0usize, per_bin);
    let mut open = false;
    for &d in distinct {
        match groups.last_mut() {
            Some(g) if open => *g = g.join(d),
            _ => groups.push(d),
        }
        open = true;
        acc += d.n;
        if acc as f64 >= next {
            open = false;
            while next <= acc as f64 {
                next += per_bin;
            }
        }
    }
    groups
}

/// Merges groups `i` and `i + 1`.
fn merge(groups: &mut Vec<Group>, i: usize) {
    let right = groups.remove(i + 1);
    groups[i] = groups[i].join(right);
}

/// The numeric binning: quantiles, small bins merged, bad rate made monotone, at most `max_bins`.
fn numeric_groups(distinct: &[Group], p: &ScorecardParams, rows: usize) -> Vec<Group> {
    let mut groups = quantile_groups(distinct);
    let min_rows = p.min_bin_share * rows as f64;
    // Merge the smallest too-small bin into the neighbour whose bad rate is closer.
    while groups.len() > 1 {
        let Some((i, _)) = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| (g.n as f64) < min_rows)
            .min_by_key(|(_, g)| g.n)
        else {
            break;
        };
        let left = if i == 0 {
            false
        } else if i + 1 == groups.len() {
            true
        } else {
            let r = groups[i].rate();
            (groups[i - 1].rate() - r).abs() <= (groups[i + 1].rate() - r).abs()
        };
        merge(&mut groups, if left { i - 1 } else { i });
    }
    if p.monotone && groups.len() > 1 {
        // The direction is the sign of the row-weighted covariance of bin rank and bad rate.
        let total = groups.iter().map(|g| g.n).sum::<usize>() as f64;
        let rank_mean = groups
            .iter()
            .enumerate()
            .map(|(k, g)| k as f64 * g.n as f64)
            .sum::<f64>()
            / total;
        let rate_mean = groups.iter().map(|g| g.bads).sum::<usize>() as f64 / total;
        let cov: f64 = groups
            .iter()
            .enumerate()
            .map(|(k, g)| g.n as f64 * (k as f64 - rank_mean) * (g.rate() - rate_mean))
            .sum();
        let rising = cov >= 0.0;
        // Pool adjacent violators: a bin that does not continue the direction joins the one
        // before it, which may then violate in turn.
        let mut pooled: Vec<Group> = Vec::with_capacity(groups.len());
        for g in groups {
            pooled.push(g);
            while pooled.len() > 1 {
                let (a, b) = (
                    pooled[pooled.len() - 2].rate(),
                    pooled[pooled.len() - 1].rate(),
                );
                if (rising && a < b) || (!rising && a > b) {
                    break;
                }
                let last = pooled.len() - 2;
                merge(&mut pooled, last);
            }
        }
        groups = pooled;
    }
    while groups.len() > p.max_bins {
        let i = (0..groups.len() - 1)
            .min_by(|&a, &b| {
                let gap = |i: usize| (groups[i].rate() - groups[i + 1].rate()).abs();
                gap(a).total_cmp(&gap(b))
            })
            .unwrap_or(0);
        merge(&mut groups, i);
    }
    groups
}

/// Bins of one feature with their counts.
fn bin_feature(
    values: &[f64],
    y: &[bool],
    kind: BinningKind,
    p: &ScorecardParams,
) -> Vec<(BinRule, Group)> {
    let (distinct, missing) = tally(values, y);
    let mut bins: Vec<(BinRule, Group)> = Vec::new();
    match kind {
        BinningKind::Numeric => {
            let groups = numeric_groups(&distinct, p, values.len());
            let last = groups.len().saturating_sub(1);
            for (k, g) in groups.iter().enumerate() {
                let rule = BinRule::Range {
                    lower: (k > 0).then(|| groups[k - 1].upper),
                    upper: (k < last).then_some(g.upper),
                };
                bins.push((rule, *g));
            }
        }
        BinningKind::Categorical => {
            let min_rows = p.min_bin_share * values.len() as f64;
            let mut other = Group {
                upper: f64::NAN,
                n: 0,
                bads: 0,
            };
            let mut pooled = Vec::new();
            for g in distinct {
                if (g.n as f64) < min_rows {
                    pooled.push(g.upper);
                    other = other.join(g);
                } else {
                    bins.push((BinRule::Category { value: g.upper }, g));
                }
            }
            if other.n > 0 {
                bins.push((BinRule::Other { values: pooled }, other));
            }
        }
    }
    if missing.n > 0 {
        bins.push((BinRule::Missing, missing));
    }
    bins
}

/// Turns counted bins into scorecard bins with their WoE (points come later) and returns them
/// with the feature's information value.
fn weigh(bins: Vec<(BinRule, Group)>, goods: f64, bads: f64) -> (Vec<ScoreBin>, f64) {
    let mut iv = 0.0;
    let bins = bins
        .into_iter()
        .map(|(rule, g)| {
            let good_share = ((g.n - g.bads) as f64 + 0.5) / goods;
            let bad_share = (g.bads as f64 + 0.5) / bads;
            let woe = (good_share / bad_share).ln();
            iv += (good_share - bad_share) * woe;
            ScoreBin {
                label: rule.label(),
                rule,
                count: g.n,
                bad_rate: g.rate(),
                woe,
                points: 0.0,
            }
        })
        .collect();
    (bins, iv)
}

fn fit(p: &ScorecardParams, x: &FeatureMatrix, y: &[bool]) -> Result<Scorecard, ModelError> {
    let n = x.rows();
    let positives = x.check_training(y)?;
    if let Some(name) = p.categorical.iter().find(|c| !x.names().contains(c)) {
        return Err(ModelError::InvalidParam {
            name: "categorical",
            value: name.clone(),
            expected: "names of features of the training matrix",
        });
    }
    let (goods, bads) = ((n - positives) as f64, positives as f64);
    let mut candidates: Vec<ScorecardFeature> = Vec::with_capacity(x.features());
    for (column, name) in x.names().iter().enumerate() {
        let kind = if p.categorical.contains(name) {
            BinningKind::Categorical
        } else {
            BinningKind::Numeric
        };
        let (bins, iv) = weigh(bin_feature(x.column(column), y, kind, p), goods, bads);
        candidates.push(ScorecardFeature {
            name: name.clone(),
            column,
            kind,
            bins,
            coefficient: 0.0,
            iv,
        });
    }
    let best = candidates
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.iv.total_cmp(&b.1.iv))
        .map_or(0, |(k, _)| k);
    let mut dropped = Vec::new();
    let mut kept = Vec::new();
    for (k, f) in candidates.into_iter().enumerate() {
        if f.iv < MIN_IV && k != best {
            dropped.push(DroppedFeature {
                name: f.name,
                iv: f.iv,
                reason: DropReason::LowInformation,
            });
        } else {
            kept.push(f);
        }
    }
    // Fit on WoE; drop the least informative feature of wrong sign and refit until none is left.
    let regression = LogisticParams {
        l2: p.l2,
        max_iter: 500,
        tol: 1e-8,
        standardize: false,
    };
    let model = loop {
        let woe: Vec<Vec<f64>> = kept
            .iter()
            .map(|f| x.column(f.column).iter().map(|&v| f.woe(v)).collect())
            .collect();
        let names = kept.iter().map(|f| f.name.clone()).collect();
        let model = regression.fit(&FeatureMatrix::new(names, woe)?, y)?;
        let wrong = (0..kept.len())
            .filter(|&k| model.coefficients[k] > 0.0)
            .min_by(|&a, &b| kept[a].iv.total_cmp(&kept[b].iv));
        match wrong {
            Some(k) if kept.len() > 1 => {
                let f = kept.remove(k);
                dropped.push(DroppedFeature {
                    name: f.name,
                    iv: f.iv,
                    reason: DropReason::WrongSign,
                });
            }
            _ => break model,
        }
    };
    for (f, c) in kept.iter_mut().zip(&model.coefficients) {
        f.coefficient = *c;
    }
    let mut card = Scorecard {
        inputs: x.names().to_vec(),
        features: kept,
        dropped,
        intercept: model.intercept,
        converged: model.converged,
        params: p.clone(),
    };
    card.assign_points();
    Ok(card)
}

#[cfg(test)]
mod rescale_tests {
    use super::*;

    #[test]
    fn rescaling_moves_points_not_probabilities() {
        let n = 2_000;
        let x0: Vec<f64> = (0..n).map(|i| (i % 100) as f64).collect();
        let y: Vec<bool> = (0..n).map(|i| (i % 100) > 60 || i % 7 == 0).collect();
        let x = FeatureMatrix::new(vec!["x0".into()], vec![x0]).unwrap();
        let mut sc = ScorecardParams::default().fit(&x, &y).unwrap();
        let p = sc.predict_proba(&x).unwrap();
        let s = sc.score(&x).unwrap();
        sc.rescale(700.0, 20.0, 40.0).unwrap();
        assert_eq!(sc.predict_proba(&x).unwrap(), p);
        let s2 = sc.score(&x).unwrap();
        // Twice the points per doubling: score differences double (up to rounding).
        let (d1, d2) = (s[0] - s[n - 1], s2[0] - s2[n - 1]);
        assert!((d2 - 2.0 * d1).abs() < 0.1, "{d1} {d2}");
        assert!(sc.rescale(700.0, 20.0, -1.0).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc;

    use crate::test_rng::lcg;

    const NAMES: [&str; 4] = ["rising", "falling", "grade", "noise"];

    /// `rising`: risk grows with the value; `falling`: risk falls with the value, 15 % missing
    /// and missing is risky; `grade`: codes 1–6, the last two rare (2 % each); `noise`: none.
    fn data(n: usize, seed: u64) -> (FeatureMatrix, Vec<bool>) {
        let mut s = seed;
        let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        let (share, effect) = (
            [0.4, 0.3, 0.2, 0.06, 0.02, 0.02],
            [-0.5, 0.0, 0.5, 1.0, 1.5, -1.0],
        );
        for _ in 0..n {
            let rising = lcg(&mut s);
            let falling = if lcg(&mut s) < 0.15 {
                f64::NAN
            } else {
                10.0 * lcg(&mut s)
            };
            let (mut u, mut grade) = (lcg(&mut s), 0);
            while grade < 5 && u >= share[grade] {
                u -= share[grade];
                grade += 1;
            }
            let logit = -1.5
                + 2.5 * rising
                + if falling.is_nan() {
                    1.0
                } else {
                    -0.25 * falling
                }
                + effect[grade];
            y.push(lcg(&mut s) < sigmoid(logit));
            for (c, v) in cols
                .iter_mut()
                .zip([rising, falling, grade as f64 + 1.0, lcg(&mut s)])
            {
                c.push(v);
            }
        }
        let names = NAMES.map(String::from).to_vec();
        (FeatureMatrix::new(names, cols).unwrap(), y)
    }

    fn params() -> ScorecardParams {
        ScorecardParams {
            categorical: vec!["grade".into()],
            ..Default::default()
        }
    }

    fn feature<'a>(card: &'a Scorecard, name: &str) -> &'a ScorecardFeature {
        card.features.iter().find(|f| f.name == name).unwrap()
    }

    fn value_rates(f: &ScorecardFeature) -> Vec<f64> {
        f.bins
            .iter()
            .filter(|b| matches!(b.rule, BinRule::Range { .. }))
            .map(|b| b.bad_rate)
            .collect()
    }

    #[test]
    fn monotone_binning_gives_monotone_bad_rates() {
        let (x, y) = data(20_000, 1);
        let card = params().fit(&x, &y).unwrap();
        let rising = value_rates(feature(&card, "rising"));
        assert!((3..=6).contains(&rising.len()), "{rising:?}");
        assert!(rising.windows(2).all(|w| w[0] < w[1]), "{rising:?}");
        let falling = value_rates(feature(&card, "falling"));
        assert!((3..=6).contains(&falling.len()), "{falling:?}");
        assert!(falling.windows(2).all(|w| w[0] > w[1]), "{falling:?}");
        // Every bin of values holds at least the minimum share of rows.
        for f in &card.features {
            for b in f
                .bins
                .iter()
                .filter(|b| matches!(b.rule, BinRule::Range { .. }))
            {
                assert!(b.count as f64 >= 0.05 * 20_000.0, "{b:?}");
            }
        }
        // Bins tile the line: each lower bound is the previous upper bound.
        let bins = &feature(&card, "rising").bins;
        assert_eq!(bins[0].label.split(',').next(), Some("(-inf"));
        assert!(bins.last().unwrap().label.ends_with(", inf)"));
        for w in bins.windows(2) {
            let (BinRule::Range { upper, .. }, BinRule::Range { lower, .. }) =
                (&w[0].rule, &w[1].rule)
            else {
                panic!("{w:?}")
            };
            assert_eq!(upper, lower);
        }
    }

    #[test]
    fn missing_values_get_their_own_bin_and_use_it() {
        let (x, y) = data(20_000, 2);
        let card = params().fit(&x, &y).unwrap();
        let falling = feature(&card, "falling");
        let missing = falling.bins.last().unwrap();
        assert_eq!(
            (missing.rule.clone(), missing.label.as_str()),
            (BinRule::Missing, "missing")
        );
        assert!(
            (missing.count as f64 / 20_000.0 - 0.15).abs() < 0.01,
            "{missing:?}"
        );
        assert_eq!(falling.bin(f64::NAN), Some(falling.bins.len() - 1));
        let k = card
            .features
            .iter()
            .position(|f| f.name == "falling")
            .unwrap();
        assert_eq!(card.points(k, f64::NAN), missing.points);
        let row = [0.5, f64::NAN, 1.0, 0.5];
        let reason = card.reasons(&|f| row[f], 10);
        let r = reason.iter().find(|r| r.feature == "falling").unwrap();
        assert!(
            r.value.is_nan() && r.text.starts_with("falling is missing and scores"),
            "{r:?}"
        );
        // `rising` had no missing value in training: missing there is neutral evidence (WoE 0).
        assert_eq!(feature(&card, "rising").bin(f64::NAN), None);
        let complete = [0.5, 5.0, 1.0, 0.5];
        let holed = [f64::NAN, 5.0, 1.0, 0.5];
        let rising = feature(&card, "rising");
        let gap = card.decision(&|f| complete[f]) - card.decision(&|f| holed[f]);
        assert!((gap - rising.coefficient * rising.woe(0.5)).abs() < 1e-12);
    }

    #[test]
    fn categories_get_bins_and_small_ones_are_pooled() {
        let (x, y) = data(20_000, 3);
        let card = params().fit(&x, &y).unwrap();
        let grade = feature(&card, "grade");
        assert_eq!(grade.kind, BinningKind::Categorical);
        let labels: Vec<&str> = grade.bins.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["= 1", "= 2", "= 3", "= 4", "other"]);
        assert_eq!(
            grade.bins[4].rule,
            BinRule::Other {
                values: vec![5.0, 6.0]
            }
        );
        assert_eq!(grade.bin(6.0), Some(4));
        // An unseen code is neutral evidence.
        assert_eq!((grade.bin(9.0), grade.woe(9.0)), (None, 0.0));
    }

    #[test]
    fn riskier_bins_have_lower_woe_and_fewer_points() {
        let (x, y) = data(20_000, 4);
        let card = params().fit(&x, &y).unwrap();
        for f in &card.features {
            assert!(f.coefficient < 0.0, "{f:?}");
            let mut bins: Vec<&ScoreBin> = f.bins.iter().collect();
            bins.sort_by(|a, b| a.bad_rate.total_cmp(&b.bad_rate));
            for w in bins.windows(2) {
                assert!(w[0].woe > w[1].woe, "{}: {w:?}", f.name);
                assert!(w[0].points >= w[1].points, "{}: {w:?}", f.name);
            }
        }
        let bins: usize = card.features.iter().map(|f| f.bins.len()).sum();
        assert_eq!(card.points_table().len(), bins);
        // The noise has no information and is left out.
        assert_eq!(card.dropped.len(), 1);
        assert_eq!(
            (card.dropped[0].name.as_str(), card.dropped[0].reason),
            ("noise", DropReason::LowInformation)
        );
        assert!(card.dropped[0].iv < MIN_IV && feature(&card, "rising").iv > 0.1);
    }

    #[test]
    fn a_feature_reversing_its_evidence_is_dropped() {
        // `sum` = `a` + `c` looks risky on its own (through `a`), but given `a` a higher `sum`
        // means a higher `c`, which is safe: its coefficient on WoE comes out positive.
        let mut s = 11;
        let (mut cols, mut y) = (vec![Vec::new(); 2], Vec::new());
        for _ in 0..20_000 {
            let (a, c) = (lcg(&mut s), lcg(&mut s));
            y.push(lcg(&mut s) < sigmoid(-1.0 + 3.0 * a - 2.0 * c));
            cols[0].push(a);
            cols[1].push(a + c);
        }
        let x = FeatureMatrix::new(vec!["a".into(), "sum".into()], cols).unwrap();
        let card = ScorecardParams::default().fit(&x, &y).unwrap();
        assert_eq!(card.features.len(), 1);
        assert_eq!(card.features[0].name, "a");
        assert_eq!(
            (card.dropped[0].name.as_str(), card.dropped[0].reason),
            ("sum", DropReason::WrongSign)
        );
    }

    #[test]
    fn scores_follow_the_points_scaling() {
        let (x, y) = data(5_000, 5);
        let card = params().fit(&x, &y).unwrap();
        let (p, s) = (card.predict_proba(&x).unwrap(), card.score(&x).unwrap());
        // Score = offset + factor · ln(good:bad odds), up to the rounding of each feature's points.
        let rounding = 0.005 * card.features.len() as f64 + 1e-9;
        for (p, s) in p.iter().zip(&s).take(200) {
            let exact = card.offset() + card.factor() * ((1.0 - p) / p).ln();
            assert!((s - exact).abs() <= rounding, "{s} vs {exact}");
        }
        // At the base odds the score is the base score.
        let factor = 20.0 / 2f64.ln();
        assert!((card.offset() + factor * 50f64.ln() - 600.0).abs() < 1e-9);
        // Higher score, lower risk.
        assert!(auc(&y, &s) < 0.3 && auc(&y, &p) > 0.7);
    }

    #[test]
    fn ranks_about_as_well_as_logistic_on_the_generating_features() {
        let linear = |n, seed| {
            let mut s = seed;
            let mut cols: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let v = [lcg(&mut s), lcg(&mut s), lcg(&mut s)];
                let logit = -1.5 + 2.0 * v[0] - 1.5 * v[1] + v[2];
                y.push(lcg(&mut s) < sigmoid(logit));
                for (c, v) in cols.iter_mut().zip(v) {
                    c.push(v);
                }
            }
            let names = ["a", "b", "c"].map(String::from).to_vec();
            (FeatureMatrix::new(names, cols).unwrap(), y)
        };
        let (x, y) = linear(20_000, 6);
        let (xt, yt) = linear(20_000, 7);
        let card = ScorecardParams::default().fit(&x, &y).unwrap();
        let lr = LogisticParams::default().fit(&x, &y).unwrap();
        let (a_card, a_lr) = (
            auc(&yt, &card.predict_proba(&xt).unwrap()),
            auc(&yt, &lr.predict_proba(&xt).unwrap()),
        );
        assert!(
            a_card > a_lr - 0.01 && a_card < a_lr + 0.005,
            "{a_card} vs {a_lr}"
        );
    }

    #[test]
    fn reasons_are_sorted_stable_and_absent_for_the_best_account() {
        let (x, y) = data(20_000, 8);
        let card = params().fit(&x, &y).unwrap();
        for i in 0..500 {
            let row = |f: usize| x.column(f)[i];
            let reasons = card.reasons(&row, 10);
            let codes = |rs: &[Reason]| -> Vec<(String, f64)> {
                rs.iter().map(|r| (r.code.clone(), r.points_lost)).collect()
            };
            assert_eq!(codes(&reasons), codes(&card.reasons(&row, 10)));
            assert!(card.reasons(&row, 1).len() <= 1);
            for r in &reasons {
                let k = card
                    .features
                    .iter()
                    .position(|f| f.name == r.feature)
                    .unwrap();
                assert_eq!(r.code, format!("R{k:02}-{}", r.feature));
                assert!(r.points_lost > 0.0);
            }
            for w in reasons.windows(2) {
                assert!(
                    w[0].points_lost > w[1].points_lost
                        || (w[0].points_lost == w[1].points_lost && w[0].code < w[1].code),
                    "{w:?}"
                );
            }
        }
        let mut best = [f64::NAN; 4];
        for f in &card.features {
            let b = f
                .bins
                .iter()
                .max_by(|a, b| a.points.total_cmp(&b.points))
                .unwrap();
            best[f.column] = match &b.rule {
                BinRule::Range { upper: Some(u), .. } => *u,
                BinRule::Range { lower: Some(l), .. } => l + 1.0,
                BinRule::Range { .. } | BinRule::Missing => f64::NAN,
                BinRule::Category { value } => *value,
                BinRule::Other { values } => values[0],
            };
        }
        assert!(card.reasons(&|f| best[f], 10).is_empty());
        let worst = [1.0, f64::NAN, 5.0, 0.5];
        let reasons = card.reasons(&|f| worst[f], 2);
        assert_eq!(reasons.len(), 2);
        assert!(
            reasons[0].text.contains("points below its best bin ("),
            "{reasons:?}"
        );
    }

    #[test]
    fn params_are_checked() {
        let (x, y) = data(1_000, 9);
        let invalid = |p: ScorecardParams| match p.fit(&x, &y) {
            Err(ModelError::InvalidParam { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        let d = ScorecardParams::default;
        assert_eq!(invalid(ScorecardParams { max_bins: 1, ..d() }), "max_bins");
        assert_eq!(
            invalid(ScorecardParams {
                max_bins: 21,
                ..d()
            }),
            "max_bins"
        );
        let share = ScorecardParams {
            min_bin_share: 0.5,
            ..d()
        };
        assert_eq!(invalid(share), "min_bin_share");
        let odds = ScorecardParams {
            base_odds: 0.0,
            ..d()
        };
        assert_eq!(invalid(odds), "base_odds");
        assert_eq!(invalid(ScorecardParams { pdo: -20.0, ..d() }), "pdo");
        assert_eq!(
            invalid(ScorecardParams {
                l2: f64::NAN,
                ..d()
            }),
            "l2"
        );
        let base = ScorecardParams {
            base_score: f64::INFINITY,
            ..d()
        };
        assert_eq!(invalid(base), "base_score");
        let unknown = ScorecardParams {
            categorical: vec!["colour".into()],
            ..d()
        };
        assert_eq!(invalid(unknown), "categorical");
        assert!(d().check().is_ok());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (x, y) = data(1_000, 10);
        assert!(matches!(
            params().fit(&x, &y[..10]),
            Err(ModelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            params().fit(&x, &[true; 1_000]),
            Err(ModelError::OneClass { .. })
        ));
        let card = params().fit(&x, &y).unwrap();
        let narrow = x.take(&[0, 1]);
        let narrow = FeatureMatrix::new(
            narrow.names()[..3].to_vec(),
            (0..3).map(|f| narrow.column(f).to_vec()).collect(),
        )
        .unwrap();
        assert!(matches!(
            card.score(&narrow),
            Err(ModelError::FeatureCount { .. })
        ));
    }

    #[test]
    fn models_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Scorecard>();
        check::<ScorecardParams>();
        check::<Reason>();
    }
}
