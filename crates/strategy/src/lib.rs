//! Strategy: which contact to make next, if any, and how to know a strategy is better before it
//! goes live.
//!
//! This crate owns the decision layer between the response models and the contact itself:
//! - [`config`]: what contacts cost and are worth, exploration, segments' allowed actions,
//!   capacities and the contact rules (`models/strategy.toml`);
//! - [`facts`]: what the contact rules need, from an account's records;
//! - [`model`]: the response models behind a port ([`ResponseModel`]), and the bundle that
//!   implements it;
//! - [`recommend`]: the next contact for one account, valued against doing nothing;
//! - [`plan`]: a day's contacts across the portfolio under capacities (greedy, and exact for
//!   small instances);
//! - [`ope`]: off-policy evaluation (IPS, self-normalised IPS, doubly robust) with bootstrap
//!   intervals and the effective sample size.
//!
//! It takes the contact rules from `forbear-core`, the response features from `forbear-features`
//! (the definitions training used) and the trees from `forbear-models`; it never sees the
//! simulator. The same code serves the recommender in-process, the service and the strategy lab.

pub mod config;
pub mod facts;
pub mod model;
pub mod ope;
pub mod plan;
pub mod recommend;

pub use config::StrategyConfig;
pub use model::{Prediction, ResponseBundle, ResponseModel};
pub use ope::{Estimate, Logged, OpeConfig, OpeReport};
pub use recommend::{Recommendation, Recommender, Scored, Situation};
