//! Reading a dataset: locating table files and streaming their record batches.
//!
//! A table is `{dir}/{table}.parquet`, or a directory `{dir}/{table}/` of `*.parquet` parts read in
//! name order (how partitioned datasets written by Spark or by our service's decision log look).

use crate::error::DataError;
use crate::validate::{ValidationReport, validate_dataset};
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Rows per record batch when reading.
pub const READ_BATCH_ROWS: usize = 64 * 1024;

/// The files of a table in `dir`, in reading order; empty when the table is absent.
pub fn table_files(dir: &Path, table: &str) -> Result<Vec<PathBuf>, DataError> {
    let single = dir.join(format!("{table}.parquet"));
    if single.is_file() {
        return Ok(vec![single]);
    }
    let parts = dir.join(table);
    if !parts.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&parts)
        .map_err(DataError::io(&parts))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// A file name relative to the dataset directory, for messages (`invoices.parquet`,
/// `contacts/part-0001.parquet`).
pub fn display_name(dir: &Path, file: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).display().to_string()
}

/// Opens one Parquet file as a stream of record batches.
pub fn open_batches(
    path: &Path,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, DataError> {
    let file = File::open(path).map_err(DataError::io(path))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(DataError::parquet(path))?
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(DataError::parquet(path))
}

/// A dataset directory that passed validation.
#[derive(Debug, Clone)]
pub struct Dataset {
    dir: PathBuf,
    report: ValidationReport,
}

impl Dataset {
    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The validation report (row counts per table).
    pub fn report(&self) -> &ValidationReport {
        &self.report
    }

    /// Every record batch of a table, file after file.
    pub fn batches(
        &self,
        table: &str,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>>, DataError> {
        let files = table_files(&self.dir, table)?;
        let mut readers = Vec::with_capacity(files.len());
        for f in &files {
            readers.push((f.clone(), open_batches(f)?));
        }
        Ok(readers.into_iter().flat_map(|(path, reader)| {
            reader.map(move |b| {
                b.map_err(|e| DataError::Parquet {
                    path: path.clone(),
                    source: e.into(),
                })
            })
        }))
    }
}

/// Validates `dir` and opens it; a dataset with any problem is refused as a whole, so nothing
/// downstream ever works from part of a bad dataset.
pub fn open_validated(dir: &Path) -> Result<Dataset, DataError> {
    let report = validate_dataset(dir)?;
    if !report.is_valid() {
        let first = report
            .problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(DataError::Invalid {
            dir: dir.to_path_buf(),
            count: report.total_problems(),
            first,
        });
    }
    Ok(Dataset {
        dir: dir.to_path_buf(),
        report,
    })
}
