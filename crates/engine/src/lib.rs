//! The dunning engine: scenarios per segment that act on the recommendations, obey the contact
//! rules, and undo themselves when the customer pays.
//!
//! Everything about an account is an [`event::Event`] in its log; its state is the fold of that
//! log ([`state::AccountState::replay`]), so the same events give the same state in any order and
//! any number of repeats, and replaying the log rebuilds it exactly. [`decide::decide`] is pure:
//! state, scenarios ([`scenario`]), contact rules and a time in; new events, outbox
//! [`effect::Effect`]s and the next wake-up out. Every contact and measure passes through the
//! outbound [`gate`], which asks `forbear_core::rules` — the same rules the recommender and the
//! simulator obey. [`engine::Engine`] drives evaluations through the [`port::Store`] port (SQLite
//! and PostgreSQL in `forbear-store`) and asks a [`port::Recommender`] (a rule of thumb, the
//! strategy crate in process, or the service over HTTP) for channel, time and tone.
//!
//! No I/O here: the crate is the domain of dunning, testable without a database.

pub mod action;
pub mod casefile;
pub mod compare;
pub mod decide;
pub mod desk;
pub mod effect;
pub mod engine;
pub mod event;
pub mod gate;
pub mod memory;
pub mod policy;
pub mod port;
pub mod recommend;
pub mod report;
pub mod request;
pub mod scenario;
pub mod state;
pub mod template;
pub mod timeline;
pub mod view;

pub use action::{ActionKind, Barring, Measure};
pub use decide::{Context, Decision, decide};
pub use effect::{Effect, OutboxItem, Target};
pub use engine::{Engine, TickSummary};
pub use event::{Event, EventBody, EventId, RiskBand};
pub use memory::MemoryStore;
pub use port::{Claimed, IngestSummary, Outcome, Recommender, RuleOfThumb, Store, StoreError};
pub use scenario::{ScenarioError, ScenarioSet};
pub use state::AccountState;
pub use template::Templates;
