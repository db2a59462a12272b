//! How one Rust field type becomes one Arrow column: its type, nullability and builder.
//!
//! The table declarations in [`crate::tables`] name plain Rust types; this trait is what turns
//! them into schemas and builders, so a column's type is written down exactly once.

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::borrow::Cow;
use std::sync::Arc;

/// Text in a row: static for the closed sets of names (channels, tones), owned otherwise.
pub type Text = Cow<'static, str>;

/// The time zone Arrow timestamps in UTC carry.
pub const UTC: &str = "UTC";

const EPOCH_DAYS_CE: i32 = 719_163;

/// Days since 1970-01-01, as Arrow's `Date32` holds them.
pub fn date_to_days(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - EPOCH_DAYS_CE
}

/// The date of an Arrow `Date32` value.
pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_CE)?)
}

/// A Rust value that fills one Arrow column.
pub trait Cell: Sized + Clone {
    /// The Arrow builder of the column.
    type Builder;
    /// Whether the column may hold nulls.
    const NULLABLE: bool;
    /// The column's Arrow type.
    fn data_type() -> DataType;
    /// A builder with room for `capacity` values.
    fn builder(capacity: usize) -> Self::Builder;
    /// Appends one value.
    fn push(builder: &mut Self::Builder, value: Self);
    /// Appends one value held elsewhere (texts are copied into the column, not cloned first).
    fn push_ref(builder: &mut Self::Builder, value: &Self) {
        Self::push(builder, value.clone());
    }
    /// Finishes the column.
    fn finish(builder: &mut Self::Builder) -> ArrayRef;
}

macro_rules! plain_cell {
    ($ty:ty, $builder:ty, $dt:expr, |$b:ident, $v:ident| $push:expr) => {
        impl Cell for $ty {
            type Builder = $builder;
            const NULLABLE: bool = false;
            fn data_type() -> DataType {
                $dt
            }
            fn builder(capacity: usize) -> $builder {
                <$builder>::with_capacity(capacity)
            }
            fn push($b: &mut $builder, $v: $ty) {
                $push
            }
            fn finish(b: &mut $builder) -> ArrayRef {
                Arc::new(b.finish())
            }
        }

        impl Cell for Option<$ty> {
            type Builder = $builder;
            const NULLABLE: bool = true;
            fn data_type() -> DataType {
                $dt
            }
            fn builder(capacity: usize) -> $builder {
                <$builder>::with_capacity(capacity)
            }
            fn push(b: &mut $builder, v: Option<$ty>) {
                match v {
                    Some(v) => <$ty as Cell>::push(b, v),
                    None => b.append_null(),
                }
            }
            fn finish(b: &mut $builder) -> ArrayRef {
                Arc::new(b.finish())
            }
        }
    };
}

plain_cell!(i64, Int64Builder, DataType::Int64, |b, v| b.append_value(v));
plain_cell!(i32, Int32Builder, DataType::Int32, |b, v| b.append_value(v));
plain_cell!(f64, Float64Builder, DataType::Float64, |b, v| b
    .append_value(v));
plain_cell!(bool, BooleanBuilder, DataType::Boolean, |b, v| b
    .append_value(v));
plain_cell!(NaiveDate, Date32Builder, DataType::Date32, |b, v| b
    .append_value(date_to_days(v)));

/// String cells need a capacity for their bytes too, so they are written out by hand.
impl Cell for Text {
    type Builder = StringBuilder;
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn builder(capacity: usize) -> StringBuilder {
        StringBuilder::with_capacity(capacity, capacity * 8)
    }
    fn push(b: &mut StringBuilder, v: Text) {
        Self::push_ref(b, &v);
    }
    fn push_ref(b: &mut StringBuilder, v: &Text) {
        b.append_value(v.as_ref());
    }
    fn finish(b: &mut StringBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
}

impl Cell for Option<Text> {
    type Builder = StringBuilder;
    const NULLABLE: bool = true;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn builder(capacity: usize) -> StringBuilder {
        StringBuilder::with_capacity(capacity, capacity * 8)
    }
    fn push(b: &mut StringBuilder, v: Option<Text>) {
        Self::push_ref(b, &v);
    }
    fn push_ref(b: &mut StringBuilder, v: &Option<Text>) {
        match v {
            Some(v) => b.append_value(v.as_ref()),
            None => b.append_null(),
        }
    }
    fn finish(b: &mut StringBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
}

/// An instant, stored as microseconds since the epoch in UTC.
impl Cell for DateTime<Utc> {
    type Builder = TimestampMicrosecondBuilder;
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
    }
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(UTC)
    }
    fn push(b: &mut TimestampMicrosecondBuilder, v: DateTime<Utc>) {
        b.append_value(v.timestamp_micros());
    }
    fn finish(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
}

/// An instant that may be absent.
impl Cell for Option<DateTime<Utc>> {
    type Builder = TimestampMicrosecondBuilder;
    const NULLABLE: bool = true;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
    }
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(UTC)
    }
    fn push(b: &mut TimestampMicrosecondBuilder, v: Option<DateTime<Utc>>) {
        b.append_option(v.map(|v| v.timestamp_micros()));
    }
    fn finish(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
}

/// A wall-clock time with no zone (the customer's local time), as microseconds.
impl Cell for NaiveDateTime {
    type Builder = TimestampMicrosecondBuilder;
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    }
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity)
    }
    fn push(b: &mut TimestampMicrosecondBuilder, v: NaiveDateTime) {
        b.append_value(v.and_utc().timestamp_micros());
    }
    fn finish(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
        Arc::new(b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_days() {
        let d = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(date_to_days(d), 0);
        let d = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(days_to_date(date_to_days(d)), Some(d));
    }
}
