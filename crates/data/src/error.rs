//! Errors of reading and writing datasets; validation problems are data, see [`crate::Problem`].

use std::path::PathBuf;

/// Something went wrong reading or writing a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened, created, renamed or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Parquet could not encode or decode a file.
    #[error("{path}: parquet: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow could not build a batch (a bug: the schema and builders disagree).
    #[error("{table}: arrow: {source}")]
    Arrow {
        table: &'static str,
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A table file that the contract requires is missing.
    #[error("{dir}: missing table {table} (expected {table}.parquet)")]
    MissingTable { dir: PathBuf, table: &'static str },
    /// The dataset broke the contract; the report lists every problem.
    #[error(
        "{dir}: the dataset breaks the contract ({count} problems; run `forbear validate` for all), first: {first}"
    )]
    Invalid {
        dir: PathBuf,
        count: u64,
        first: String,
    },
    /// The output directory holds files that would be overwritten.
    #[error("{path}: already exists; choose an empty directory or remove it first")]
    WouldOverwrite { path: PathBuf },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }

    pub(crate) fn parquet(
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(parquet::errors::ParquetError) -> DataError {
        let path = path.into();
        move |source| DataError::Parquet { path, source }
    }
}
