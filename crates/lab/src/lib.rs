//! The strategy lab: strategies judged against the simulator's ground truth.
//!
//! This crate is where the simulator (which knows the truth) and the strategy (which must not)
//! meet, so that a strategy can be measured by what it truly earns:
//! - [`history`]: a simulated account's events as the records features are computed from;
//! - [`engine_bridge`]: the simulator's customers and the dunning engine in one loop;
//! - [`risk`]: the risk model's bands for the lab's engines, as a scoring run would send them;
//! - [`truth_eval`]: the recommender, the logging policy and an oracle valued by the truth at
//!   the logging policy's decisions of a fresh history;
//! - [`oracle`]: that oracle as a recommender the lab's engines can ask, so an arm shows what
//!   the best channel, time and tone of each contact would earn over the whole run.
//!
//! Nothing that trains or serves depends on it.

pub mod arms;
pub mod engine_bridge;
pub mod history;
pub mod oracle;
pub mod report_html;
pub mod risk;
pub mod simulate;
pub mod truth_eval;

pub use truth_eval::{TruthEvalConfig, TruthReport, evaluate_against_truth};
