//! Prints the realism statistics of a simulated portfolio against their target ranges.
//! `cargo run -p forbear-sim --release --example realism -- 20000`
use forbear_core::AccountId;
use forbear_sim::stats::PortfolioStats;
use forbear_sim::{HistoryConfig, simulate_account};

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let cfg = HistoryConfig::new(n as u64, 12, 42);
    let mut stats = PortfolioStats::default();
    for k in 1..=n {
        if let Ok(id) = AccountId::new(k) {
            stats.add(&simulate_account(&cfg, id));
        }
    }
    print!("{stats}");
}
