//! Off-policy evaluation: what a new policy would have earned on logged history, estimated from
//! the rewards of the actions that were actually taken.
//!
//! Each logged decision carries the reward observed, the probability with which the logging
//! policy took its action (the propensity), the probability with which the evaluated policy
//! would have taken that same action, and — for the doubly-robust estimator — a model's estimate
//! of the reward of the logged action and of the evaluated policy's expected reward. Three
//! estimators, each with a seeded percentile-bootstrap 95 % interval:
//!
//! - **IPS**: the mean of `w·r` with `w = π(a|x) / μ(a|x)` — unbiased, high variance;
//! - **SNIPS**: `Σ w·r / Σ w` — self-normalised, slightly biased, far less variance;
//! - **DR**: `mean(q̂(x, π) + w·(r − q̂(x, a)))` — unbiased if either the propensities or the
//!   reward model are right;
//! - and, for reference, the **direct method** `mean(q̂(x, π))`: the reward model alone.
//!
//! The effective sample size `(Σw)² / Σw²` says how many logged decisions the estimate really
//! rests on; below [`OpeConfig::min_ess`] a warning is attached.

use forbear_core::Rng;
use serde::{Deserialize, Serialize};

/// One logged decision, as an estimator needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logged {
    /// The reward observed (net of cost, in whatever unit the caller chose).
    pub reward: f64,
    /// Probability with which the logging policy took the logged action, in (0, 1].
    pub propensity: f64,
    /// Probability with which the evaluated policy takes the logged action, in [0, 1].
    pub target: f64,
    /// Model estimate of the reward of the logged action (0 without a model).
    pub q_logged: f64,
    /// Model estimate of the evaluated policy's expected reward at this decision (0 without a
    /// model).
    pub q_target: f64,
}

/// A point estimate with its bootstrap 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate on all rows.
    pub value: f64,
    /// 2.5th percentile of the bootstrap replicates.
    pub ci_low: f64,
    /// 97.5th percentile of the bootstrap replicates.
    pub ci_high: f64,
}

impl Estimate {
    /// Whether `x` lies in the interval.
    pub fn covers(&self, x: f64) -> bool {
        self.ci_low <= x && x <= self.ci_high
    }
}

/// How estimates are computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpeConfig {
    /// Bootstrap replicates.
    pub replicates: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Importance weights are clipped at this value (`f64::INFINITY`: no clipping).
    pub clip: f64,
    /// Below this effective sample size the report carries a warning.
    pub min_ess: f64,
}

impl Default for OpeConfig {
    fn default() -> Self {
        OpeConfig {
            replicates: 1000,
            seed: 42,
            clip: f64::INFINITY,
            min_ess: 1000.0,
        }
    }
}

/// The estimates of one evaluated policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeReport {
    /// Logged decisions used.
    pub n: usize,
    /// The logging policy's observed mean reward.
    pub logged: Estimate,
    /// Inverse propensity scoring.
    pub ips: Estimate,
    /// Self-normalised IPS.
    pub snips: Estimate,
    /// Doubly robust.
    pub dr: Estimate,
    /// The reward model alone (direct method): biased as the model is, but never short of data.
    pub direct: Estimate,
    /// Effective sample size of the importance weights.
    pub effective_sample_size: f64,
    /// Rows whose weight was clipped.
    pub clipped: usize,
    /// Why the estimates should be read with care, if they should.
    pub warnings: Vec<String>,
}

/// Why an evaluation cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpeError {
    /// No logged decisions.
    #[error("no logged decisions to evaluate")]
    Empty,
    /// A propensity outside (0, 1] or a target probability outside [0, 1].
    #[error("row {row}: {what} = {value} is outside {range}")]
    BadProbability {
        row: usize,
        what: &'static str,
        value: f64,
        range: &'static str,
    },
    /// A reward or model estimate that is not a finite number.
    #[error("row {row}: {what} = {value} is not a finite number")]
    NotFinite {
        row: usize,
        what: &'static str,
        value: f64,
    },
}

fn check(rows: &[Logged]) -> Result<(), OpeError> {
    if rows.is_empty() {
        return Err(OpeError::Empty);
    }
    for (row, l) in rows.iter().enumerate() {
        if !(l.propensity > 0.0 && l.propensity <= 1.0) {
            return Err(OpeError::BadProbability {
                row,
                what: "propensity",
                value: l.propensity,
                range: "(0, 1]",
            });
        }
        if !(0.0..=1.0).contains(&l.target) {
            return Err(OpeError::BadProbability {
                row,
                what: "target probability",
                value: l.target,
                range: "[0, 1]",
            });
        }
        for (what, value) in [
            ("reward", l.reward),
            ("q_logged", l.q_logged),
            ("q_target", l.q_target),
        ] {
            if !value.is_finite() {
                return Err(OpeError::NotFinite { row, what, value });
            }
        }
    }
    Ok(())
}

