//! The response models as the recommender sees them: rows of response features in, the four
//! predictions out.
//!
//! [`ResponseModel`] is the port; [`ResponseBundle`] is the implementation on a bundle written
//! by `forbear train response` (its heads laid out once for row-major scoring). Tests and the
//! strategy lab can plug in anything else — the simulator's truth, say — behind the same port.

use forbear_features::{RESPONSE_FEATURE_COUNT, response_features};
use forbear_models::{Bundle, BundleError, CompiledGbm, Model};
use std::path::Path;

/// Predictions for one option.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prediction {
    /// P(the contact is read or answered) (0 for no contact).
    pub respond: f64,
    /// P(payment within 7 days).
    pub pay: f64,
    /// Expected share of the balance paid, given a payment.
    pub share: f64,
    /// P(promise to pay) (0 for no contact).
    pub promise: f64,
    /// P(complaint or opt-out) (0 for no contact).
    pub complaint: f64,
}

/// Something that predicts responses for rows of [`response_features`].
pub trait ResponseModel: Send + Sync {
    /// Version names of the models, for the decision log.
    fn version(&self) -> String;

    /// The prediction for no contact (`none`, one row) and for each option (`options`,
    /// `out.len()` rows laid out row-major, [`RESPONSE_FEATURE_COUNT`] values each) of the
    /// same state; `scratch` is reused between calls.
    fn predict(
        &self,
        none: &[f64],
        options: &[f64],
        out: &mut [Prediction],
        scratch: &mut Vec<f64>,
    ) -> Prediction;
}

/// The response models of a bundle, ready to score.
#[derive(Debug, Clone)]
pub struct ResponseBundle {
    version: String,
    respond: CompiledGbm,
    pay_responded: CompiledGbm,
    pay_untouched: CompiledGbm,
    share: CompiledGbm,
    promise: CompiledGbm,
    complaint: CompiledGbm,
}

impl ResponseBundle {
    /// Loads and checks a response bundle: checksums, the heads, and features equal to those
    /// this build computes.
    pub fn load(dir: &Path) -> Result<Self, BundleError> {
        let b = Bundle::load(dir)?;
        let format = |message: String| BundleError::Format {
            dir: dir.to_path_buf(),
            message,
        };
        if b.kind != "response" {
            return Err(format(format!(
                "a {} bundle, not a response bundle",
                b.kind
            )));
        }
        let expected: Vec<String> = response_features()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        if b.spec.names() != expected {
            return Err(BundleError::SpecMismatch {
                dir: dir.to_path_buf(),
                expected: expected.join(", "),
                found: b.spec.names().join(", "),
            });
        }
        let head = |name: &str| -> Result<CompiledGbm, BundleError> {
            let k = b
                .heads
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format(format!("no {name} head (retrain with this version)")))?;
            match b.models.get(k) {
                Some(Model::Gbm(g)) if g.features.len() == RESPONSE_FEATURE_COUNT => {
                    Ok(CompiledGbm::new(g))
                }
                _ => Err(format(format!(
                    "the {name} head is not a gradient-boosted model on the response features"
                ))),
            }
        };
        Ok(ResponseBundle {
            version: b.name.clone(),
            respond: head("respond")?,
            pay_responded: head("pay_responded")?,
            pay_untouched: head("pay_untouched")?,
            share: head("share")?,
            promise: head("promise")?,
            complaint: head("complaint")?,
        })
    }
}

fn score(model: &CompiledGbm, rows: &[f64], out: &mut [f64]) {
    // Lengths are the caller's contract (checked in tests); a mismatch scores nothing.
    if model.predict_rows(rows, out).is_err() {
        out.fill(0.0);
    }
}

impl ResponseModel for ResponseBundle {
    fn version(&self) -> String {
        format!("response/{}", self.version)
    }

    fn predict(
        &self,
        none: &[f64],
        options: &[f64],
        out: &mut [Prediction],
        scratch: &mut Vec<f64>,
    ) -> Prediction {
        let mut one = [0.0];
        score(&self.pay_untouched, none, &mut one);
        let untouched = one[0];
        score(&self.share, none, &mut one);
        let share = one[0];
        let n = out.len();
        scratch.clear();
        scratch.resize(4 * n, 0.0);
        let (r, rest) = scratch.split_at_mut(n);
        let (q, rest) = rest.split_at_mut(n);
        let (pr, c) = rest.split_at_mut(n);
        score(&self.respond, options, r);
        score(&self.pay_responded, options, q);
        score(&self.promise, options, pr);
        score(&self.complaint, options, c);
        for (i, o) in out.iter_mut().enumerate() {
            *o = Prediction {
                respond: r[i],
                pay: r[i] * q[i] + (1.0 - r[i]) * untouched,
                share,
                promise: pr[i],
                complaint: c[i],
            };
        }
        Prediction {
            respond: 0.0,
            pay: untouched,
            share,
            promise: 0.0,
            complaint: 0.0,
        }
    }
}
