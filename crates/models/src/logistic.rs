//! L2-regularised logistic regression on dense features, fitted with L-BFGS.
//!
//! The objective is scikit-learn's with `C = 1 / l2`: the *sum* of the log-losses plus
//! `0.5 · l2 · ‖w‖²`, the intercept unpenalised. Columns are always centred inside the optimiser
//! (that changes nothing about the solution, since the intercept is free, but conditions the
//! problem far better) and, when `standardize` is on, also scaled to unit variance, in which case
//! the penalty applies to the standardised coefficients, as in a scikit-learn pipeline of
//! `StandardScaler` and `LogisticRegression`. Coefficients are always reported on the original
//! scale.
//!
//! The matrix is never copied: the optimiser walks the columns in blocks of rows that stay in
//! cache, computing the margins of a block column by column and then its share of the gradient,
//! so each evaluation of loss and gradient reads the data once. That is what lets a million rows
//! of thirty features fit in well under a second on one core.

use crate::{FeatureMatrix, ModelError};
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`LogisticModel`] fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticParams {
    /// Weight of the penalty `0.5 · l2 · ‖w‖²` added to the summed log-loss (scikit-learn's
    /// `1 / C`); 0 fits without penalty. Default 1.0.
    pub l2: f64,
    /// Most L-BFGS iterations. Default 200.
    pub max_iter: usize,
    /// Stop when the largest component of the gradient of the *mean* loss is at most this.
    /// Default 1e-6.
    pub tol: f64,
    /// Fit on standardised columns (the penalty then treats every feature alike); coefficients
    /// are reported on the original scale either way. Default true.
    pub standardize: bool,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            l2: 1.0,
            max_iter: 200,
            tol: 1e-6,
            standardize: true,
        }
    }
}

impl LogisticParams {
    /// Checks every parameter's range.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |name, value: String, expected| {
            Err(ModelError::InvalidParam {
                name,
                value,
                expected,
            })
        };
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", self.l2.to_string(), "finite and ≥ 0");
        }
        if self.max_iter == 0 {
            return bad("max_iter", self.max_iter.to_string(), "at least 1");
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return bad("tol", self.tol.to_string(), "finite and > 0");
        }
        Ok(())
    }

    /// Fits a model to `x` (no missing or infinite values) and binary labels `y`.
    pub fn fit(&self, x: &FeatureMatrix, y: &[bool]) -> Result<LogisticModel, ModelError> {
        self.check()?;
        fit(self, x, y)
    }
}

/// A fitted logistic regression: `P(y) = sigmoid(intercept + Σ coefficients · x)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Feature names, in order.
    pub features: Vec<String>,
    /// Log-odds when every feature is 0 (original scale).
    pub intercept: f64,
    /// One coefficient per feature, on the original scale.
    pub coefficients: Vec<f64>,
    /// L-BFGS iterations used.
    pub iterations: usize,
    /// Whether the stopping rule was met before `max_iter`.
    pub converged: bool,
}

impl LogisticModel {
    /// Log-odds of one row given as a feature lookup.
    pub fn decision(&self, row: &dyn Fn(usize) -> f64) -> f64 {
        self.intercept
            + self
                .coefficients
                .iter()
                .enumerate()
                .map(|(f, c)| c * row(f))
                .sum::<f64>()
    }

    /// Probability of the positive class for every row of `x`; missing values are an error.
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        if x.features() != self.features.len() {
            return Err(ModelError::FeatureCount {
                expected: self.features.len(),
                found: x.features(),
            });
        }
        check_finite(x)?;
        let mut z = vec![self.intercept; x.rows()];
        for (f, &c) in self.coefficients.iter().enumerate() {
            for (zi, &v) in z.iter_mut().zip(x.column(f)) {
                *zi += c * v;
            }
        }
        Ok(z.into_iter().map(sigmoid).collect())
    }
}

/// `1 / (1 + e^-z)`.
pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn check_finite(x: &FeatureMatrix) -> Result<(), ModelError> {
    for f in 0..x.features() {
        if let Some(row) = x.column(f).iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                feature: x.names()[f].clone(),
                row,
                value: x.column(f)[row],
            });
        }
    }
    Ok(())
}

