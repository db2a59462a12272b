//! Validation of a dataset against the contract, reporting every problem with file, column and
//! row.
//!
//! Tables are scanned once each, streaming, in dependency order: `accounts` first (its ids and
//! time zones are what the others refer to), then `invoices`, then the rest. A table whose schema
//! is wrong gets schema problems only (its rows cannot be read as the contract says). Problems are
//! counted in full; the report keeps the first [`SHOWN_PER_COLUMN`] of each file and column so that
//! a million bad rows make a readable report, not a million lines.

mod keys;
mod rules;

use crate::contract::{TableRow, TableSpec, type_name};
use crate::error::DataError;
use crate::read::{display_name, open_batches, table_files};
use crate::tables::{Account, Contact, Dispute, Invoice, Payment, Promise, Truth};
use arrow_array::{Array, RecordBatch};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub(crate) use keys::Keys;

/// Every value of a string column in any encoding, `None` for nulls.
pub(crate) fn text_values(a: &dyn Array) -> Vec<Option<String>> {
    let s = crate::columns::Strs::from_array(a);
    (0..a.len()).map(|i| s.get(i).map(str::to_owned)).collect()
}

/// Problems kept in the report per file and column (the rest are counted).
pub const SHOWN_PER_COLUMN: usize = 20;

/// One way in which a dataset breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File, relative to the dataset directory.
    pub file: String,
    /// Column, when the problem is in one.
    pub column: Option<String>,
    /// Row number in the file, counting from 1, when the problem is in one row.
    pub row: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(c) = &self.column {
            write!(f, ": column {c}")?;
        }
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of validating a dataset.
#[derive(Debug, Clone, Default)]
pub struct ValidationReport {
    /// The problems kept (see [`SHOWN_PER_COLUMN`]).
    pub problems: Vec<Problem>,
    /// Problems counted but not kept, per `file: column`.
    pub not_shown: BTreeMap<String, u64>,
    /// Rows read per table.
    pub rows: BTreeMap<String, u64>,
    total: u64,
    shown: BTreeMap<String, usize>,
}

impl ValidationReport {
    /// Whether the dataset meets the contract.
    pub fn is_valid(&self) -> bool {
        self.total == 0
    }

    /// All problems found, kept or not.
    pub fn total_problems(&self) -> u64 {
        self.total
    }

    /// Appends the problems and counts of a report on other tables.
    fn merge(&mut self, other: ValidationReport) {
        for p in other.problems {
            self.add(&p.file, p.column.as_deref(), p.row, p.message);
        }
        for (key, n) in other.not_shown {
            self.total += n;
            *self.not_shown.entry(key).or_default() += n;
        }
        for (table, n) in other.rows {
            *self.rows.entry(table).or_default() += n;
        }
    }

    pub(crate) fn add(
        &mut self,
        file: &str,
        column: Option<&str>,
        row: Option<u64>,
        message: String,
    ) {
        self.total += 1;
        let key = match column {
            Some(c) => format!("{file}: column {c}"),
            None => file.to_owned(),
        };
        let shown = self.shown.entry(key.clone()).or_default();
        if *shown < SHOWN_PER_COLUMN {
            *shown += 1;
            self.problems.push(Problem {
                file: file.to_owned(),
                column: column.map(str::to_owned),
                row,
                message,
            });
        } else {
            *self.not_shown.entry(key).or_default() += 1;
        }
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        for (key, n) in &self.not_shown {
            writeln!(f, "{key}: … and {n} more problems like the above")?;
        }
        Ok(())
    }
}

/// A table's rows as they stream past: the file name, the batch, and the file row number of the
/// batch's first row.
pub(crate) struct Rows<'a> {
    pub file: &'a str,
    pub batch: &'a RecordBatch,
    pub first_row: u64,
}

impl Rows<'_> {
    pub(crate) fn row(&self, i: usize) -> u64 {
        self.first_row + i as u64
    }
}

/// Checks a file's schema; returns whether rows can be read as the contract says.
fn check_schema(
    report: &mut ValidationReport,
    file: &str,
    spec: &TableSpec,
    path: &Path,
) -> Result<bool, DataError> {
    let reader = open_batches(path)?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let mut ok = true;
    for col in &spec.columns {
        match schema.field_with_name(col.name) {
            Err(_) => {
                ok = false;
                report.add(
                    file,
                    Some(col.name),
                    None,
                    format!("missing column (expected {})", col.type_name()),
                );
            }
            Ok(field) if !col.accepts(field.data_type()) => {
                ok = false;
                report.add(
                    file,
                    Some(col.name),
                    None,
                    format!(
                        "wrong type {} (expected {})",
                        type_name(field.data_type()),
                        col.type_name()
                    ),
                );
            }
            Ok(_) => {}
        }
    }
    Ok(ok)
}

