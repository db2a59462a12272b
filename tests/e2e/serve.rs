//! The inference service end to end: spawned on port 0 over a copy of the committed registry,
//! called through the typed client and raw HTTP — every endpoint, auth and roles, limits,
//! reloads (good, broken, under load), malformed input of every kind, and the OpenAPI document
//! against the routes.

use forbear_api::{
    AccountRef, AccountState, EligibilityRequest, FeatureValue, Features, ItemResult,
    RecommendRequest, ScoreRequest,
};
use forbear_client::Client;
use forbear_serve::{ApiKey, Role, ServeConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ADMIN: &str = "fbk_test_admin_0123456789";
const SCORER: &str = "fbk_test_score_0123456789";

struct Service {
    rt: tokio::runtime::Runtime,
    running: Option<forbear_serve::Running>,
    base: String,
    dir: tempfile::TempDir,
}

impl Service {
    fn models(&self) -> PathBuf {
        self.dir.path().join("models")
    }

    fn client(&self, key: Option<&str>) -> Client {
        Client::new(&self.base, key.map(str::to_owned)).unwrap()
    }

    fn raw(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The Prometheus text of `/metrics`.
    fn metrics(&self) -> String {
        self.block(async {
            reqwest::get(format!("{}/metrics", self.base))
                .await?
                .text()
                .await
        })
        .unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.rt.block_on(r.shutdown());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn start(tune: impl FnOnce(&mut ServeConfig)) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    copy_dir(&crate::root().join("models"), &models);
    let mut config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        models,
        api_keys: vec![
            ApiKey {
                name: "ops".into(),
                role: Role::Admin,
                sha256: forbear_serve::hash_key(ADMIN),
            },
            ApiKey {
                name: "engine".into(),
                role: Role::Score,
                sha256: forbear_serve::hash_key(SCORER),
            },
        ],
        ..ServeConfig::default()
    };
    config.decision_log.dir = dir.path().join("decisions");
    tune(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = forbear_serve::state(config).unwrap();
    let running = rt.block_on(forbear_serve::spawn(state)).unwrap();
    let base = format!("http://{}", running.addr);
    Service {
        rt,
        running: Some(running),
        base,
        dir,
    }
}

fn account() -> AccountState {
    let text = std::fs::read_to_string(crate::root().join("tests/fixtures/account.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn risk_features(c: &Client, rt: &Service) -> Features {
    // Every feature of the risk model, as numbers (categories by their code's name).
    let models = rt.block(c.models()).unwrap();
    let risk = models.models.iter().find(|m| m.name == "risk").unwrap();
    risk.features
        .iter()
        .map(|f| {
            let v = match f.as_str() {
                "customer_type" => FeatureValue::Text("consumer".into()),
                "service_level" => FeatureValue::Text("standard".into()),
                "product" => FeatureValue::Text("mobile".into()),
                "age_band" => FeatureValue::Null,
                "dpd_now" => FeatureValue::Number(35.0),
                _ => FeatureValue::Number(1.0),
            };
            (f.clone(), v)
        })
        .collect()
}

#[test]
fn every_endpoint_answers_through_the_typed_client() {
    let svc = start(|_| {});
    let c = svc.client(Some(SCORER));
    assert_eq!(svc.block(c.health()).unwrap().status, "ok");
    assert_eq!(svc.block(c.ready()).unwrap().status, "ok");
    let models = svc.block(c.models()).unwrap();
    let names: Vec<&str> = models.models.iter().map(|m| m.name.as_str()).collect();
    assert!(
        names.contains(&"risk") && names.contains(&"response"),
        "{names:?}"
    );

    // Score from facts and from features; both give a probability, a band and reasons.
    let from_facts = svc
        .block(c.score(&ScoreRequest {
            account_id: Some(AccountRef("7".into())),
            account: Some(account()),
            ..ScoreRequest::default()
        }))
        .unwrap();
    assert!((0.0..=1.0).contains(&from_facts.probability));
    assert_eq!(from_facts.reasons.len(), 4);
    assert_eq!(from_facts.model_version, "v1-sample");
    let features = risk_features(&c, &svc);
    let from_features = svc
        .block(c.score(&ScoreRequest {
            features: Some(features.clone()),
            reasons: Some(2),
            ..ScoreRequest::default()
        }))
        .unwrap();
    assert_eq!(from_features.reasons.len(), 2);
    // Overdue 35 days against 1: a higher probability means a lower score.
    let mut calm = features.clone();
    calm.insert("dpd_now", FeatureValue::Number(0.0));
    let calm = svc
        .block(c.score(&ScoreRequest {
            features: Some(calm),
            ..ScoreRequest::default()
        }))
        .unwrap();
    assert!(calm.probability < from_features.probability);
    assert!(calm.score > from_features.score);

    // Recommend: an action with local and UTC send times 1 h apart in Madrid in November.
    let rec = svc
        .block(c.recommend(&RecommendRequest {
            account_id: AccountRef("7".into()),
            account: account(),
            not_before: None,
            alternatives: Some(3),
        }))
        .unwrap();
    assert!(rec.alternatives.len() <= 3);
    assert!(rec.propensity > 0.0 && rec.propensity <= 1.0);
    if let Some(a) = &rec.action {
        assert_eq!(
            a.send_at_local - a.send_at_utc.naive_utc(),
            chrono::Duration::hours(1)
        );
        assert!(a.template.starts_with(a.channel.as_str()));
    }
    assert!(rec.model_versions.contains_key("response"));

    // Eligibility: a decision with at most four reasons, logged and retrievable.
    let e = svc
        .block(c.eligibility(&EligibilityRequest {
            account_id: AccountRef("a-7".into()),
            account: Some(account()),
            ..EligibilityRequest::default()
        }))
        .unwrap();
    assert!(["postpaid", "prepaid", "refer"].contains(&e.decision.as_str()));
    assert!(e.reasons.len() <= 4 && !e.reasons.is_empty());
    let logged = svc.block(c.decision(&e.decision_id)).unwrap();
    assert_eq!(logged.kind, "eligibility");
    assert_eq!(logged.output["decision"], e.decision.as_str());
    assert_eq!(logged.input["account_id"], "a-7");
    assert_eq!(logged.rules, vec![e.rule.clone()]);
    let logged = svc.block(c.decision(&rec.decision_id)).unwrap();
    assert_eq!(logged.kind, "recommend");
    assert!((logged.propensity - rec.propensity).abs() < 1e-12);
    // The input is the request as sent (its body, logged as received).
    assert_eq!(logged.input["account_id"], "7");
    assert_eq!(logged.input["alternatives"], 3);
    assert_eq!(logged.input["account"]["customer_type"], "consumer");
    let missing = svc.block(c.decision("d-nope")).unwrap_err();
    assert_eq!(missing.problem().unwrap().status, 404);

    // Batches answer item by item; a bad item names its index.
    let mut bad = account();
    bad.bills[1].amount_minor = -1;
    let results = svc
        .block(c.recommend_batch(vec![
            RecommendRequest {
                account_id: AccountRef("1".into()),
                account: account(),
                not_before: None,
                alternatives: None,
            },
            RecommendRequest {
                account_id: AccountRef("2".into()),
                account: bad,
                not_before: None,
                alternatives: None,
            },
        ]))
        .unwrap();
    assert!(matches!(results[0], ItemResult::Ok(_)));
    match &results[1] {
        ItemResult::Error(p) => {
            assert_eq!(p.errors[0].field, "items[1].account.bills[1].amount_minor")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let scores = svc
        .block(c.score_batch(vec![ScoreRequest {
            account: Some(account()),
            ..ScoreRequest::default()
        }]))
        .unwrap();
    assert!(matches!(scores[0], ItemResult::Ok(_)));
    let elig = svc
        .block(c.eligibility_batch(vec![EligibilityRequest {
            account_id: AccountRef("9".into()),
            features: Some(features),
            tenure_months: Some(1.0),
            ..EligibilityRequest::default()
        }]))
        .unwrap();
    match &elig[0] {
        ItemResult::Ok(r) => assert_eq!(r.decision, "refer", "thin file: {}", r.rule),
        other => panic!("{other:?}"),
    }

    // Metrics count what happened, per endpoint and model version.
    let metrics = svc.metrics();
    assert!(metrics.contains(
        "forbear_request_duration_seconds_count{endpoint=\"/v1/score\",model_version=\"v1-sample\"} 3"
    ), "{metrics}");
    assert!(metrics.contains("forbear_decisions_total{kind=\"eligibility\""));
}

#[test]
fn arrow_bulk_scoring_round_trips() {
    use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    let svc = start(|_| {});
    let c = svc.client(Some(SCORER));
    let models = svc.block(c.models()).unwrap();
    let risk = models.models.iter().find(|m| m.name == "risk").unwrap();
    let n = 1000;
    let mut fields = vec![Field::new("account_id", DataType::Utf8, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("acc-{i}")),
    ))];
    for f in &risk.features {
        match f.as_str() {
            "customer_type" | "service_level" | "product" | "age_band" => {
                fields.push(Field::new(f, DataType::Utf8, true));
                cols.push(Arc::new(StringArray::from(vec![None::<&str>; n])));
            }
            _ => {
                fields.push(Field::new(f, DataType::Float64, false));
                cols.push(Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| (i % 40) as f64),
                )));
            }
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
    // Two batches: the whole one, then its last 10 rows again.
    w.write(&batch).unwrap();
    w.write(&batch.slice(n - 10, 10)).unwrap();
    w.finish().unwrap();
    let body = w.into_inner().unwrap();
    let out = svc.block(c.score_arrow("risk", body.clone())).unwrap();
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(out), None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, n + 10);
    let probability = |b: &RecordBatch| {
        b.column_by_name("probability")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .values()
            .to_vec()
    };
    // The last ten rows scored alone (walked) as in the big batch (laid out for QuickScorer).
    // (the same leaves; the sums' order differs by rounding only).
    let (alone, within) = (probability(&batches[1]), probability(&batches[0]));
    for (a, b) in alone.iter().zip(&within[n - 10..]) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // A stream cut short is refused and says so; nothing is answered for the part received.
    let e = svc
        .block(c.score_arrow("risk", body[..body.len() - 100].to_vec()))
        .unwrap_err();
    let p = e.problem().unwrap();
    assert_eq!(p.status, 422, "{p:?}");
    assert!(p.detail.contains("cut short"), "{p:?}");
    // A stream longer than max_arrow_bytes is refused while it arrives.
    let small = start(|c| c.max_arrow_bytes = 10_000);
    let e = small
        .block(small.client(Some(SCORER)).score_arrow("risk", body.clone()))
        .unwrap_err();
    assert_eq!(e.problem().unwrap().status, 413);
    let b = &batches[0];
    let ids = b.column_by_name("account_id").unwrap();
    assert_eq!(ids.len(), b.num_rows());
    let p = b
        .column_by_name("probability")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!(p.values().iter().all(|v| (0.0..=1.0).contains(v)));
    // The same row scored as JSON gives the same probability.
    let mut features = Features::default();
    for f in &risk.features {
        let v = match f.as_str() {
            "customer_type" | "service_level" | "product" | "age_band" => FeatureValue::Null,
            _ => FeatureValue::Number(7.0),
        };
        features.insert(f.clone(), v);
    }
    let one = svc
        .block(c.score(&ScoreRequest {
            features: Some(features),
            ..ScoreRequest::default()
        }))
        .unwrap();
    assert!((one.probability - p.value(7)).abs() < 1e-12);
    // A stream without a feature column is refused, naming it.
    let e = svc
        .block(c.score_arrow("risk", b"not arrow".to_vec()))
        .unwrap_err();
    assert_eq!(e.problem().unwrap().status, 422);
}

fn status(svc: &Service, method: reqwest::Method, path: &str, key: Option<&str>) -> u16 {
    svc.block(async {
        let mut b = svc
            .raw()
            .request(method, format!("{}{path}", svc.base))
            .header("content-type", "application/json")
            .body("{}");
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        b.send().await.unwrap().status().as_u16()
    })
}

#[test]
fn keys_and_roles_are_enforced() {
    let svc = start(|_| {});
    use reqwest::Method;
    assert_eq!(status(&svc, Method::GET, "/v1/models", None), 401);
    assert_eq!(
        status(&svc, Method::GET, "/v1/models", Some("fbk_wrong")),
        401
    );
    assert_eq!(status(&svc, Method::GET, "/v1/models", Some(SCORER)), 200);
    assert_eq!(
        status(&svc, Method::POST, "/v1/models/reload", Some(SCORER)),
        403
    );
    assert_eq!(
        status(&svc, Method::POST, "/v1/models/reload", Some(ADMIN)),
        200
    );
    assert_eq!(status(&svc, Method::GET, "/v1/models", Some(ADMIN)), 200);
    for open in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(status(&svc, Method::GET, open, None), 200, "{open}");
    }
    // The typed client's refusal carries the problem.
    let e = svc.block(svc.client(Some(SCORER)).reload()).unwrap_err();
    assert_eq!(e.problem().unwrap().status, 403);
}

#[test]
fn keys_never_reach_the_logs() {
    // The binary as deployed: keys from the environment, a request with a wrong key and with
    // the right one; the log must name the holder, never the key.
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = std::process::Command::new(crate::forbear_bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--models",
        ])
        .arg(crate::root().join("models"))
        .env("RUST_LOG", "debug")
        .env(
            "FORBEAR_API_KEYS",
            format!("engine:score:{}", forbear_serve::hash_key(SCORER)),
        )
        .env("FORBEAR_DECISION_LOG_DIR", dir.path().join("decisions"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        let c = reqwest::Client::new();
        for _ in 0..200 {
            if c.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let wrong = c
            .get(format!("{base}/v1/models"))
            .header("x-api-key", "fbk_not_a_key_9876")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 401);
        let right = c
            .get(format!("{base}/v1/models"))
            .header("x-api-key", SCORER)
            .send()
            .await
            .unwrap();
        assert_eq!(right.status().as_u16(), 200);
    });
    // SIGHUP reloads the models (nothing changed: no version moves, but a reload is logged).
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SIGTERM: a graceful stop.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("decision log flushed"), "{log}");
    assert!(
        log.contains("SIGHUP: reloading models") && log.contains("models reloaded"),
        "{log}"
    );
    assert!(
        !log.contains(SCORER) && !log.contains("fbk_not_a_key_9876"),
        "{log}"
    );
    assert!(!log.contains(&forbear_serve::hash_key(SCORER)), "{log}");
}