fn fit(p: &LogisticParams, x: &FeatureMatrix, y: &[bool]) -> Result<LogisticModel, ModelError> {
    let n = x.rows();
    let positives = x.check_training(y)?;
    let problem = Problem::new(x, y, p)?;
    let rate = positives as f64 / n as f64;
    // θ = (intercept, w on the centred and scaled columns); start at the base rate.
    let mut theta = vec![0.0; x.features() + 1];
    theta[0] = (rate / (1.0 - rate)).ln();
    let outcome = lbfgs(&problem, &mut theta, p.max_iter, p.tol * n as f64);
    let coefficients: Vec<f64> = (0..x.features())
        .map(|f| theta[f + 1] / problem.scale[f])
        .collect();
    let intercept = theta[0]
        - coefficients
            .iter()
            .zip(&problem.mean)
            .map(|(c, m)| c * m)
            .sum::<f64>();
    Ok(LogisticModel {
        features: x.names().to_vec(),
        intercept,
        coefficients,
        iterations: outcome.iterations,
        converged: outcome.converged,
    })
}

/// Rows per block: 30 columns of a block (480 KiB) stay in L2 between the margin pass and the
/// gradient pass.
const BLOCK: usize = 2048;

/// The penalised log-loss of one data set, as a function of θ.
struct Problem<'a> {
    columns: Vec<&'a [f64]>,
    y: Vec<f64>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// The largest variance of a column as the optimiser sees it (after scaling), at least 1.
    largest_variance: f64,
    l2: f64,
}

impl<'a> Problem<'a> {
    /// The problem of fitting `x` to `y`, or the first non-finite value of `x`.
    fn new(x: &'a FeatureMatrix, y: &[bool], p: &LogisticParams) -> Result<Self, ModelError> {
        let n = x.rows() as f64;
        let columns: Vec<&[f64]> = (0..x.features()).map(|f| x.column(f)).collect();
        let (mut mean, mut scale) = (Vec::new(), Vec::new());
        let mut largest_variance = 1.0f64;
        for col in &columns {
            // One pass: sums shifted by the first value (so large offsets do not cancel), which
            // also turn non-finite if any value is.
            let shift = col[0];
            let (s1, s2) = shifted_sums(col, shift);
            if !(s1.is_finite() && s2.is_finite()) {
                check_finite(x)?;
            }
            let m = shift + s1 / n;
            let variance = (s2 / n - (s1 / n) * (s1 / n)).max(0.0);
            // A constant column centres to zeros: its weight stays 0 at any scale.
            let s = if p.standardize && variance > 0.0 {
                variance.sqrt()
            } else {
                1.0
            };
            largest_variance = largest_variance.max(variance / (s * s));
            mean.push(m);
            scale.push(s);
        }
        Ok(Problem {
            columns,
            y: y.iter().map(|&v| f64::from(u8::from(v))).collect(),
            mean,
            scale,
            largest_variance,
            l2: p.l2,
        })
    }

    fn dim(&self) -> usize {
        self.columns.len() + 1
    }

    /// Loss at θ; writes the gradient into `grad`.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.y.len();
        // Weights on the raw (uncentred) columns of a block: w_j / s_j, applied to x - m_j.
        let w: Vec<f64> = (0..self.columns.len())
            .map(|f| theta[f + 1] / self.scale[f])
            .collect();
        grad.fill(0.0);
        let mut loss = 0.0;
        let mut z = [0.0; BLOCK];
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            let z = &mut z[..end - start];
            z.fill(theta[0]);
            add_margins(z, &self.columns, &w, &self.mean, start);
            // Turn margins into residuals p - y, summing the loss on the way.
            let mut block_loss = 0.0;
            for (zi, &yi) in z.iter_mut().zip(&self.y[start..end]) {
                let e = (-zi.abs()).exp();
                block_loss += (1.0 + e).ln() + zi.max(0.0) - yi * *zi;
                let prob = if *zi >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                *zi = prob - yi;
            }
            loss += block_loss;
            grad[0] += z.iter().sum::<f64>();
            add_gradient(&mut grad[1..], &self.columns, &self.mean, z, start);
            start = end;
        }
        let mut penalty = 0.0;
        for f in 0..self.columns.len() {
            let wf = theta[f + 1];
            grad[f + 1] = grad[f + 1] / self.scale[f] + self.l2 * wf;
            penalty += wf * wf;
        }
        loss + 0.5 * self.l2 * penalty
    }

    /// A diagonal guess of the inverse Hessian for the first step: the loss's curvature is at
    /// most `n / 4` times the largest column variance.
    fn initial_scale(&self) -> f64 {
        1.0 / (0.25 * self.y.len() as f64 * self.largest_variance + self.l2)
    }
}

