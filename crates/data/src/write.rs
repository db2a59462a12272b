//! Streaming Parquet writers that publish a dataset all at once.
//!
//! Each table is written to a hidden `.{table}.parquet.partial` file in row groups as rows arrive;
//! [`DatasetWriter::commit`] closes every file and only then renames them into place. A writer
//! dropped before `commit` (an error, an interrupt) removes its partial files, so a reader never
//! sees a dataset with some tables missing or cut short.

use crate::contract::{RowBuilder, TableRow};
use crate::error::DataError;
use crate::tables::{Account, Contact, Dispute, Invoice, Payment, Promise, Truth};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Rows buffered before a record batch is handed to Parquet.
pub const BATCH_ROWS: usize = 64 * 1024;

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(1 << 20))
        .build()
}

/// Writes one table, streaming rows into row groups.
pub struct TableWriter<R: TableRow> {
    partial: PathBuf,
    target: PathBuf,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    builder: R::Builder,
    rows: u64,
}

impl<R: TableRow> std::fmt::Debug for TableWriter<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &R::TABLE)
            .field("target", &self.target)
            .field("rows", &self.rows)
            .finish()
    }
}

impl<R: TableRow> TableWriter<R> {
    /// Starts writing `{dir}/{table}.parquet` (through a partial file).
    pub fn create(dir: &Path) -> Result<Self, DataError> {
        Self::create_as(dir, &R::spec().file_name())
    }

    /// Starts writing `{dir}/{file_name}` (through a partial file): for tables kept in several
    /// files, such as the service's rotated decision log.
    pub fn create_as(dir: &Path, file_name: &str) -> Result<Self, DataError> {
        let spec = R::spec();
        let target = dir.join(file_name);
        let partial = dir.join(format!(".{file_name}.partial"));
        let file = File::create(&partial).map_err(DataError::io(&partial))?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            spec.schema(),
            Some(writer_properties()),
        )
        .map_err(DataError::parquet(&partial))?;
        Ok(TableWriter {
            partial,
            target,
            writer: Some(writer),
            builder: R::Builder::with_capacity(BATCH_ROWS),
            rows: 0,
        })
    }

    /// Appends one row.
    pub fn push(&mut self, row: R) -> Result<(), DataError> {
        self.push_ref(&row)
    }

    /// Appends one row held elsewhere (shared with readers, say), copying its values.
    pub fn push_ref(&mut self, row: &R) -> Result<(), DataError> {
        self.builder.push_ref(row);
        if self.builder.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends the rows accumulated elsewhere (another thread's builder), as one batch.
    pub fn append(&mut self, builder: &mut R::Builder) -> Result<(), DataError> {
        self.flush()?;
        if builder.is_empty() {
            return Ok(());
        }
        let n = builder.len();
        self.write_columns(builder.finish(), n)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.builder.len() as u64
    }

    /// Hands the rows buffered so far to Parquet as one batch (they are then held encoded and
    /// compressed until the row group closes): for writers that must not hold many rows as
    /// plain values, such as the service's decision log.
    pub fn flush(&mut self) -> Result<(), DataError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let n = self.builder.len();
        let cols = self.builder.finish();
        self.write_columns(cols, n)
    }

    fn write_columns(&mut self, cols: Vec<ArrayRef>, n: usize) -> Result<(), DataError> {
        let batch =
            RecordBatch::try_new(R::spec().schema(), cols).map_err(|source| DataError::Arrow {
                table: R::TABLE,
                source,
            })?;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch).map_err(DataError::parquet(&self.partial))?;
        }
        self.rows += n as u64;
        Ok(())
    }

    /// Closes and publishes a table written on its own (outside a [`DatasetWriter`]): the file
    /// appears under its name only now, complete. Returns the rows written.
    pub fn finish(mut self) -> Result<u64, DataError> {
        self.close()?;
        self.publish()?;
        Ok(self.rows)
    }

    /// Closes the partial file; the table is published by [`DatasetWriter::commit`].
    fn close(&mut self) -> Result<(), DataError> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            let inner = w.into_inner().map_err(DataError::parquet(&self.partial))?;
            let file = inner.into_inner().map_err(|e| DataError::Io {
                path: self.partial.clone(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(DataError::io(&self.partial))?;
        }
        Ok(())
    }

    fn publish(&self) -> Result<(), DataError> {
        std::fs::rename(&self.partial, &self.target).map_err(DataError::io(&self.target))
    }
}

