//! In-process scoring throughput from Arrow record batches (issue 3's bar: ≥ 5 million accounts
//! per second per core for the scorecard, ≥ 500,000 for the tree model).
//!
//! The rows are the committed sample's real point-in-time risk features, tiled to 100,000
//! accounts and handed over as an Arrow batch of `Float64` columns, the way the service's bulk
//! endpoint receives them; each iteration views the batch's buffers as columns (no copy; a
//! column with nulls would be copied with NaN for them) and scores every row, on one thread.
//!
//! `cargo bench -p forbear-benches --bench scoring`

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forbear_models::{Columns, Model, Registry};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

const ROWS: usize = 100_000;

/// Columns of a batch of `Float64` arrays: borrowed when they have no nulls, copied (nulls as
/// `NaN`) into `spill` otherwise.
fn batch_columns<'a>(batch: &'a RecordBatch, spill: &'a mut Vec<Vec<f64>>) -> Columns<'a> {
    let arrays: Vec<&Float64Array> = batch
        .columns()
        .iter()
        .map(|c| {
            c.as_any()
                .downcast_ref::<Float64Array>()
                .expect("Float64 column")
        })
        .collect();
    *spill = arrays
        .iter()
        .filter(|a| a.null_count() > 0)
        .map(|a| {
            (0..a.len())
                .map(|i| if a.is_valid(i) { a.value(i) } else { f64::NAN })
                .collect()
        })
        .collect();
    let mut spilled = spill.iter();
    let cols = arrays
        .iter()
        .map(|a| {
            if a.null_count() == 0 {
                &a.values()[..]
            } else {
                spilled.next().map_or(&[][..], Vec::as_slice)
            }
        })
        .collect();
    Columns::new(cols).expect("columns of one batch")
}

fn bench_scoring(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (_, bundle) = Registry::new(root.join("models"))
        .load_current("risk")
        .expect("the committed risk bundle");
    let ds = forbear_data::open_validated(&root.join("notebooks-data/sample")).expect("sample");
    let (accounts, last) = forbear_train::risk::load_accounts(&ds).expect("load");
    let ex = forbear_train::risk::examples(&accounts, last, &forbear_train::RiskOptions::default());
    let x = &ex.prepared.x;
    let index: Vec<usize> = (0..ROWS).map(|i| i % x.rows()).collect();
    let tiled = x.take(&index);
    let columns: Vec<ArrayRef> = (0..tiled.features())
        .map(|f| Arc::new(Float64Array::from(tiled.column(f).to_vec())) as ArrayRef)
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(
        tiled
            .names()
            .iter()
            .map(|n| arrow_schema::Field::new(n, arrow_schema::DataType::Float64, true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema, columns).expect("batch");
    let mut g = c.benchmark_group("score from an Arrow batch, one thread");
    g.throughput(Throughput::Elements(ROWS as u64));
    for kind in ["scorecard", "gbm"] {
        let model: &Model = bundle
            .models
            .iter()
            .find(|m| m.kind() == kind)
            .expect("model kind");
        g.bench_function(format!("{kind}, 100k accounts"), |b| {
            let mut spill = Vec::new();
            b.iter(|| {
                let cols = batch_columns(black_box(&batch), &mut spill);
                black_box(model.predict_columns(&cols).expect("score"))
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench_scoring);
criterion_main!(benches);