/// Adds `Σ_f w_f · (x_f − m_f)` over the rows `start..start + z.len()` to `z`, four columns at a
/// time: four streams from memory at once keep more loads in flight.
fn add_margins(z: &mut [f64], columns: &[&[f64]], w: &[f64], mean: &[f64], start: usize) {
    let len = z.len();
    let mut f = 0;
    while f + 4 <= columns.len() {
        let (a, b) = (
            &columns[f][start..start + len],
            &columns[f + 1][start..start + len],
        );
        let (c, d) = (
            &columns[f + 2][start..start + len],
            &columns[f + 3][start..start + len],
        );
        let (wa, wb, wc, wd) = (w[f], w[f + 1], w[f + 2], w[f + 3]);
        let (ma, mb, mc, md) = (mean[f], mean[f + 1], mean[f + 2], mean[f + 3]);
        for i in 0..len {
            z[i] += wa * (a[i] - ma) + wb * (b[i] - mb) + wc * (c[i] - mc) + wd * (d[i] - md);
        }
        f += 4;
    }
    for f in f..columns.len() {
        let (wf, m) = (w[f], mean[f]);
        for (zi, &v) in z.iter_mut().zip(&columns[f][start..start + len]) {
            *zi += wf * (v - m);
        }
    }
}

/// Adds `Σ_i (x_fi − m_f) · r_i` over the rows `start..start + r.len()` to `grad[f]`.
fn add_gradient(grad: &mut [f64], columns: &[&[f64]], mean: &[f64], r: &[f64], start: usize) {
    for (f, col) in columns.iter().enumerate() {
        grad[f] += centred_dot(&col[start..start + r.len()], mean[f], r);
    }
}

/// `(Σ (x_i − c), Σ (x_i − c)²)`, with four independent sums each.
fn shifted_sums(x: &[f64], c: f64) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0; 4], [0.0; 4]);
    let chunks = x.chunks_exact(4);
    let tail = chunks.remainder();
    for xs in chunks {
        for k in 0..4 {
            let d = xs[k] - c;
            s1[k] += d;
            s2[k] += d * d;
        }
    }
    let (t1, t2) = tail
        .iter()
        .fold((0.0, 0.0), |(a, b), v| (a + (v - c), b + (v - c) * (v - c)));
    (s1.iter().sum::<f64>() + t1, s2.iter().sum::<f64>() + t2)
}

/// `Σ (x_i − m) · r_i` with eight independent sums, so the compiler can vectorise it.
fn centred_dot(x: &[f64], m: f64, r: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (xc, rc) = (x.chunks_exact(8), r.chunks_exact(8));
    let (xt, rt) = (xc.remainder(), rc.remainder());
    for (xs, rs) in xc.zip(rc) {
        for k in 0..8 {
            acc[k] += (xs[k] - m) * rs[k];
        }
    }
    let tail: f64 = xt.iter().zip(rt).map(|(v, r)| (v - m) * r).sum();
    acc.iter().sum::<f64>() + tail
}

struct Outcome {
    iterations: usize,
    converged: bool,
}

/// Pairs kept by L-BFGS.
const MEMORY: usize = 10;