impl<R: TableRow> Drop for TableWriter<R> {
    fn drop(&mut self) {
        // Published files were renamed away; anything left here is a partial file to discard.
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Writes a whole dataset and publishes it only when complete.
#[derive(Debug)]
pub struct DatasetWriter {
    dir: PathBuf,
    /// `accounts.parquet`.
    pub accounts: TableWriter<Account>,
    /// `invoices.parquet`.
    pub invoices: TableWriter<Invoice>,
    /// `payments.parquet`.
    pub payments: TableWriter<Payment>,
    /// `contacts.parquet`.
    pub contacts: TableWriter<Contact>,
    /// `disputes.parquet`.
    pub disputes: TableWriter<Dispute>,
    /// `promises.parquet`.
    pub promises: TableWriter<Promise>,
    /// `truth.parquet` (simulated data only).
    pub truth: Option<TableWriter<Truth>>,
}

/// Row counts of a written dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Accounts.
    pub accounts: u64,
    /// Invoices.
    pub invoices: u64,
    /// Payments.
    pub payments: u64,
    /// Contacts.
    pub contacts: u64,
    /// Disputes.
    pub disputes: u64,
    /// Promises.
    pub promises: u64,
    /// Truth rows.
    pub truth: u64,
}

impl DatasetWriter {
    /// Starts a dataset in `dir` (created if needed). Refuses to overwrite existing table files
    /// unless `overwrite` is set.
    pub fn create(dir: &Path, with_truth: bool, overwrite: bool) -> Result<Self, DataError> {
        std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
        if !overwrite {
            for spec in crate::tables::all_specs() {
                let path = dir.join(spec.file_name());
                if path.exists() {
                    return Err(DataError::WouldOverwrite { path });
                }
            }
        }
        Ok(DatasetWriter {
            dir: dir.to_path_buf(),
            accounts: TableWriter::create(dir)?,
            invoices: TableWriter::create(dir)?,
            payments: TableWriter::create(dir)?,
            contacts: TableWriter::create(dir)?,
            disputes: TableWriter::create(dir)?,
            promises: TableWriter::create(dir)?,
            truth: if with_truth {
                Some(TableWriter::create(dir)?)
            } else {
                None
            },
        })
    }

    /// The directory written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows written so far, per table.
    pub fn counts(&self) -> RowCounts {
        RowCounts {
            accounts: self.accounts.rows(),
            invoices: self.invoices.rows(),
            payments: self.payments.rows(),
            contacts: self.contacts.rows(),
            disputes: self.disputes.rows(),
            promises: self.promises.rows(),
            truth: self.truth.as_ref().map_or(0, TableWriter::rows),
        }
    }

    /// Closes every table and publishes them. On error nothing is published.
    pub fn commit(mut self) -> Result<RowCounts, DataError> {
        let counts = self.counts();
        self.accounts.close()?;
        self.invoices.close()?;
        self.payments.close()?;
        self.contacts.close()?;
        self.disputes.close()?;
        self.promises.close()?;
        if let Some(t) = self.truth.as_mut() {
            t.close()?;
        }
        // Every file is complete on disk; the renames are the publication. A stale truth table of
        // an earlier run would contradict the new data, so it goes.
        if self.truth.is_none() {
            let stale = self.dir.join("truth.parquet");
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(DataError::io(&stale))?;
            }
        }
        self.accounts.publish()?;
        self.invoices.publish()?;
        self.payments.publish()?;
        self.contacts.publish()?;
        self.disputes.publish()?;
        self.promises.publish()?;
        if let Some(t) = self.truth.as_ref() {
            t.publish()?;
        }
        Ok(counts)
    }
}
