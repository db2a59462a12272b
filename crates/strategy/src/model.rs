//! The response models as the recommender sees them: rows of response features in, the four
//! predictions out.
//!
//! [`ResponseModel`] is the port; [`ResponseBundle`] is the implementation on a bundle written
//! by `forbear train response` (its heads laid out once for row-major scoring). Tests and the
//! strategy lab can plug in anything else — the simulator's truth, say — behind the same port.

use forbear_features::{RESPONSE_FEATURE_COUNT, response_features};
use forbear_models::{Bundle, BundleError, CompiledGbm, Model};
use std::path::Path;

/// Predictions for one row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prediction {
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

    /// Predictions for `out.len()` rows laid out row-major in `rows`
    /// ([`RESPONSE_FEATURE_COUNT`] values each); `scratch` is reused between calls.
    fn predict(&self, rows: &[f64], out: &mut [Prediction], scratch: &mut Vec<f64>);
}

/// The response models of a bundle, ready to score.
#[derive(Debug, Clone)]
pub struct ResponseBundle {
    version: String,
    heads: [CompiledGbm; 4],
}

impl ResponseBundle {
    /// Loads and checks a response bundle: checksums, the four heads, and features equal to
    /// those this build computes.
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
                .ok_or_else(|| format(format!("no {name} head")))?;
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
            heads: [
                head("pay")?,
                head("share")?,
                head("promise")?,
                head("complaint")?,
            ],
        })
    }
}

impl ResponseModel for ResponseBundle {
    fn version(&self) -> String {
        format!("response/{}", self.version)
    }

    fn predict(&self, rows: &[f64], out: &mut [Prediction], scratch: &mut Vec<f64>) {
        scratch.clear();
        scratch.resize(out.len(), 0.0);
        for (h, head) in self.heads.iter().enumerate() {
            // Lengths are the caller's contract; a mismatch leaves zeros (checked in tests).
            if head.predict_rows(rows, scratch).is_err() {
                scratch.fill(0.0);
            }
            for (o, v) in out.iter_mut().zip(scratch.iter()) {
                match h {
                    0 => o.pay = *v,
                    1 => o.share = *v,
                    2 => o.promise = *v,
                    _ => o.complaint = *v,
                }
            }
        }
    }
}
