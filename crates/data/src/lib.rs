//! The historical-payment data contract, and the only code that reads or writes it.
//!
//! A dataset is a directory of Parquet files, one per table: `accounts`, `invoices`, `payments`,
//! `contacts`, `disputes`, `promises`, and — from the simulator only — `truth`. Each table is
//! declared once, in [`tables`], as a Rust row type whose fields carry the column's Arrow type,
//! unit and meaning; the Arrow schema, the writers, the validator and the documentation in
//! `notebooks-data/README.md` (checked by a test) all come from that one declaration.
//!
//! Writing streams record batches into row groups and publishes the files only when every table
//! is complete ([`DatasetWriter`]), so an interrupted run leaves no half-written dataset.
//! [`validate()`](validate::validate_dataset) reports every problem with its file, column and row, and
//! [`open_validated`] is what downstream commands call: a bad dataset never yields a partial
//! result.

pub mod cell;
pub mod columns;
pub mod contract;
pub mod error;
pub mod read;
pub mod table;
pub mod tables;
pub mod validate;
pub mod write;

pub use contract::{ColumnSpec, TableSpec, contract_markdown};
pub use error::DataError;
pub use read::{Dataset, open_validated};
pub use table::{Column, Table, TableError, read_table};
pub use tables::*;
pub use validate::{Problem, ValidationReport, validate_dataset};
pub use write::{DatasetWriter, TableWriter};