/// Sums a resample needs, accumulated with each row's multiplicity.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: f64,
    r: f64,
    wr: f64,
    w: f64,
    dr: f64,
    dm: f64,
}

impl Sums {
    fn add(&mut self, k: f64, l: &Logged, w: f64) {
        self.n += k;
        self.r += k * l.reward;
        self.wr += k * w * l.reward;
        self.w += k * w;
        self.dr += k * (l.q_target + w * (l.reward - l.q_logged));
        self.dm += k * l.q_target;
    }

    fn values(&self) -> [f64; 5] {
        let snips = if self.w > 0.0 { self.wr / self.w } else { 0.0 };
        [
            self.r / self.n,
            self.wr / self.n,
            snips,
            self.dr / self.n,
            self.dm / self.n,
        ]
    }
}

/// Multiplicities of a bootstrap resample of `n` rows (a multinomial draw).
pub fn resample_counts(n: usize, rng: &mut Rng, counts: &mut Vec<u32>) {
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n {
        counts[rng.below(n as u64) as usize] += 1;
    }
}

/// The 2.5th and 97.5th percentiles of `xs` (sorted in place).
pub fn percentile_interval(xs: &mut [f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    xs.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (xs.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        xs[lo] + (xs[hi] - xs[lo]) * (pos - lo as f64)
    };
    (at(0.025), at(0.975))
}

/// A statistic of rows with multiplicities, its value on the data and its percentile-bootstrap
/// interval: `stat` receives one multiplicity per row (all ones for the point estimate).
pub fn bootstrap(
    n: usize,
    replicates: usize,
    seed: u64,
    mut stat: impl FnMut(&[u32]) -> f64,
) -> Estimate {
    let value = stat(&vec![1; n]);
    let mut rng = Rng::new(seed, 0xB007);
    let mut counts = Vec::new();
    let mut reps: Vec<f64> = (0..replicates)
        .map(|_| {
            resample_counts(n, &mut rng, &mut counts);
            stat(&counts)
        })
        .collect();
    let (ci_low, ci_high) = percentile_interval(&mut reps);
    Estimate {
        value,
        ci_low,
        ci_high,
    }
}

/// Evaluates a policy on logged decisions with IPS, SNIPS and DR.
pub fn evaluate(rows: &[Logged], cfg: &OpeConfig) -> Result<OpeReport, OpeError> {
    check(rows)?;
    let weights: Vec<f64> = rows
        .iter()
        .map(|l| (l.target / l.propensity).min(cfg.clip))
        .collect();
    let clipped = rows
        .iter()
        .filter(|l| l.target / l.propensity > cfg.clip)
        .count();
    let sums = |counts: &[u32]| {
        let mut s = Sums::default();
        for ((l, &w), &k) in rows.iter().zip(&weights).zip(counts) {
            if k > 0 {
                s.add(f64::from(k), l, w);
            }
        }
        s.values()
    };
    let point = sums(&vec![1; rows.len()]);
    let mut rng = Rng::new(cfg.seed, 0x0FE);
    let mut counts = Vec::new();
    let mut reps: [Vec<f64>; 5] = Default::default();
    for _ in 0..cfg.replicates {
        resample_counts(rows.len(), &mut rng, &mut counts);
        for (r, v) in reps.iter_mut().zip(sums(&counts)) {
            r.push(v);
        }
    }
    let est = |i: usize, reps: &mut Vec<f64>| {
        let (ci_low, ci_high) = percentile_interval(reps);
        Estimate {
            value: point[i],
            ci_low,
            ci_high,
        }
    };
    let [mut r0, mut r1, mut r2, mut r3, mut r4] = reps;
    let (sw, sw2) = weights
        .iter()
        .fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    let ess = if sw2 > 0.0 { sw * sw / sw2 } else { 0.0 };
    let mut warnings = Vec::new();
    if ess < cfg.min_ess {
        warnings.push(format!(
            "effective sample size {ess:.0} is below {:.0}: the evaluated policy rarely agrees \
             with the logged actions, so the estimates rest on few decisions",
            cfg.min_ess
        ));
    }
    if clipped > 0 {
        warnings.push(format!(
            "{clipped} importance weights were clipped at {}: IPS and DR are biased towards the \
             logging policy by that much",
            cfg.clip
        ));
    }
    Ok(OpeReport {
        n: rows.len(),
        logged: est(0, &mut r0),
        ips: est(1, &mut r1),
        snips: est(2, &mut r2),
        dr: est(3, &mut r3),
        direct: est(4, &mut r4),
        effective_sample_size: ess,
        clipped,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-action bandit: action 1 pays 1 with probability 0.6, action 0 with 0.3; logging
    /// picks action 1 with probability 0.2.
    fn logged(n: usize, seed: u64, model_bias: f64) -> (Vec<Logged>, f64) {
        let mut rng = Rng::new(seed, 1);
        let p_pay = [0.3, 0.6];
        let mu1 = 0.2;
        let rows = (0..n)
            .map(|_| {
                let a = usize::from(rng.chance(mu1));
                let r = f64::from(u8::from(rng.chance(p_pay[a])));
                let propensity = if a == 1 { mu1 } else { 1.0 - mu1 };
                // The evaluated policy always takes action 1.
                let target = if a == 1 { 1.0 } else { 0.0 };
                Logged {
                    reward: r,
                    propensity,
                    target,
                    q_logged: p_pay[a] + model_bias,
                    q_target: p_pay[1] + model_bias,
                }
            })
            .collect();
        (rows, p_pay[1])
    }

    #[test]
    fn estimators_cover_the_true_value_of_the_target_policy() {
        let cfg = OpeConfig {
            replicates: 300,
            ..OpeConfig::default()
        };
        let mut covered = [0; 3];
        for seed in 0..10 {
            let (rows, truth) = logged(5_000, seed, 0.0);
            let r = evaluate(&rows, &cfg).unwrap();
            covered[0] += usize::from(r.ips.covers(truth));
            covered[1] += usize::from(r.snips.covers(truth));
            covered[2] += usize::from(r.dr.covers(truth));
            // The logging policy earns 0.8·0.3 + 0.2·0.6 = 0.36.
            assert!((r.logged.value - 0.36).abs() < 0.03, "{:?}", r.logged);
        }
        assert!(covered.iter().all(|c| *c >= 8), "{covered:?}");
    }

    #[test]
    fn doubly_robust_survives_a_biased_reward_model() {
        let (rows, truth) = logged(20_000, 7, 0.2);
        let r = evaluate(&rows, &OpeConfig::default()).unwrap();
        // The model alone says 0.8; DR corrects it with the weighted residuals.
        assert!((r.dr.value - truth).abs() < 0.03, "{:?}", r.dr);
    }

    #[test]
    fn effective_sample_size_and_clipping_are_reported() {
        let (rows, _) = logged(2_000, 3, 0.0);
        let cfg = OpeConfig {
            clip: 2.0,
            replicates: 50,
            ..OpeConfig::default()
        };
        let r = evaluate(&rows, &cfg).unwrap();
        // About 400 rows carry weight 5 (clipped to 2): ESS = (Σw)²/Σw² = 400.
        assert!((300.0..500.0).contains(&r.effective_sample_size), "{r:?}");
        assert!(r.clipped > 300);
        assert_eq!(r.warnings.len(), 2);
    }

    #[test]
    fn bad_rows_are_named() {
        let mut rows = logged(10, 1, 0.0).0;
        rows[4].propensity = 0.0;
        assert_eq!(
            evaluate(&rows, &OpeConfig::default())
                .unwrap_err()
                .to_string(),
            "row 4: propensity = 0 is outside (0, 1]"
        );
        rows[4].propensity = 0.5;
        rows[2].reward = f64::NAN;
        assert!(
            evaluate(&rows, &OpeConfig::default())
                .unwrap_err()
                .to_string()
                .starts_with("row 2: reward")
        );
        assert_eq!(
            evaluate(&[], &OpeConfig::default()).unwrap_err(),
            OpeError::Empty
        );
    }

    #[test]
    fn bootstrap_of_a_mean_brackets_it() {
        let xs: Vec<f64> = (0..1000).map(|i| f64::from(i % 10)).collect();
        let e = bootstrap(xs.len(), 200, 1, |k| {
            let (s, n) = xs.iter().zip(k).fold((0.0, 0.0), |(s, n), (x, k)| {
                (s + x * f64::from(*k), n + f64::from(*k))
            });
            s / n
        });
        assert!((e.value - 4.5).abs() < 1e-12);
        assert!(e.ci_low < 4.5 && 4.5 < e.ci_high && e.ci_high - e.ci_low < 0.5);
    }
}