async fn post_raw(base: &str, path: &str, ct: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", ct)
        .header("x-api-key", SCORER)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = r.bytes().await.unwrap();
    if s >= 400 {
        assert_eq!(ct, "application/problem+json", "status {s}: {bytes:?}");
    }
    (
        s,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn limits_and_bad_input_get_named_problems() {
    let svc = start(|c| {
        c.max_batch = 3;
        c.max_body_bytes = 64 * 1024;
    });
    let acc = serde_json::to_value(account()).unwrap();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("/v1/score", "text/plain", b"{}".to_vec(), 415, ""),
        (
            "/v1/score",
            "application/json",
            b"{\"features\": {".to_vec(),
            400,
            "",
        ),
        (
            "/v1/score",
            "application/json",
            b"{\"features\": {\"dpd_now\": NaN}}".to_vec(),
            400,
            "",
        ),
        (
            "/v1/score",
            "application/json",
            serde_json::to_vec(&serde_json::json!({"model": "nope", "features": {}})).unwrap(),
            422,
            "model",
        ),
        (
            "/v1/score",
            "application/json",
            serde_json::to_vec(&serde_json::json!({"features": {"dpd_now": "lots"}})).unwrap(),
            422,
            "features.dpd_now",
        ),
        (
            "/v1/score",
            "application/json",
            b"{\"features\": {\"dpd_now\": 1, \"dpd_now\": 2}}".to_vec(),
            422,
            "features.dpd_now",
        ),
    ];
    for (path, ct, body, want, field) in cases {
        let (s, p) = svc.block(post_raw(&svc.base, path, ct, body));
        assert_eq!(s, want, "{path}: {p}");
        if !field.is_empty() {
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
    }
    let edit = |k: &str, v: serde_json::Value| {
        let mut a = acc.clone();
        a[k] = v;
        serde_json::to_vec(&serde_json::json!({"account_id": 1, "account": a})).unwrap()
    };
    let named = [
        (
            edit("time_zone", serde_json::json!("Europe/Atlantis")),
            "account.time_zone",
        ),
        (
            edit("balance_minor", serde_json::json!(-100)),
            "account.balance_minor",
        ),
        (
            edit(
                "contacts",
                serde_json::json!([{"sent_at": "2026-11-01T10:00:00Z", "channel": "pigeon", "tone": "firm"}]),
            ),
            "account.contacts[0].channel",
        ),
        (
            edit("currency", serde_json::json!("euro")),
            "account.currency",
        ),
        (
            edit("as_of", serde_json::json!("2026-02-30")),
            "account.as_of",
        ),
    ];
    for (body, field) in named {
        let (s, p) = svc.block(post_raw(
            &svc.base,
            "/v1/recommend",
            "application/json",
            body,
        ));
        assert_eq!(s, 422, "{p}");
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    // Too many items; too large a body.
    let items: Vec<_> = (0..4)
        .map(|_| serde_json::json!({"account": acc}))
        .collect();
    let (s, p) = svc.block(post_raw(
        &svc.base,
        "/v1/score/batch",
        "application/json",
        serde_json::to_vec(&serde_json::json!({ "items": items })).unwrap(),
    ));
    assert_eq!(s, 413, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("at most 3"));
    let big = format!("{{\"model\": \"{}\"}}", "x".repeat(100_000));
    let (s, _) = svc.block(post_raw(
        &svc.base,
        "/v1/score",
        "application/json",
        big.into_bytes(),
    ));
    assert_eq!(s, 413);
    let (s, p) = svc.block(async {
        let r = reqwest::get(format!("{}/v1/nothing-here", svc.base))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(s, 404, "{p}");
}

#[test]
fn timeouts_and_the_concurrency_limit_answer_503() {
    let svc = start(|c| c.request_timeout_ms = 1);
    let acc = account();
    let items: Vec<RecommendRequest> = (0..200)
        .map(|i| RecommendRequest {
            account_id: AccountRef(i.to_string()),
            account: acc.clone(),
            not_before: None,
            alternatives: None,
        })
        .collect();
    match svc.block(svc.client(Some(SCORER)).recommend_batch(items)) {
        Ok(r) => panic!("a 1 ms timeout let a batch of {} through", r.len()),
        Err(e) => assert_eq!(e.problem().map(|p| p.status), Some(503), "{e}"),
    }
    drop(svc);

    // A request whose body is still arriving holds the only slot; the next is turned away at
    // once with 503 and Retry-After, and served again when the slot is free.
    let svc = start(|c| c.concurrency_limit = 1);
    use std::io::Write as _;
    let addr = svc.base.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /v1/score HTTP/1.1\r\nhost: x\r\nx-api-key: {SCORER}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"acc"
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (s, headers) = svc.block(async {
        let r = reqwest::Client::new()
            .get(format!("{}/v1/models", svc.base))
            .header("x-api-key", SCORER)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.headers().clone())
    });
    assert_eq!(s, 503);
    assert_eq!(headers.get("retry-after").unwrap(), "1");
    drop(slow);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        status(&svc, reqwest::Method::GET, "/v1/models", Some(SCORER)),
        200
    );
}

fn corrupt_and_promote(models: &Path, kind: &str, version: &str) -> PathBuf {
    let current = std::fs::read_to_string(models.join(kind).join("CURRENT")).unwrap();
    let to = models.join(kind).join(version);
    copy_dir(&models.join(kind).join(current.trim()), &to);
    std::fs::write(models.join(kind).join("CURRENT"), format!("{version}\n")).unwrap();
    to
}

#[test]
fn reload_swaps_good_bundles_refuses_broken_ones_and_drops_no_request() {
    let svc = start(|_| {});
    let admin = svc.client(Some(ADMIN));
    let scorer = svc.client(Some(SCORER));
    let req = ScoreRequest {
        account: Some(account()),
        ..ScoreRequest::default()
    };
    let before = svc.block(scorer.score(&req)).unwrap();

    // A good new version: swapped in, named in the answer.
    corrupt_and_promote(&svc.models(), "risk", "v2-copy");
    let r = svc.block(admin.reload()).unwrap();
    assert_eq!(r.changed, vec!["risk: v1-sample -> v2-copy".to_owned()]);
    let after = svc.block(scorer.score(&req)).unwrap();
    assert_eq!(after.model_version, "v2-copy");
    assert_eq!(after.probability, before.probability);

    // A broken one (edited after its checksum): refused, the old one keeps serving.
    let broken = corrupt_and_promote(&svc.models(), "risk", "v3-broken");
    let text = std::fs::read_to_string(broken.join("bundle.json")).unwrap();
    std::fs::write(
        broken.join("bundle.json"),
        text.replacen("\"risk\"", "\"rısk\"", 1),
    )
    .unwrap();
    let e = svc.block(admin.reload()).unwrap_err();
    let p = e.problem().unwrap();
    assert_eq!(p.status, 422);
    assert!(
        p.detail.contains("checksums") || p.detail.contains("checksum"),
        "{p}"
    );
    assert_eq!(
        svc.block(scorer.score(&req)).unwrap().model_version,
        "v2-copy"
    );

    // A bundle with the wrong features: refused.
    std::fs::write(svc.models().join("risk/CURRENT"), "v2-copy\n").unwrap();
    // Under load: 4 clients scoring while reloads alternate between two good versions.
    let (fails, versions) = svc.block(async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let c = scorer.clone();
            let req = req.clone();
            let stop = Arc::clone(&stop);
            workers.push(tokio::spawn(async move {
                let (mut fails, mut seen) = (0, std::collections::BTreeSet::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match c.score(&req).await {
                        Ok(r) => {
                            seen.insert(r.model_version);
                        }
                        Err(_) => fails += 1,
                    }
                }
                (fails, seen)
            }));
        }
        let models = svc.models();
        for k in 0..6 {
            let v = if k % 2 == 0 { "v1-sample" } else { "v2-copy" };
            std::fs::write(models.join("risk/CURRENT"), format!("{v}\n")).unwrap();
            admin.reload().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut fails = 0;
        let mut versions = std::collections::BTreeSet::new();
        for w in workers {
            let (f, s) = w.await.unwrap();
            fails += f;
            versions.extend(s);
        }
        (fails, versions)
    });
    assert_eq!(fails, 0, "requests failed during reloads");
    assert!(versions.len() == 2, "both versions served: {versions:?}");
}

#[test]
fn malformed_and_random_json_never_gets_a_5xx() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let svc = start(|c| c.max_batch = 5);
    let acc = serde_json::to_value(account()).unwrap();
    let valid: Vec<(&str, serde_json::Value)> = vec![
        ("/v1/score", serde_json::json!({"account": acc})),
        (
            "/v1/score/batch",
            serde_json::json!({"items": [{"account": acc}]}),
        ),
        (
            "/v1/recommend",
            serde_json::json!({"account_id": 1, "account": acc}),
        ),
        (
            "/v1/recommend/batch",
            serde_json::json!({"items": [{"account_id": 1, "account": acc}]}),
        ),
        (
            "/v1/eligibility",
            serde_json::json!({"account_id": 1, "account": acc}),
        ),
        (
            "/v1/eligibility/batch",
            serde_json::json!({"items": [{"account_id": 1, "account": acc}]}),
        ),
        ("/v1/models/reload", serde_json::json!({})),
        ("/v1/score/arrow", serde_json::json!({})),
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "[a-z_ ]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("Europe/Madrid")),
        Just(serde_json::json!("2026-11-20")),
    ];
    let random_json = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    // (a) random JSON documents; (b) valid bodies with one value replaced; (c) byte mutations.
    let case = (
        random_json,
        0..valid.len(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0..3usize,
    );
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..Config::default()
    });
    let base = svc.base.clone();
    let valid = Arc::new(valid);
    runner
        .run(&case, |(random, e, at, byte, mode)| {
            let (path, body) = &valid[e];
            let bytes = match mode {
                0 => serde_json::to_vec(&random).unwrap(),
                1 => {
                    let mut b = body.clone();
                    replace_one(&mut b, at.index(1000), random);
                    serde_json::to_vec(&b).unwrap()
                }
                _ => {
                    let mut b = serde_json::to_vec(body).unwrap();
                    let i = at.index(b.len());
                    b[i] = byte;
                    b.truncate(b.len() - at.index(b.len() / 4 + 1));
                    b
                }
            };
            let (s, p) = svc.block(post_raw(&base, path, "application/json", bytes));
            prop_assert!(s < 500, "{path} -> {s}: {p}");
            Ok(())
        })
        .unwrap();
}

