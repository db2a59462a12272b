//! The domain of customer-centric collections, as plain types.
//!
//! This crate owns the words the rest of forbear speaks: account and invoice ids, [`Money`] in
//! integer minor units with its [`Currency`], days past due and their buckets, contact
//! [`Channel`]s, [`SendWindow`]s in the customer's local time, [`Tone`]s, the segment attributes a
//! scenario is chosen by, and the contact rules of `PRODUCT.md` ([`rules`]) that every outbound
//! action must pass.
//!
//! It does no I/O and has no async: every other crate depends on it, so it must stay cheap to build
//! and easy to test. Types have private fields and parsing constructors, so a value that exists is
//! a valid one; errors say which value was wrong and why.

pub mod action;
pub mod clock;
pub mod dpd;
pub mod error;
pub mod ids;
pub mod money;
mod names;
pub mod rng;
pub mod rules;
pub mod segment;
pub mod zone;

pub use action::{Channel, ContactAction, SendWindow, Tone};
pub use clock::{Clock, FixedClock, SystemClock};
pub use dpd::{DaysPastDue, DpdBucket};
pub use error::CoreError;
pub use ids::{AccountId, ContactId, DisputeId, InvoiceId, PaymentId, PromiseId, ServiceId};
pub use money::{Currency, Money};
pub use rng::Rng;
pub use segment::{AgeBand, CustomerType, Product, Segment, ServiceLevel, SubscriptionType};
pub use zone::TimeZone;
