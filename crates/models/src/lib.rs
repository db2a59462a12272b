//! Risk and response models: what is trained, how it is scored, and how it is judged.
//!
//! This crate owns the learning algorithms forbear trains and serves — gradient-boosted decision
//! trees ([`gbm`]), L-BFGS logistic regression ([`logistic`]), weight-of-evidence scorecards with
//! reason codes ([`scorecard`]) — the metrics they are judged by ([`metrics`]), and how fitted
//! models are kept: the [`Model`] type, bundles on disk checked by checksum ([`bundle`]) and the
//! registry of versions ([`registry`]). It knows no data contract: it takes a [`FeatureMatrix`]
//! and labels, so the same code trains on the simulator's history, on a data scientist's own
//! table, and scores inside the service.
//!
//! Models follow linfa's shape: hyper-parameters are a checked value with documented defaults,
//! fitting returns a model, and a fitted model predicts. The gradient booster is our own
//! (histogram-based, leaf-wise, like LightGBM) because linfa has none and the Rust crates measured
//! on the Taiwan data fell short of the accuracy bar (see `benches/RESULTS.md`).

pub mod bundle;
pub mod calibration;
pub mod eligibility;
pub mod error;
pub mod gbm;
pub mod logistic;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod scorecard;
pub mod shap;
pub mod spec;

pub use bundle::{Bundle, BundleError, risk_band, score_points};
pub use calibration::Platt;
pub use error::ModelError;
pub use gbm::{CompiledGbm, Gbm, GbmParams};
pub use logistic::{LogisticModel, LogisticParams};
pub use matrix::{Columns, FeatureMatrix};
pub use model::Model;
pub use registry::{Registry, RegistryError};
pub use scorecard::{Reason, Scorecard, ScorecardParams};
pub use spec::{FeatureDef, FeatureKind, FeatureSpec, RawValue};

/// The seeded generator the tests draw synthetic data from.
#[cfg(test)]
pub(crate) mod test_rng {
    /// Uniform in `[0, 1)` from a 64-bit linear congruential generator.
    pub(crate) fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }
}