/// Replaces the `k`-th value (depth first, modulo the count) of `v` with `new`.
fn replace_one(v: &mut serde_json::Value, k: usize, new: serde_json::Value) {
    fn count(v: &serde_json::Value) -> usize {
        1 + match v {
            serde_json::Value::Array(a) => a.iter().map(count).sum(),
            serde_json::Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut serde_json::Value, k: &mut usize, new: &mut Option<serde_json::Value>) {
        if *k == 0 {
            if let Some(n) = new.take() {
                *v = n;
            }
            return;
        }
        *k -= 1;
        match v {
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, k, new)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(x, k, new)),
            _ => {}
        }
    }
    let mut k = k % count(v);
    walk(v, &mut k, &mut Some(new));
}

#[test]
fn the_openapi_document_matches_the_routes_and_the_committed_copy() {
    let doc = forbear_serve::routes::openapi();
    let json = doc.to_pretty_json().unwrap();
    let committed = std::fs::read_to_string(crate::root().join("docs/openapi.json"))
        .expect("docs/openapi.json is committed (`forbear serve openapi > docs/openapi.json`)");
    assert_eq!(
        committed.trim(),
        json.trim(),
        "docs/openapi.json is stale: regenerate it with `forbear serve openapi > docs/openapi.json`"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["openapi"], "3.1.0");
    let svc = start(|_| {});
    let paths = v["paths"].as_object().unwrap();
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "d-unknown");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let s = status(&svc, m, &concrete, Some(ADMIN));
            // Served: anything but 404 from the router (a missing decision is a 404 problem
            // of its own kind) and 405.
            assert_ne!(s, 405, "{method} {path}");
            if path != "/v1/decisions/{id}" {
                assert_ne!(s, 404, "{method} {path}");
            }
        }
    }
    // The endpoints the service promises are all there (routes and their documentation are
    // registered together, so a route cannot exist undocumented).
    for p in [
        "/v1/score",
        "/v1/score/batch",
        "/v1/score/arrow",
        "/v1/recommend",
        "/v1/recommend/batch",
        "/v1/eligibility",
        "/v1/eligibility/batch",
        "/v1/decisions/{id}",
        "/v1/models",
        "/v1/models/reload",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
}