/// Minimises `problem` from `theta` with L-BFGS and a backtracking Armijo line search. Stops when
/// the gradient's largest component is at most `gtol`, or when a step no longer lowers the loss
/// by more than rounding (relative change ≤ 64 ε, scipy's default), or after `max_iter`.
fn lbfgs(problem: &Problem, theta: &mut [f64], max_iter: usize, gtol: f64) -> Outcome {
    let d = problem.dim();
    let mut grad = vec![0.0; d];
    let mut f = problem.eval(theta, &mut grad);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
    let mut gamma = problem.initial_scale();
    let mut dir = vec![0.0; d];
    let mut trial = vec![0.0; d];
    let mut trial_grad = vec![0.0; d];
    let mut alpha_k = [0.0; MEMORY];
    for iter in 0..max_iter {
        if max_abs(&grad) <= gtol {
            return Outcome {
                iterations: iter,
                converged: true,
            };
        }
        // Two-loop recursion: dir = −H·grad.
        dir.iter_mut().zip(&grad).for_each(|(q, g)| *q = -g);
        for (k, (s, yv, rho)) in history.iter().enumerate().rev() {
            let a = rho * dot(s, &dir);
            alpha_k[k] = a;
            axpy(-a, yv, &mut dir);
        }
        dir.iter_mut().for_each(|q| *q *= gamma);
        for (k, (s, yv, rho)) in history.iter().enumerate() {
            let b = rho * dot(yv, &dir);
            axpy(alpha_k[k] - b, s, &mut dir);
        }
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from steepest descent.
            history.clear();
            gamma = problem.initial_scale();
            dir.iter_mut().zip(&grad).for_each(|(q, g)| *q = -gamma * g);
            slope = dot(&grad, &dir);
        }
        // Backtracking with safeguarded quadratic interpolation.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            for ((t, th), q) in trial.iter_mut().zip(theta.iter()).zip(&dir) {
                *t = th + step * q;
            }
            let ft = problem.eval(&trial, &mut trial_grad);
            if ft.is_finite() && ft <= f + 1e-4 * step * slope {
                accepted = Some(ft);
                break;
            }
            let next = if ft.is_finite() {
                -slope * step * step / (2.0 * (ft - f - slope * step))
            } else {
                0.1 * step
            };
            step = next.clamp(0.1 * step, 0.5 * step);
        }
        let Some(f_new) = accepted else {
            return Outcome {
                iterations: iter + 1,
                converged: false,
            };
        };
        let s: Vec<f64> = dir.iter().map(|q| step * q).collect();
        let yv: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        theta.copy_from_slice(&trial);
        grad.copy_from_slice(&trial_grad);
        let f_old = f;
        f = f_new;
        if sy > 1e-12 * dot(&yv, &yv).max(f64::MIN_POSITIVE) {
            gamma = sy / dot(&yv, &yv);
            if history.len() == MEMORY {
                history.remove(0);
            }
            history.push((s, yv, 1.0 / sy));
        }
        if f_old - f <= 64.0 * f64::EPSILON * f_old.abs().max(f.abs()).max(1.0) {
            return Outcome {
                iterations: iter + 1,
                converged: true,
            };
        }
    }
    Outcome {
        iterations: max_iter,
        converged: max_abs(&grad) <= gtol,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc;

    use crate::test_rng::lcg;

    /// Rows with features of different scales and a known logit.
    fn data(n: usize, seed: u64) -> (FeatureMatrix, Vec<bool>) {
        let (b0, b) = (10.5, [1.0, -2.0, 0.05, 0.0]);
        let mut s = seed;
        let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let x = [
                lcg(&mut s) * 2.0 - 1.0,
                lcg(&mut s) + 5.0,
                lcg(&mut s) * 40.0 - 20.0,
                lcg(&mut s) * 1000.0,
            ];
            let logit = b0 + b.iter().zip(&x).map(|(b, x)| b * x).sum::<f64>();
            y.push(lcg(&mut s) < sigmoid(logit));
            for (c, v) in cols.iter_mut().zip(x) {
                c.push(v);
            }
        }
        let names = (0..4).map(|f| format!("x{f}")).collect();
        (FeatureMatrix::new(names, cols).unwrap(), y)
    }

    #[test]
    fn recovers_known_coefficients() {
        let (x, y) = data(200_000, 7);
        for standardize in [true, false] {
            let m = LogisticParams {
                standardize,
                ..Default::default()
            }
            .fit(&x, &y)
            .unwrap();
            assert!(m.converged, "{m:?}");
            // Four standard errors of each estimate at this size.
            let want = [(1.0, 0.04), (-2.0, 0.08), (0.05, 0.003), (0.0, 1e-4)];
            for (c, (w, tolerance)) in m.coefficients.iter().zip(want) {
                assert!((c - w).abs() < tolerance, "{m:?}");
            }
            assert!((m.intercept - 10.5).abs() < 0.4, "{m:?}");
        }
    }

    #[test]
    fn matches_a_hand_checked_problem() {
        // One feature, symmetric data: x = ±1 with y = true 3 times in 4 at x = 1 and once in 4
        // at x = −1. Unpenalised, the intercept is 0 and the slope is ln 3. With l2 = 1 the
        // intercept stays 0 by symmetry and the slope b solves 8·(3/4 − sigmoid(b)) = b.
        let xs = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0];
        let y = [true, true, true, false, false, false, false, true];
        let x = FeatureMatrix::new(vec!["x".into()], vec![xs.to_vec()]).unwrap();
        let free = LogisticParams {
            l2: 0.0,
            standardize: false,
            tol: 1e-10,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        assert!(free.intercept.abs() < 1e-8, "{free:?}");
        assert!((free.coefficients[0] - 3f64.ln()).abs() < 1e-8, "{free:?}");
        let ridge = LogisticParams {
            standardize: false,
            tol: 1e-10,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        let b = ridge.coefficients[0];
        assert!((8.0 * (0.75 - sigmoid(b)) - b).abs() < 1e-8, "{ridge:?}");
        // By bisection: b = 0.683624.
        assert!((b - 0.683_624).abs() < 1e-6, "{b}");
        assert!(ridge.intercept.abs() < 1e-8, "{ridge:?}");
        let p = ridge.predict_proba(&x).unwrap();
        assert!((p[0] - sigmoid(b)).abs() < 1e-9);
        assert!((ridge.decision(&|_| -1.0) + b).abs() < 1e-8);
    }

    #[test]
    fn predicts_as_well_as_the_truth() {
        let (x, y) = data(20_000, 1);
        let m = LogisticParams::default().fit(&x, &y).unwrap();
        let (xt, yt) = data(20_000, 2);
        let p = m.predict_proba(&xt).unwrap();
        let truth: Vec<f64> = (0..xt.rows())
            .map(|i| xt.column(0)[i] - 2.0 * xt.column(1)[i] + 0.05 * xt.column(2)[i])
            .collect();
        assert!((auc(&yt, &p) - auc(&yt, &truth)).abs() < 0.005);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (x, y) = data(100, 3);
        assert!(matches!(
            LogisticParams {
                l2: -1.0,
                ..Default::default()
            }
            .fit(&x, &y),
            Err(ModelError::InvalidParam { name: "l2", .. })
        ));
        assert!(matches!(
            LogisticParams::default().fit(&x, &y[..50]),
            Err(ModelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            LogisticParams::default().fit(&x, &[false; 100]),
            Err(ModelError::OneClass { .. })
        ));
        let mut cols: Vec<Vec<f64>> = (0..4).map(|f| x.column(f).to_vec()).collect();
        cols[2][17] = f64::NAN;
        let holed = FeatureMatrix::new(x.names().to_vec(), cols).unwrap();
        let err = LogisticParams::default().fit(&holed, &y).unwrap_err();
        assert!(
            matches!(&err, ModelError::NotFinite { feature, row: 17, .. } if feature == "x2"),
            "{err}"
        );
        assert!(err.to_string().contains("x2"), "{err}");
        let m = LogisticParams::default().fit(&x, &y).unwrap();
        assert!(m.predict_proba(&holed).is_err());
    }

    #[test]
    fn models_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LogisticModel>();
        check::<LogisticParams>();
    }
}
