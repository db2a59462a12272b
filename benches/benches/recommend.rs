//! One recommendation in-process on one core (issue 4's bar: ≤ 20 µs with every action scored
//! and the rules applied), and the planner's allocation of a large day.
//!
//! The account states are real: the committed sample's accounts on the last day of their
//! history, with the committed response bundle (`models/response`, current version) and the
//! shipped strategy configuration. Each iteration recommends for the next overdue account
//! (candidates through the contact rules, every option scored, valued, ranked).
//!
//! `cargo bench -p forbear-benches --bench recommend`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forbear_strategy::config::ExplorationMode;
use forbear_strategy::plan::{PlanOption, Usage, greedy};
use forbear_strategy::recommend::{Recommender, Scratch};
use forbear_strategy::{ResponseBundle, StrategyConfig};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

fn bench_recommend(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let reg = forbear_models::Registry::new(root.join("models"));
    let version = reg
        .current("response")
        .expect("registry")
        .expect("a current response bundle");
    let model = ResponseBundle::load(&root.join("models/response").join(version)).expect("bundle");
    let mut config = StrategyConfig::default();
    config.exploration.mode = ExplorationMode::Epsilon;
    let rec = Recommender::new(config, Arc::new(model));
    let ds = forbear_data::open_validated(&root.join("notebooks-data/sample")).expect("sample");
    let (accounts, last) = forbear_train::risk::load_accounts(&ds).expect("load");
    let days: Vec<_> = accounts
        .iter()
        .filter_map(|a| forbear_train::situations::account_day(a, last, None))
        .filter(|d| d.state.risk("dpd_now").is_some_and(|v| v > 0.0))
        .collect();
    assert!(!days.is_empty(), "overdue accounts in the sample");
    let options: usize = days
        .iter()
        .map(|d| rec.recommend(&d.situation()).ranked.len())
        .sum();
    eprintln!(
        "{} overdue accounts, {:.1} options each on average",
        days.len(),
        options as f64 / days.len() as f64
    );
    let mut g = c.benchmark_group("recommend, one thread");
    g.throughput(Throughput::Elements(1));
    let mut scratch = Scratch::default();
    let mut k = 0;
    g.bench_function("one overdue account", |b| {
        b.iter(|| {
            k = (k + 1) % days.len();
            black_box(rec.recommend_with(&days[k].situation(), &mut scratch))
        })
    });
    g.finish();

    // The planner alone on a million accounts' options (drawn like real ones: SMS, e-mail,
    // calls and letters with their costs), capacities binding.
    let mut rng = forbear_core::Rng::new(1, 2);
    let opts: Vec<Vec<PlanOption>> = (0..1_000_000)
        .map(|_| {
            (0..1 + rng.below(8))
                .map(|_| {
                    let kind = rng.below(4);
                    PlanOption {
                        value: rng.uniform(-20.0, 400.0),
                        usage: Usage {
                            calls: u64::from(kind == 0),
                            letters: u64::from(kind == 1),
                            cost: [250.0, 90.0, 5.0, 1.0][kind as usize],
                        },
                    }
                })
                .collect()
        })
        .collect();
    let cap = forbear_strategy::config::Capacity {
        agent_calls: 20_000,
        letters: 50_000,
        budget: 5_000_000,
    };
    let mut g = c.benchmark_group("plan, one thread");
    g.sample_size(10);
    g.throughput(Throughput::Elements(opts.len() as u64));
    g.bench_function("allocate 1,000,000 accounts", |b| {
        b.iter(|| black_box(greedy(&opts, &cap)))
    });
    g.finish();
}

criterion_group!(benches, bench_recommend);
criterion_main!(benches);
