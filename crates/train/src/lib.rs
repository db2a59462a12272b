//! Training pipelines: data in, evaluated model bundles and model cards out.
//!
//! This crate owns the protocol by which forbear's models are trained and judged — how a table
//! becomes features ([`tabular`]), how rows are split ([`split`]), what is measured on held-out
//! data ([`evaluate`]), and what is written for a reviewer ([`card`]) — so every model, whatever
//! its data, is evaluated the same honest way. It reads data through `forbear-data` and fits with
//! `forbear-models`; it never depends on the simulator (the truth must not leak into models).

pub mod apply;
pub mod card;
pub mod error;
pub mod evaluate;
pub mod planning;
pub mod plots;
pub mod policy_eval;
pub mod policy_tree;
pub mod response;
pub mod risk;
pub mod situations;
pub mod split;
pub mod tabular;
pub mod uplift;

pub use error::TrainError;
pub use risk::{RiskOptions, TrainedRisk, train_risk};
pub use tabular::{TableOptions, TrainedTable, train_table};
