//! Why training could not run; every message names the column or file concerned.

use std::path::PathBuf;

/// Why a model could not be trained.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The input could not be read.
    #[error(transparent)]
    Table(#[from] forbear_data::TableError),
    /// The dataset could not be read or breaks the contract.
    #[error(transparent)]
    Data(#[from] forbear_data::DataError),
    /// A named column does not exist.
    #[error("{path}: no column named {column:?} ({what}); columns are: {columns}")]
    NoSuchColumn {
        path: PathBuf,
        column: String,
        what: &'static str,
        columns: String,
    },
    /// The target has more or fewer than two values.
    #[error(
        "{path}: target column {column:?} is not binary: it has {count} distinct values ({examples})"
    )]
    NotBinary {
        path: PathBuf,
        column: String,
        count: usize,
        examples: String,
    },
    /// Only one class is present.
    #[error(
        "{path}: target column {column:?} holds one class only ({value:?}); a model needs both outcomes"
    )]
    OneClass {
        path: PathBuf,
        column: String,
        value: String,
    },
    /// The positive value named is not among the target's values.
    #[error(
        "{path}: --positive {value:?} is not a value of target column {column:?} (its values: {values})"
    )]
    NoSuchPositive {
        path: PathBuf,
        column: String,
        value: String,
        values: String,
    },
    /// Which target value is the bad outcome cannot be guessed.
    #[error(
        "{path}: cannot tell which value of {column:?} is the bad outcome ({values}); say it with --positive"
    )]
    AmbiguousPositive {
        path: PathBuf,
        column: String,
        values: String,
    },
    /// No column is usable as a feature.
    #[error("{path}: no usable feature column ({details})")]
    NoFeature { path: PathBuf, details: String },
    /// Too few rows of a class for the evaluation asked for.
    #[error("{path}: {what}")]
    TooFew { path: PathBuf, what: String },
    /// A value of a table does not fit the model's feature spec.
    #[error("{path}: row {row}: {source}")]
    Encode {
        path: PathBuf,
        row: usize,
        #[source]
        source: forbear_models::spec::SpecError,
    },
    /// Fitting failed.
    #[error("fitting {model}: {source}")]
    Model {
        model: &'static str,
        #[source]
        source: forbear_models::ModelError,
    },
    /// Writing the bundle failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
