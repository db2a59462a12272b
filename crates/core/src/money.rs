//! Money: integer minor units with a currency. Never a float.
//!
//! An amount is an `i64` count of the currency's minor unit (cents, pence, yen). Arithmetic is
//! checked: adding two currencies or overflowing 64 bits is an error, not a wrong number.

use crate::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code, three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Pound sterling.
    pub const GBP: Currency = Currency(*b"GBP");
    /// Mexican peso.
    pub const MXN: Currency = Currency(*b"MXN");
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency(*b"JPY");

    /// A code known at compile time (upper-case ASCII letters: checked by the caller's tests).
    pub const fn parse_const(code: [u8; 3]) -> Self {
        Currency(code)
    }

    /// Parses a code such as `"EUR"`; the format is checked, not membership of the ISO list, so
    /// that a new currency needs no release.
    pub fn parse(code: &str) -> Result<Self, CoreError> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([bytes[0], bytes[1], bytes[2]]))
        } else {
            Err(CoreError::InvalidCurrency(code.to_owned()))
        }
    }

    /// The code as a string slice (`'static` for a currency in a `static`).
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Decimal places of the minor unit (2 for most, 0 for JPY and a few others, 3 for some).
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"CLP" | b"ISK" | b"VND" | b"XOF" | b"XAF" | b"UGX" | b"PYG" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"LYD" | b"IQD" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money: minor units and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` units (cents for EUR) of `currency`.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero of a currency.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// Whether the amount is below zero (a credit).
    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), CoreError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(CoreError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: other.currency.to_string(),
            })
        }
    }

    /// `self + other`, failing on different currencies or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(&other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(CoreError::AmountOverflow("addition"))?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self - other`, failing on different currencies or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(&other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(CoreError::AmountOverflow("subtraction"))?;
        Ok(Money::new(minor, self.currency))
    }

    /// The smaller of two amounts of the same currency.
    pub fn min(self, other: Money) -> Result<Money, CoreError> {
        self.same_currency(&other)?;
        Ok(if self.minor <= other.minor {
            self
        } else {
            other
        })
    }
}

impl fmt::Display for Money {
    /// `12.34 EUR`, `1200 JPY`, `-0.05 USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10i64.pow(digits);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let scale_u = scale.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale_u,
            abs % scale_u,
            self.currency,
            width = digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn display_uses_the_minor_unit() {
        assert_eq!(Money::new(1234, Currency::EUR).to_string(), "12.34 EUR");
        assert_eq!(Money::new(-5, Currency::USD).to_string(), "-0.05 USD");
        assert_eq!(Money::new(1200, Currency::JPY).to_string(), "1200 JPY");
        assert_eq!(
            Money::new(1005, Currency::parse("KWD").unwrap()).to_string(),
            "1.005 KWD"
        );
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let err = Money::new(1, Currency::EUR)
            .checked_add(Money::new(1, Currency::USD))
            .unwrap_err();
        assert_eq!(err.to_string(), "currency mismatch: EUR and USD");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(
            Money::new(i64::MAX, Currency::EUR)
                .checked_add(Money::new(1, Currency::EUR))
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let x = Money::new(a, Currency::EUR);
            let y = Money::new(b, Currency::EUR);
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
        }
    }
}
