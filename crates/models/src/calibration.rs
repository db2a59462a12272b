//! Probability calibration: Platt scaling of a model's log-odds on rows it was not fitted on.
//!
//! `p' = σ(a · logit(p) + b)`, with `a` and `b` fitted by Newton's method on a held-out
//! calibration set, using Platt's smoothed targets (`(n₊ + 1)/(n₊ + 2)` and `1/(n₋ + 2)`) so a
//! small set cannot push probabilities to 0 or 1. Monotone, so ranking (AUC, KS) is unchanged;
//! what changes is whether "a 10 % risk" means 10 % — which is what eligibility's expected bad
//! rates rely on.

use serde::{Deserialize, Serialize};

/// A fitted Platt calibrator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope on the model's log-odds.
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

impl Platt {
    /// The calibrator that changes nothing.
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// Fits the calibrator to a model's probabilities `p` and the true labels `y` of rows the
    /// model did not see.
    pub fn fit(p: &[f64], y: &[bool]) -> Platt {
        let pos = y.iter().filter(|v| **v).count() as f64;
        let neg = y.len() as f64 - pos;
        if pos == 0.0 || neg == 0.0 {
            return Platt::IDENTITY;
        }
        let (t_pos, t_neg) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
        let z: Vec<f64> = p.iter().map(|v| logit(*v)).collect();
        let loss = |a: f64, b: f64| -> f64 {
            z.iter()
                .zip(y)
                .map(|(zi, yi)| {
                    let t = if *yi { t_pos } else { t_neg };
                    let f = a * zi + b;
                    // log(1 + e^f) − t·f, computed without overflow.
                    (if f > 0.0 {
                        f + (-f).exp().ln_1p()
                    } else {
                        f.exp().ln_1p()
                    }) - t * f
                })
                .sum()
        };
        let (mut a, mut b) = (1.0, 0.0);
        let mut current = loss(a, b);
        for _ in 0..100 {
            // Gradient and Hessian of the log-loss in (a, b).
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (zi, yi) in z.iter().zip(y) {
                let q = 1.0 / (1.0 + (-(a * zi + b)).exp());
                let t = if *yi { t_pos } else { t_neg };
                let w = q * (1.0 - q);
                ga += (q - t) * zi;
                gb += q - t;
                haa += w * zi * zi;
                hab += w * zi;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            // Newton's step, halved until the loss goes down (the loss is convex).
            let mut step = 1.0;
            let mut improved = false;
            while step > 1e-8 {
                let next = loss(a - step * da, b - step * db);
                if next <= current {
                    a -= step * da;
                    b -= step * db;
                    improved = current - next > 1e-12 * current.abs().max(1.0);
                    current = next;
                    break;
                }
                step /= 2.0;
            }
            if !improved {
                break;
            }
        }
        if a.is_finite() && b.is_finite() {
            Platt { a, b }
        } else {
            Platt::IDENTITY
        }
    }

    /// The calibrated probability.
    pub fn apply(&self, p: f64) -> f64 {
        1.0 / (1.0 + (-(self.a * logit(p) + self.b)).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_overconfident_probabilities_and_keeps_the_order() {
        // True probability q, model reports the over-confident σ(3·logit(q)).
        let mut s = 3u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let q = 0.05 + 0.9 * u();
            p.push(1.0 / (1.0 + (-3.0 * logit(q)).exp()));
            y.push(u() < q);
        }
        let c = Platt::fit(&p, &y);
        assert!((c.a - 1.0 / 3.0).abs() < 0.03 && c.b.abs() < 0.05, "{c:?}");
        let brier = |f: &dyn Fn(f64) -> f64| {
            p.iter()
                .zip(&y)
                .map(|(v, t)| (f(*v) - f64::from(u8::from(*t))).powi(2))
                .sum::<f64>()
        };
        assert!(brier(&|v| c.apply(v)) < brier(&|v| v));
        assert!(c.apply(0.2) < c.apply(0.3), "monotone");
        assert_eq!(Platt::fit(&[0.5, 0.6], &[true, true]), Platt::IDENTITY);
    }
}
