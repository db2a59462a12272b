//! The one error type of the core: a value that does not parse into a domain type.

/// A value that is not a valid domain value, with what it was and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A string that is not one of a closed set of names (`kind` is the domain type).
    #[error("unknown {kind} {value:?}: expected one of {expected}")]
    UnknownName {
        kind: &'static str,
        value: String,
        expected: &'static str,
    },
    /// An identifier that is not a positive integer.
    #[error("invalid {kind} {value}: ids are positive integers")]
    InvalidId { kind: &'static str, value: i64 },
    /// A currency code that is not three upper-case ASCII letters.
    #[error("invalid currency code {0:?}: expected three upper-case letters (ISO 4217)")]
    InvalidCurrency(String),
    /// Arithmetic on amounts of two different currencies.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch { left: String, right: String },
    /// Arithmetic that does not fit in 64 bits of minor units.
    #[error("amount overflow in {0}")]
    AmountOverflow(&'static str),
    /// A time-zone name that is not in the IANA database.
    #[error("unknown time zone {0:?}: expected an IANA name such as \"Europe/Madrid\"")]
    UnknownTimeZone(String),
    /// A value outside its allowed range.
    #[error("{what} {value} is out of range: {expected}")]
    OutOfRange {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}