#[test]
fn path_attributions_agree_with_treeshap_on_the_taiwan_data() {
    // The service's default reasons (path attributions) against exact TreeSHAP, on a model
    // trained by `forbear train table` on the Taiwan credit-card data.
    let data = crate::root().join("../shared/data/taiwan-credit-default.csv");
    if !data.is_file() {
        eprintln!("skipped: {} is absent", data.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taiwan");
    let o = crate::forbear(&[
        "train",
        "table",
        "--input",
        data.to_str().unwrap(),
        "--target",
        "default.payment.next.month",
        "--drop",
        "ID",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", crate::text(&o));
    let bundle = forbear_models::Bundle::load(&out).unwrap();
    let forbear_models::Model::Gbm(g) = bundle.best_model().unwrap() else {
        eprintln!("skipped: the best model is not a tree model");
        return;
    };
    let fast = g.node_expectations().unwrap();
    let table = forbear_data::read_table(&data).unwrap();
    let columns: Vec<&forbear_data::Column> = bundle
        .spec
        .names()
        .iter()
        .map(|n| &table.columns[table.index_of(n).unwrap()])
        .collect();
    let (mut top1, mut overlap, mut rows, mut with_reasons) = (0usize, 0usize, 0usize, 0usize);
    for i in (0..table.rows()).step_by(15) {
        let row: Vec<f64> = columns
            .iter()
            .map(|c| match c {
                forbear_data::Column::Numeric(v) => v[i],
                forbear_data::Column::Text(_) => f64::NAN,
            })
            .collect();
        let (p, fast_reasons) = bundle.predict_explain_fast(&row, 4, Some(&fast));
        assert!((p - bundle.predict_row(&row)).abs() < 1e-12);
        let exact = bundle.explain(&row, 4);
        rows += 1;
        if exact.is_empty() || fast_reasons.is_empty() {
            continue;
        }
        with_reasons += 1;
        top1 += usize::from(exact[0].feature == fast_reasons[0].feature);
        overlap += fast_reasons
            .iter()
            .filter(|r| exact.iter().any(|e| e.feature == r.feature))
            .count();
    }
    let top1_rate = top1 as f64 / with_reasons as f64;
    let overlap_rate = overlap as f64 / (4 * with_reasons) as f64;
    eprintln!(
        "path attributions vs TreeSHAP on {rows} Taiwan rows ({with_reasons} with reasons): top reason equal {:.1} %, top-4 overlap {:.1} %",
        100.0 * top1_rate,
        100.0 * overlap_rate
    );
    assert!(
        top1_rate > 0.6 && overlap_rate > 0.6,
        "{top1_rate} {overlap_rate}"
    );
}

/// The dunning engine asks this service for channel, time and tone through `forbear-client`
/// (the same port as the in-process recommender), with a scoring key.
#[test]
fn the_engine_asks_the_service_for_recommendations() {
    let svc = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("g");
    crate::engine::generate(&data, 1500, 2, 3);
    let store = format!("sqlite://{}/e.db", dir.path().display());
    crate::engine::ingest(&store, &data);
    let o = std::process::Command::new(crate::forbear_bin())
        .args([
            "engine",
            "tick",
            "--store",
            &store,
            "--until",
            "2026-06-30",
            "--json",
            "--recommender",
            &svc.base,
        ])
        .env("FORBEAR_SERVICE_KEY", SCORER)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let (out, err) = crate::text(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("recommender failed"), "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        summary["actions"]["notify"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    let mut s = forbear_store::open(&store).unwrap();
    let by_service = s
        .accounts()
        .unwrap()
        .into_iter()
        .flat_map(|a| s.events(a).unwrap())
        .filter(|e| matches!(&e.body, forbear_engine::EventBody::StepExecuted { reason, .. } if reason.contains("service (")))
        .count();
    assert!(
        by_service > 10,
        "{by_service} contacts chosen by the service"
    );
}

/// The blacklist flag the dunning engine sets goes to the CRM (an outbound effect) and the
/// eligibility decision reads it: the blacklisted account gets prepaid by the blacklist rule;
/// once the engine lifts the flag (the account cured), the rule no longer applies.
#[test]
fn eligibility_reads_the_blacklist_the_engine_sets_and_lifts() {
    use forbear_engine::{Engine, RuleOfThumb, ScenarioSet, Templates};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/engine.db", dir.path().display());
    let engine = Engine::new(
        ScenarioSet::builtin().unwrap(),
        forbear_core::rules::ContactRules::default(),
        Templates::builtin().unwrap(),
        Arc::new(RuleOfThumb),
    );
    let ago = |days: i64| chrono::Utc::now() - chrono::Duration::days(days);
    let events: Vec<forbear_engine::Event> = serde_json::from_value(serde_json::json!([
        {"id":"open:77","account":77,"at":ago(120),"type":"account_opened","customer_type":"consumer","subscription_type":"postpaid","service_level":"standard","product":"mobile","time_zone":"Europe/Madrid","language":"en","currency":"EUR","consent":["sms","email"]},
        {"id":"inv:77","account":77,"at":ago(100),"type":"invoice_issued","invoice":7700,"service":770,"amount_minor":4500,"currency":"EUR","due_on":ago(80).date_naive()}
    ]))
    .unwrap();
    let mut store = forbear_store::open(&url).unwrap();
    store.ingest(&events).unwrap();
    engine
        .tick(store.as_mut(), chrono::Utc::now(), 100, &mut |_| {})
        .unwrap();
    let crm: Vec<_> = store
        .outbox_of(forbear_engine::Target::Crm)
        .unwrap()
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(crm, vec!["blacklist"], "the CRM is told");

    let svc = start(|_| {});
    let crm = Arc::new(forbear_daemon::crm::EngineCrm::new(
        forbear_store::open(&url).unwrap(),
    ));
    assert!(svc.running.as_ref().unwrap().state.set_crm(crm));
    let c = svc.client(Some(SCORER));
    let ask = |id: &str| {
        svc.block(c.eligibility(&EligibilityRequest {
            account_id: AccountRef(id.into()),
            account: Some(account()),
            ..EligibilityRequest::default()
        }))
        .unwrap()
    };
    let e = ask("77");
    assert_eq!(
        (e.decision.as_str(), e.rule.as_str()),
        ("prepaid", "blacklisted"),
        "{e:?}"
    );
    assert_ne!(
        ask("78").rule,
        "blacklisted",
        "an account the engine does not know"
    );

    // Paid: the engine cures the account and lifts the flag; eligibility reads it lifted.
    let pay: Vec<forbear_engine::Event> = serde_json::from_value(serde_json::json!([
        {"id":"pay:77","account":77,"at":ago(1),"type":"payment_received","payment":1,"amount_minor":4500,"currency":"EUR"}
    ]))
    .unwrap();
    store.ingest(&pay).unwrap();
    engine
        .tick(store.as_mut(), chrono::Utc::now(), 100, &mut |_| {})
        .unwrap();
    assert!(
        store
            .outbox_of(forbear_engine::Target::Crm)
            .unwrap()
            .iter()
            .any(|o| o.kind == "remove_blacklist")
    );
    assert_ne!(ask("77").rule, "blacklisted");
}

/// The strategy lab asks the service for the challenger's contacts (`forbear simulate
/// --service`): the service logs recommendations, and the lab's report has its arms.
#[test]
fn the_strategy_lab_asks_the_service_for_the_challengers_contacts() {
    let svc = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lab");
    let o = std::process::Command::new(crate::forbear_bin())
        .args([
            "simulate",
            "--accounts",
            "300",
            "--days",
            "30",
            "--warmup-days",
            "10",
            "--bootstrap",
            "50",
            "--out",
            out.to_str().unwrap(),
            "--models",
            svc.models().to_str().unwrap(),
            "--service",
            &svc.base,
        ])
        .env("FORBEAR_SERVICE_KEY", SCORER)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let (stdout, stderr) = crate::text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(out.join("report.json").is_file());
    let metrics = svc.metrics();
    assert!(
        metrics.contains("forbear_decisions_total{kind=\"recommend\""),
        "{metrics}"
    );
}
