//! The service's handlers without HTTP, on one core: what `POST /v1/score` and
//! `POST /v1/recommend` cost between the bytes of a request and the bytes of the answer —
//! parsing, checking, features, the models, reasons, the answer's JSON (and for recommend the
//! decision log's two JSON documents). The HTTP side is measured by `benches/service.sh`.
//!
//! `cargo bench -p forbear-benches --bench serve`

use criterion::{Criterion, criterion_group, criterion_main};
use forbear_api::{RecommendRequest, ScoreRequest};
use forbear_serve::{ServeConfig, decide, http::parse_json};
use std::hint::black_box;
use std::path::Path;

// The `forbear` binary's allocator, so the figures are the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench_serve(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let log = tempfile::tempdir().expect("temp dir");
    let mut config = ServeConfig {
        models: root.join("models"),
        dev: true,
        ..ServeConfig::default()
    };
    config.decision_log.dir = log.path().to_path_buf();
    let state = forbear_serve::state(config).expect("service state");
    let snap = state.snapshot();
    let risk = &snap.models["risk"];
    // A features body for the risk model: every feature, numbers and categories.
    let features: serde_json::Map<String, serde_json::Value> = risk
        .bundle
        .spec
        .names()
        .into_iter()
        .map(|n| {
            let v = match n.as_str() {
                "customer_type" => serde_json::json!("consumer"),
                "service_level" => serde_json::json!("standard"),
                "product" => serde_json::json!("mobile"),
                "age_band" => serde_json::json!("25-34"),
                "dpd_now" => serde_json::json!(12),
                _ => serde_json::json!(0.5),
            };
            (n, v)
        })
        .collect();
    let score_body = serde_json::to_vec(&serde_json::json!({
        "account_id": "acct-1", "model": "risk", "features": features
    }))
    .expect("json");
    let account: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/fixtures/account.json")).expect("fixture"),
    )
    .expect("json");
    let facts_body = serde_json::to_vec(&serde_json::json!({"account_id": 7, "account": account}))
        .expect("json");

    c.bench_function("serve/score_features_path_reasons", |b| {
        b.iter(|| {
            let req: ScoreRequest = parse_json(black_box(&score_body)).expect("parse");
            let (r, _) = decide::score(&snap, &req).expect("score");
            serde_json::to_vec(&r).expect("json")
        })
    });
    c.bench_function("serve/score_features_treeshap_reasons", |b| {
        b.iter(|| {
            let mut req: ScoreRequest = parse_json(black_box(&score_body)).expect("parse");
            req.explain = Some(forbear_api::Explain::Treeshap);
            let (r, _) = decide::score(&snap, &req).expect("score");
            serde_json::to_vec(&r).expect("json")
        })
    });
    c.bench_function("serve/score_account_facts", |b| {
        b.iter(|| {
            let req: ScoreRequest = parse_json(black_box(&facts_body)).expect("parse");
            let (r, _) = decide::score(&snap, &req).expect("score");
            serde_json::to_vec(&r).expect("json")
        })
    });
    c.bench_function("serve/recommend_account_facts", |b| {
        b.iter(|| {
            let req: RecommendRequest = parse_json(black_box(&facts_body)).expect("parse");
            // As the route does: the body as received is the logged input.
            let input = std::str::from_utf8(&facts_body).ok();
            decide::recommend(&state, &snap, &req, "bench", input)
                .expect("recommend")
                .json
        })
    });
    state.log.close();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench_serve
}
criterion_main!(benches);
