//! The dunning engine as a running process: `forbear engine run`.
//!
//! A worker thread owns one store connection and loops: tick the engine to the clock's now,
//! deliver what the outbox holds that is due ([`delivery`]), reload the scenario file if it
//! changed (a bad file is refused and the old set kept). The HTTP API ([`api`]) has its own
//! connection: event ingestion, an account's timeline and case, agents' manual actions, outbox
//! counts. The clock is the wall clock in production, or a simulated one that runs months in
//! seconds ([`SimulatedClock`]).

pub mod api;
pub mod crm;
pub mod delivery;
pub mod service;

use chrono::{DateTime, Utc};
use forbear_core::Clock;
use forbear_engine::{Engine, ScenarioSet, Store, StoreError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

pub use delivery::{Sender, Webhooks};

/// A clock that starts at a simulated instant and runs `speed` times faster than the wall.
#[derive(Debug, Clone, Copy)]
pub struct SimulatedClock {
    start: DateTime<Utc>,
    real: Instant,
    speed: f64,
}

impl SimulatedClock {
    /// Starts now at `start`, `speed` simulated seconds per real second.
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        SimulatedClock {
            start,
            real: Instant::now(),
            speed: speed.max(0.0),
        }
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        let us = self.real.elapsed().as_secs_f64() * self.speed * 1e6;
        self.start + chrono::Duration::microseconds(us as i64)
    }
}

/// The worker's settings.
pub struct Worker {
    /// The engine.
    pub engine: Engine,
    /// Its store connection.
    pub store: Box<dyn Store>,
    /// Webhook delivery (None: effects stay in the outbox).
    pub sender: Option<Sender>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Pause between rounds.
    pub interval: Duration,
    /// Accounts per transaction.
    pub batch: usize,
    /// The scenario file to watch (None: built-in).
    pub scenarios: Option<PathBuf>,
    /// Stop after the first round in which nothing was due at or after this instant.
    pub until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("engine", &self.engine)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn modified(p: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// What the worker did in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Evaluations.
    pub evaluations: u64,
    /// Effects written to the outbox.
    pub effects: u64,
    /// Effects delivered.
    pub delivered: u64,
    /// Failed delivery attempts.
    pub failed: u64,
}

/// A worker failure.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Delivery could not run.
    #[error(transparent)]
    Delivery(#[from] delivery::DeliveryError),
    /// The runtime for delivery could not start.
    #[error("runtime: {0}")]
    Runtime(String),
}

impl Worker {
    /// Runs until `stop` is set (or `until` is reached and drained).
    pub fn run(mut self, stop: &AtomicBool) -> Result<WorkerReport, WorkerError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| WorkerError::Runtime(e.to_string()))?;
        let mut seen = self.scenarios.as_ref().and_then(modified);
        let mut report = WorkerReport::default();
        while !stop.load(Ordering::SeqCst) {
            let mut now = self.clock.now();
            if let Some(u) = self.until {
                now = now.min(u);
            }
            let s = self
                .engine
                .tick(self.store.as_mut(), now, self.batch, &mut |_| {})?;
            report.evaluations += s.evaluations;
            report.effects += s.effects;
            if s.evaluations > 0 {
                tracing::info!(until = %now, evaluations = s.evaluations, effects = s.effects, opened = s.cases_opened, closed = s.cases_closed, "tick");
            }
            if let Some(sender) = &self.sender {
                let d = sender.drain(&rt, self.store.as_mut(), now)?;
                report.delivered += d.delivered;
                report.failed += d.failed;
            }
            if let Some(path) = &self.scenarios {
                let m = modified(path);
                if m != seen {
                    seen = m;
                    match ScenarioSet::load(path) {
                        Ok(set) => {
                            tracing::info!(version = %set.version, "scenarios reloaded");
                            self.engine.set_scenarios(set);
                        }
                        Err(e) => {
                            tracing::error!("scenario file refused, the previous set stays: {e}")
                        }
                    }
                }
            }
            if self.until.is_some_and(|u| now >= u) {
                let (pending, _, _) = self.store.outbox_counts()?;
                let due_left = self.store.outbox_due(now, 1)?;
                if self.sender.is_none() || due_left.is_empty() {
                    tracing::info!(pending, "reached the end of the run");
                    break;
                }
            }
            std::thread::sleep(self.interval);
        }
        Ok(report)
    }
}

/// A store shared by the API's handlers (one connection, used on the blocking pool).
pub type SharedStore = Arc<Mutex<Box<dyn Store>>>;
