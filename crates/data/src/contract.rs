//! The shape of the contract: tables, columns, and the trait a row type implements.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// One column of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// Arrow type written; see [`ColumnSpec::accepts`] for what is read.
    pub data_type: DataType,
    /// Whether nulls are allowed.
    pub nullable: bool,
    /// Unit or value set.
    pub unit: &'static str,
    /// What the value means.
    pub meaning: &'static str,
}

impl ColumnSpec {
    /// Whether a file's column type is acceptable: the exact type, or — for files written by
    /// other tools — any string encoding for text and any unit for timestamps with the same zone.
    pub fn accepts(&self, found: &DataType) -> bool {
        match (&self.data_type, found) {
            (a, b) if a == b => true,
            (DataType::Utf8, DataType::LargeUtf8 | DataType::Utf8View) => true,
            (DataType::Utf8, DataType::Dictionary(_, v)) => {
                matches!(
                    **v,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            }
            (DataType::Timestamp(_, want_tz), DataType::Timestamp(_, got_tz)) => {
                match (want_tz, got_tz) {
                    (None, None) => true,
                    (Some(_), Some(z)) => {
                        matches!(z.as_ref(), "UTC" | "+00:00" | "Etc/UTC" | "Z")
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// A short human name of the written type, for documentation and errors.
    pub fn type_name(&self) -> String {
        type_name(&self.data_type)
    }
}

/// A short human name of an Arrow type.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Timestamp(TimeUnit::Microsecond, Some(z)) => format!("Timestamp(µs, {z})"),
        DataType::Timestamp(TimeUnit::Microsecond, None) => "Timestamp(µs, no zone)".into(),
        other => format!("{other}"),
    }
}

/// One table of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// Table name; the file is `{name}.parquet`.
    pub name: &'static str,
    /// What one row is.
    pub meaning: &'static str,
    /// Whether only the simulator writes it.
    pub simulator_only: bool,
    /// The columns in file order.
    pub columns: Vec<ColumnSpec>,
}

impl TableSpec {
    /// The Arrow schema written.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.data_type.clone(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The file name of the table.
    pub fn file_name(&self) -> String {
        format!("{}.parquet", self.name)
    }
}

/// A row type of the contract (declared with `table!` in [`crate::tables`]).
pub trait TableRow: Sized + Send + 'static {
    /// The table name.
    const TABLE: &'static str;
    /// Its column builder.
    type Builder: RowBuilder<Self>;
    /// The table's specification.
    fn spec() -> TableSpec;
}

/// Accumulates rows column by column.
pub trait RowBuilder<R>: Send {
    /// A builder with room for `capacity` rows.
    fn with_capacity(capacity: usize) -> Self;
    /// Appends a row.
    fn push(&mut self, row: R) {
        self.push_ref(&row);
    }
    /// Appends a row held elsewhere, copying its values into the columns (what `push` does
    /// too: a column copies a text's bytes whether it owns the text or not).
    fn push_ref(&mut self, row: &R);
    /// Rows held.
    fn len(&self) -> usize;
    /// Whether no row is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The held rows as columns, leaving the builder empty.
    fn finish(&mut self) -> Vec<ArrayRef>;
}

/// Builds a record batch from rows, for tests and small writes.
pub fn batch_of<R: TableRow>(
    rows: impl IntoIterator<Item = R>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut b = R::Builder::with_capacity(64);
    for r in rows {
        b.push(r);
    }
    RecordBatch::try_new(R::spec().schema(), b.finish())
}

/// The contract as Markdown, one table per dataset table: the text of `notebooks-data/README.md`'s
/// contract section (a test keeps the two equal).
pub fn contract_markdown() -> String {
    let mut out = String::new();
    for spec in crate::tables::all_specs() {
        out.push_str(&format!("### `{}`\n\n{}", spec.file_name(), spec.meaning));
        if spec.simulator_only {
            out.push_str(" Written by the simulator only; training code never reads it.");
        }
        out.push_str(
            "\n\n| column | Arrow type | nullable | unit | meaning |\n|---|---|---|---|---|\n",
        );
        for c in &spec.columns {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.name,
                c.type_name(),
                if c.nullable { "yes" } else { "no" },
                c.unit,
                c.meaning.trim()
            ));
        }
        out.push('\n');
    }
    out
}
