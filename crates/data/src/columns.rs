//! Typed, read-only views of a batch's columns that accept every encoding the contract does.
//!
//! For readers of a *validated* dataset: a column the contract requires is assumed present and of
//! an accepted type (validation guarantees it), so a mismatch is a bug and panics.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray,
};
use arrow_schema::{DataType, TimeUnit};

pub fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    // The schema was checked before any row check runs, so the column exists.
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name} checked present"))
}

pub fn i64s<'a>(batch: &'a RecordBatch, name: &str) -> &'a Int64Array {
    column(batch, name).as_primitive::<Int64Type>()
}

pub fn i32s<'a>(batch: &'a RecordBatch, name: &str) -> &'a Int32Array {
    column(batch, name).as_primitive::<Int32Type>()
}

pub fn f64s<'a>(batch: &'a RecordBatch, name: &str) -> &'a Float64Array {
    column(batch, name).as_primitive::<Float64Type>()
}

/// A Boolean column.
pub fn bools<'a>(batch: &'a RecordBatch, name: &str) -> &'a arrow_array::BooleanArray {
    column(batch, name).as_boolean()
}

pub fn dates<'a>(batch: &'a RecordBatch, name: &str) -> &'a Date32Array {
    column(batch, name).as_primitive()
}

/// A string column in any of its encodings.
#[allow(missing_debug_implementations)]
pub enum Strs<'a> {
    Plain(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    /// Dictionary: the values and one key per row.
    Dict(Box<Strs<'a>>, Vec<usize>, &'a dyn Array),
}

impl<'a> Strs<'a> {
    pub fn of(batch: &'a RecordBatch, name: &str) -> Strs<'a> {
        Self::from_array(column(batch, name).as_ref())
    }

    pub fn from_array(a: &'a dyn Array) -> Strs<'a> {
        match a.data_type() {
            DataType::Utf8 => Strs::Plain(a.as_string::<i32>()),
            DataType::LargeUtf8 => Strs::Large(a.as_string::<i64>()),
            DataType::Utf8View => Strs::View(a.as_string_view()),
            DataType::Dictionary(_, _) => {
                let d = a.as_any_dictionary();
                Strs::Dict(
                    Box::new(Self::from_array(d.values().as_ref())),
                    d.normalized_keys(),
                    a,
                )
            }
            other => panic!("string column checked, found {other}"),
        }
    }

    /// The value of row `i`, `None` when null.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strs::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::View(a) => a.is_valid(i).then(|| a.value(i)),
            Strs::Dict(values, keys, a) => {
                if a.is_valid(i) {
                    values.get(keys[i])
                } else {
                    None
                }
            }
        }
    }
}

/// A timestamp column as microseconds since the epoch, whatever its unit.
#[allow(missing_debug_implementations)]
pub struct Micros<'a> {
    values: &'a dyn Array,
    raw: Vec<i64>,
}

impl<'a> Micros<'a> {
    pub fn of(batch: &'a RecordBatch, name: &str) -> Micros<'a> {
        let a = column(batch, name).as_ref();
        let (raw, scale_num, scale_den): (Vec<i64>, i64, i64) = match a.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => (
                a.as_primitive::<arrow_array::types::TimestampSecondType>()
                    .values()
                    .to_vec(),
                1_000_000,
                1,
            ),
            DataType::Timestamp(TimeUnit::Millisecond, _) => (
                a.as_primitive::<arrow_array::types::TimestampMillisecondType>()
                    .values()
                    .to_vec(),
                1000,
                1,
            ),
            DataType::Timestamp(TimeUnit::Microsecond, _) => (
                a.as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
                1,
                1,
            ),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => (
                a.as_primitive::<arrow_array::types::TimestampNanosecondType>()
                    .values()
                    .to_vec(),
                1,
                1000,
            ),
            other => panic!("timestamp column checked, found {other}"),
        };
        let raw = if scale_num == 1 && scale_den == 1 {
            raw
        } else {
            raw.into_iter()
                .map(|v| v.saturating_mul(scale_num) / scale_den)
                .collect()
        };
        Micros { values: a, raw }
    }

    pub fn get(&self, i: usize) -> Option<i64> {
        self.values.is_valid(i).then(|| self.raw[i])
    }
}
