//! The simulator's behaviour is the one designed: tests over a shared simulated portfolio.

mod behaviour;
mod determinism;
mod portfolio;
mod truth;

use forbear_core::AccountId;
use forbear_sim::generate::AccountHistory;
use forbear_sim::{HistoryConfig, simulate_account};
use std::sync::OnceLock;

/// Accounts in the shared portfolio: enough for tight rates, small enough for a debug build.
pub const ACCOUNTS: i64 = 12_000;

pub fn config() -> HistoryConfig {
    HistoryConfig::new(ACCOUNTS as u64, 12, 7)
}

/// The shared portfolio, simulated once per test run.
pub fn histories() -> &'static [AccountHistory] {
    static H: OnceLock<Vec<AccountHistory>> = OnceLock::new();
    H.get_or_init(|| {
        let cfg = config();
        (1..=ACCOUNTS)
            .map(|k| simulate_account(&cfg, AccountId::new(k).unwrap()))
            .collect()
    })
}
