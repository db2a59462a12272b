//! Generation cost per 10,000 accounts (12 months of history), in memory and to Parquet.
//!
//! `cargo bench -p forbear-benches --bench generate`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forbear_sim::{HistoryConfig, generate, generate::generate_chunk};
use std::hint::black_box;

fn bench_generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    let cfg = HistoryConfig::new(10_000, 12, 42);
    g.bench_function("simulate 10k accounts x 12 months, one thread", |b| {
        b.iter(|| black_box(generate_chunk(&cfg, 0, 10_000)));
    });
    g.bench_function(
        "generate 10k accounts x 12 months to parquet, all cores",
        |b| {
            b.iter(|| {
                let dir = tempfile::tempdir().expect("temp dir");
                black_box(generate(&cfg, dir.path(), false, &|_| {}).expect("generate"));
            });
        },
    );
    g.finish();
}

criterion_group!(benches, bench_generate);
criterion_main!(benches);
