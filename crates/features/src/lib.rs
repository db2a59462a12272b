//! Point-in-time features of an account's payment history — delinquency risk ([`risk`]) and
//! channel response ([`response`]): the one definition training and serving share.
//!
//! An [`AccountHistory`] holds what a collections system knows of one account — its attributes,
//! bills, payments, contacts, promises and disputes, each with the date it became known. The
//! features at a date ([`RiskFeatures::at`]) are computed from records known on or before that
//! date only: a payment reversed later still counts as paid, a promise is broken only once its
//! grace period has passed, a dispute is resolved only from its resolution date. A test proves
//! it: changing or removing any record dated after the snapshot leaves the features unchanged.
//!
//! This crate reads no files (the data contract's loader lives in `forbear-data`'s readers and
//! the training pipeline) and never sees the simulator's truth.

pub mod history;
pub mod response;
pub mod risk;

pub use history::{
    AccountFacts, AccountHistory, BillRecord, ContactRecord, DisputeRecord, PaymentRecord,
    PromiseRecord,
};
pub use response::{RESPONSE_FEATURE_COUNT, ResponseState, response_features};
pub use risk::{DpdSeries, RISK_FEATURES, RiskFeatures, label_reaches_dpd};