/// Streams every file of a table through `check`, after the schema and null checks. Returns
/// whether the table was present.
fn scan<R: TableRow>(
    dir: &Path,
    required: bool,
    report: &mut ValidationReport,
    mut check: impl FnMut(&mut ValidationReport, &Rows<'_>),
) -> Result<bool, DataError> {
    let spec = R::spec();
    let files = table_files(dir, spec.name)?;
    if files.is_empty() {
        if required {
            report.add(
                &spec.file_name(),
                None,
                None,
                format!(
                    "missing table {} (expected {})",
                    spec.name,
                    spec.file_name()
                ),
            );
        }
        return Ok(false);
    }
    let mut rows = 0u64;
    for path in files {
        let file = display_name(dir, &path);
        if !check_schema(report, &file, &spec, &path)? {
            continue;
        }
        let mut next_row = 1u64;
        for batch in open_batches(&path)? {
            let batch = batch.map_err(|e| DataError::Parquet {
                path: path.clone(),
                source: e.into(),
            })?;
            for col in spec.columns.iter().filter(|c| !c.nullable) {
                let a = crate::columns::column(&batch, col.name);
                if a.null_count() > 0 {
                    for i in (0..a.len()).filter(|&i| a.is_null(i)) {
                        report.add(
                            &file,
                            Some(col.name),
                            Some(next_row + i as u64),
                            "null in a column that is not nullable".into(),
                        );
                    }
                }
            }
            check(
                report,
                &Rows {
                    file: &file,
                    batch: &batch,
                    first_row: next_row,
                },
            );
            next_row += batch.num_rows() as u64;
        }
        rows += next_row - 1;
    }
    *report.rows.entry(spec.name.to_owned()).or_default() += rows;
    Ok(true)
}

/// The rules of a table after `accounts` and `invoices`.
type Rule = fn(&mut ValidationReport, &Rows<'_>, &Keys, &mut keys::IdCollector);

/// Validates one table that refers to the keys, with its own primary key, into its own report.
fn table_report<R: TableRow>(
    dir: &Path,
    required: bool,
    id_column: &'static str,
    keys: &Keys,
    rule: Rule,
) -> Result<ValidationReport, DataError> {
    let mut report = ValidationReport::default();
    let mut ids = keys::IdCollector::new(id_column);
    scan::<R>(dir, required, &mut report, |r, rows| {
        rule(r, rows, keys, &mut ids)
    })?;
    ids.finish(&mut report);
    Ok(report)
}

/// Validates the dataset in `dir`. `Err` only when files cannot be read at all; problems with
/// the data are in the report.
pub fn validate_dataset(dir: &Path) -> Result<ValidationReport, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Io {
            path: PathBuf::from(dir),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a dataset directory"),
        });
    }
    let mut report = ValidationReport::default();
    let mut accounts = keys::AccountCollector::default();
    scan::<Account>(dir, true, &mut report, |r, rows| {
        rules::accounts(r, rows, &mut accounts)
    })?;
    let accounts = accounts.finish(&mut report);
    let mut invoices = keys::IdCollector::new("invoice_id");
    scan::<Invoice>(dir, true, &mut report, |r, rows| {
        rules::invoices(r, rows, &accounts, &mut invoices)
    })?;
    let keys = Keys {
        invoices: invoices.finish(&mut report),
        accounts,
    };
    // The remaining tables only read the keys: validate them side by side, then merge the
    // reports in a fixed order so the output does not depend on scheduling.
    let keys = &keys;
    let results: Vec<Result<ValidationReport, DataError>> = std::thread::scope(|s| {
        [
            s.spawn(|| table_report::<Payment>(dir, true, "payment_id", keys, rules::payments)),
            s.spawn(|| table_report::<Contact>(dir, true, "contact_id", keys, rules::contacts)),
            s.spawn(|| table_report::<Dispute>(dir, true, "dispute_id", keys, rules::disputes)),
            s.spawn(|| table_report::<Promise>(dir, true, "promise_id", keys, rules::promises)),
            s.spawn(|| table_report::<Truth>(dir, false, "account_id", keys, rules::truth)),
        ]
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect()
    });
    for part in results {
        report.merge(part?);
    }
    Ok(report)
}
