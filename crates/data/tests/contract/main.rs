//! The contract's validator: a valid dataset passes, and each kind of bad input is reported with
//! the file, the column and the row.

mod bad_input;
mod fixture;
mod markdown;
