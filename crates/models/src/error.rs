//! Errors of fitting and scoring.

/// Why a model could not be fitted or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A hyper-parameter outside its range.
    #[error("hyper-parameter {name} = {value} is invalid: {expected}")]
    InvalidParam {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    /// Labels and rows disagree in number.
    #[error("{rows} rows but {labels} labels")]
    LengthMismatch { rows: usize, labels: usize },
    /// Training data with a single class.
    #[error("the training labels hold one class only ({positives} positives in {rows} rows)")]
    OneClass { positives: usize, rows: usize },
    /// A target outside `[0, 1]`.
    #[error("target {value} in row {row} is outside [0, 1]")]
    BadTarget { row: usize, value: f64 },
    /// A weight that is negative or not finite.
    #[error("weight {value} in row {row} must be finite and ≥ 0")]
    BadWeight { row: usize, value: f64 },
    /// No rows or no features.
    #[error("nothing to train on: {rows} rows, {features} features")]
    Empty { rows: usize, features: usize },
    /// A matrix whose columns differ from the model's.
    #[error("the model expects {expected} features, got {found}")]
    FeatureCount { expected: usize, found: usize },
    /// A missing or infinite value where a model needs a number (logistic regression).
    #[error(
        "feature {feature} is {value} in row {row}: this model needs finite values (bin or \
         impute missing values first)"
    )]
    NotFinite {
        feature: String,
        row: usize,
        value: f64,
    },
}
