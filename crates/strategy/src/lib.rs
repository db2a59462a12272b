//! Strategy: which contact to make next, if any, and how to know a strategy is better before it
//! goes live.
//!
//! This crate owns the decision layer between the response models and the contact itself:
//! - [`ope`]: off-policy evaluation (IPS, self-normalised IPS, doubly robust) with bootstrap
//!   intervals and the effective sample size.
//!
//! It depends on `forbear-core` only for the domain words and the contact rules; models reach it
//! as numbers, so the same code serves the recommender in-process, the service and the strategy
//! lab.

pub mod ope;

pub use ope::{Estimate, Logged, OpeConfig, OpeReport};
