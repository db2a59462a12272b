//! Identifiers: positive 64-bit integers, one type per kind so they cannot be mixed up.
//!
//! Ids are `i64` rather than `u64` because that is what Parquet, Arrow, pandas and SQL databases
//! hold without surprises; zero and negative values are rejected at the edge.

use crate::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// Parses a raw id; only positive values are ids.
            pub fn new(raw: i64) -> Result<Self, CoreError> {
                if raw > 0 {
                    Ok(Self(raw))
                } else {
                    Err(CoreError::InvalidId { kind: $kind, value: raw })
                }
            }

            /// The raw integer, as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = CoreError;
            fn try_from(raw: i64) -> Result<Self, CoreError> {
                Self::new(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A customer account (the party that is billed).
    AccountId,
    "account id"
);
id_type!(
    /// A subscription or service on an account; barring acts on one of these, not on the account.
    ServiceId,
    "service id"
);
id_type!(
    /// An invoice (a bill for one service and one billing period).
    InvoiceId,
    "invoice id"
);
id_type!(
    /// A payment received (or reversed).
    PaymentId,
    "payment id"
);
id_type!(
    /// One outbound dunning contact.
    ContactId,
    "contact id"
);
id_type!(
    /// A dispute raised on an invoice.
    DisputeId,
    "dispute id"
);
id_type!(
    /// A promise to pay.
    PromiseId,
    "promise id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(AccountId::new(1).is_ok());
        let err = AccountId::new(0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid account id 0: ids are positive integers"
        );
        assert!(InvoiceId::new(-5).is_err());
    }

    #[test]
    fn ids_round_trip_through_serde_and_reject_bad_values() {
        let id: AccountId = serde_json::from_str("42").unwrap();
        assert_eq!(id.get(), 42);
        assert!(serde_json::from_str::<AccountId>("0").is_err());
    }
}
