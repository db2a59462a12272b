//! What is measured on held-out data, the same for every model.

use forbear_models::metrics;
use serde::Serialize;

/// The headline metrics of a model on held-out rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Area under the ROC curve.
    pub auc: f64,
    /// `2·AUC − 1`.
    pub gini: f64,
    /// Kolmogorov–Smirnov statistic.
    pub ks: f64,
    /// Mean squared error of the probability.
    pub brier: f64,
    /// Mean negative log-likelihood.
    pub log_loss: f64,
}

impl Metrics {
    /// Measures probabilities `p` against labels `y`.
    pub fn of(y: &[bool], p: &[f64]) -> Metrics {
        Metrics {
            auc: metrics::auc(y, p),
            gini: metrics::gini(y, p),
            ks: metrics::ks(y, p),
            brier: metrics::brier(y, p),
            log_loss: metrics::log_loss(y, p),
        }
    }
}

/// One tenth of the rows, by predicted probability (decile 1 = riskiest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decile {
    /// 1 to 10.
    pub decile: usize,
    /// Rows in it.
    pub count: usize,
    /// Lowest and highest predicted probability in it.
    pub p_min: f64,
    /// Highest predicted probability.
    pub p_max: f64,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed share of positives.
    pub observed_rate: f64,
    /// Share of all positives captured from decile 1 to this one (gains).
    pub cumulative_capture: f64,
    /// Observed rate over the overall rate (lift).
    pub lift: f64,
}

/// The calibration and gains table: rows sorted by risk, cut into ten equal groups.
pub fn deciles(y: &[bool], p: &[f64]) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let positives = y.iter().filter(|v| **v).count().max(1) as f64;
    let overall = positives / p.len().max(1) as f64;
    let mut out = Vec::with_capacity(10);
    let mut captured = 0.0;
    for d in 0..10 {
        let (s, e) = (d * p.len() / 10, (d + 1) * p.len() / 10);
        let rows = &order[s..e];
        if rows.is_empty() {
            continue;
        }
        let pos = rows.iter().filter(|&&i| y[i]).count() as f64;
        captured += pos;
        let n = rows.len() as f64;
        let observed = pos / n;
        out.push(Decile {
            decile: d + 1,
            count: rows.len(),
            p_min: rows.iter().map(|&i| p[i]).fold(f64::INFINITY, f64::min),
            p_max: rows.iter().map(|&i| p[i]).fold(f64::NEG_INFINITY, f64::max),
            mean_predicted: rows.iter().map(|&i| p[i]).sum::<f64>() / n,
            observed_rate: observed,
            cumulative_capture: captured / positives,
            lift: observed / overall,
        });
    }
    out
}

/// How predicted probabilities are spread: counts in ten equal-width bins of [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Lower edge of each bin (0.0, 0.1, … 0.9).
    pub lower: Vec<f64>,
    /// Rows in each bin.
    pub counts: Vec<usize>,
}

/// The score distribution of probabilities `p`.
pub fn distribution(p: &[f64]) -> Distribution {
    let mut counts = vec![0; 10];
    for &v in p {
        counts[((v * 10.0).floor().max(0.0) as usize).min(9)] += 1;
    }
    Distribution {
        lower: (0..10).map(|k| f64::from(k) / 10.0).collect(),
        counts,
    }
}

/// The reference for population stability: the training scores cut into ten equal-count bins.
/// Monitoring later compares the share of new scores in each bin with `share` (PSI).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StabilityBaseline {
    /// Upper edges of the first nine bins (the last is open).
    pub cuts: Vec<f64>,
    /// Share of the training rows in each bin.
    pub share: Vec<f64>,
}

/// The stability baseline of training scores `p`.
pub fn stability_baseline(p: &[f64]) -> StabilityBaseline {
    let mut sorted = p.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len().max(1);
    let cuts: Vec<f64> = (1..10).map(|k| sorted[(k * n / 10).min(n - 1)]).collect();
    let mut counts = [0usize; 10];
    for &v in p {
        counts[cuts.partition_point(|c| *c < v)] += 1;
    }
    StabilityBaseline {
        cuts,
        share: counts.iter().map(|&c| c as f64 / n as f64).collect(),
    }
}

/// Population stability index of scores `p` against a baseline (0.1–0.25: watch; > 0.25: act).
pub fn psi(baseline: &StabilityBaseline, p: &[f64]) -> f64 {
    let mut counts = [0usize; 10];
    for &v in p {
        counts[baseline.cuts.partition_point(|c| *c < v)] += 1;
    }
    let n = p.len().max(1) as f64;
    baseline
        .share
        .iter()
        .zip(counts)
        .map(|(&e, c)| {
            let (e, a) = (e.max(1e-4), (c as f64 / n).max(1e-4));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Points of the ROC curve (false positive rate, true positive rate), at most about `max` of them.
pub fn roc_points(y: &[bool], p: &[f64], max: usize) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let pos = y.iter().filter(|v| **v).count().max(1) as f64;
    let neg = (y.len() as f64 - pos).max(1.0);
    let step = (order.len() / max.max(1)).max(1);
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut out = vec![(0.0, 0.0)];
    for (k, &i) in order.iter().enumerate() {
        if y[i] {
            tp += 1.0
        } else {
            fp += 1.0
        }
        if (k + 1) % step == 0 {
            out.push((fp / neg, tp / pos));
        }
    }
    out.push((1.0, 1.0));
    out
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_capture_everything_and_rank_by_risk() {
        let p: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let y: Vec<bool> = (0..1000).map(|i| i % 10 == 0 || i > 900).collect();
        let d = deciles(&y, &p);
        assert_eq!(d.len(), 10);
        assert!((d[9].cumulative_capture - 1.0).abs() < 1e-12);
        assert!(d[0].observed_rate > d[5].observed_rate);
        assert!(d[0].mean_predicted > d[9].mean_predicted);
        assert_eq!(mean_sd(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
        let dist = distribution(&p);
        assert_eq!(dist.counts, vec![100; 10]);
        let base = stability_baseline(&p);
        assert!(
            base.share.iter().all(|s| (s - 0.1).abs() < 0.01),
            "{:?}",
            base.share
        );
        assert!(psi(&base, &p) < 1e-3);
        let shifted: Vec<f64> = p.iter().map(|v| (v * 0.5).min(1.0)).collect();
        assert!(
            psi(&base, &shifted) > 0.25,
            "a halved score distribution is unstable"
        );
    }
}
