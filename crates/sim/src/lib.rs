//! A portfolio simulator with a known truth.
//!
//! Customers get latent traits per segment ([`population`]): how regular their income is and when
//! payday falls, hardship shocks, forgetfulness, the main reason they pay late, how they respond
//! to each channel at each hour and to each tone, and how easily they complain or leave. They live
//! day by day ([`customer`]) under the laws in [`behaviour`], which are also what the truth API
//! ([`truth`]) computes from — so the truth is exactly what the simulator does.
//!
//! Two ways to run it:
//! - [`generate`]: history under the logging policy ([`policy`]: static scenarios per segment
//!   with uniform exploration and stored propensities), written as a dataset with its `truth`
//!   table. Deterministic: same seed and arguments, byte-identical files, whatever the threads.
//! - [`portfolio`]: forward, one day at a time, with someone else's actions — what the strategy
//!   lab drives the dunning engine against.
//!
//! Training crates must never depend on this crate: the truth would leak into models. A test in
//! `tests/` checks the dependency graph.

pub mod behaviour;
pub mod customer;
pub mod generate;
pub mod policy;
pub mod population;
pub mod portfolio;
pub mod rng;
pub mod stats;
pub mod truth;

pub use customer::{AccountView, Action, Customer, Event};
pub use generate::{Generated, HistoryConfig, generate, simulate_account};
pub use policy::LoggingPolicy;
pub use population::SegmentMix;
pub use portfolio::Portfolio;
pub use truth::ActionTruth;
