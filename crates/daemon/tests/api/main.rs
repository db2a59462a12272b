//! The engine's HTTP API over real HTTP on an SQLite store, and webhook delivery to a receiver
//! that fails first and then accepts.

use chrono::{TimeZone as _, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{Clock, FixedClock};
use forbear_daemon::api::{ApiState, router};
use forbear_engine::{Engine, RuleOfThumb, ScenarioSet, Templates};
use sha2::Digest as _;
use std::sync::{Arc, Mutex};

const EVENTS: &str = r#"[
 {"id":"open:1","account":1,"at":"2026-01-01T00:00:00Z","type":"account_opened","customer_type":"consumer","subscription_type":"postpaid","service_level":"standard","product":"mobile","time_zone":"Europe/Madrid","language":"en","currency":"EUR","consent":["sms","email"]},
 {"id":"inv:1","account":1,"at":"2026-02-01T00:00:00Z","type":"invoice_issued","invoice":10,"service":100,"amount_minor":4500,"currency":"EUR","due_on":"2026-02-20"}
]"#;

mod cases;

fn engine() -> Engine {
    Engine::new(
        ScenarioSet::builtin().unwrap(),
        ContactRules::default(),
        Templates::builtin().unwrap(),
        Arc::new(RuleOfThumb),
    )
}

struct App {
    base: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    url: String,
    clock: Arc<FixedClock>,
    store: forbear_daemon::SharedStore,
    engine: Arc<Engine>,
}

fn app(token: Option<&str>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/api.db", dir.path().display());
    app_on(dir, url, token)
}

fn app_on(dir: tempfile::TempDir, url: String, token: Option<&str>) -> App {
    let fixed = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let clock: Arc<dyn Clock> = fixed.clone();
    let store: forbear_daemon::SharedStore =
        Arc::new(Mutex::new(forbear_store::open(&url).unwrap()));
    let engine = Arc::new(engine());
    let state = ApiState {
        store: store.clone(),
        engine: engine.clone(),
        clock,
        token_sha256: token.map(|t| <[u8; 32]>::from(sha2::Sha256::digest(t.as_bytes()))),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, router(state)).await });
    App {
        base,
        http: reqwest::Client::new(),
        rt,
        _dir: dir,
        url,
        clock: fixed,
        store,
        engine,
    }
}

impl App {
    /// Sets the clock and runs the engine up to it.
    fn tick(&self, to: chrono::DateTime<Utc>) {
        self.clock.set(to);
        let mut s = self.store.lock().unwrap();
        self.engine.tick(s.as_mut(), to, 100, &mut |_| {}).unwrap();
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        self.rt.block_on(async {
            let mut r = self
                .http
                .request(method.parse().unwrap(), format!("{}{path}", self.base));
            if let Some(b) = body {
                r = r
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
            )
        })
    }
}

#[test]
fn events_in_timeline_and_case_out_manual_actions_recorded() {
    let a = app(None);
    let (st, body) = a.call("POST", "/v1/events", Some(EVENTS), None);
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        (body["stored"].as_u64(), body["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    // The same events again change nothing.
    let (_, body) = a.call("POST", "/v1/events", Some(EVENTS), None);
    assert_eq!(body["duplicates"].as_u64(), Some(2));
    // The engine runs (as the daemon's worker would) on its own connection.
    let mut store = forbear_store::open(&a.url).unwrap();
    engine()
        .tick(
            store.as_mut(),
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            10,
            &mut |_| {},
        )
        .unwrap();
    let (st, t) = a.call("GET", "/v1/accounts/1/timeline", None, None);
    assert_eq!(st, 200);
    let kinds: Vec<&str> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"case_opened") && kinds.contains(&"step_executed"),
        "{kinds:?}"
    );
    assert!(t[0]["local"].is_string() && t[0]["summary"].is_string());
    let (st, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["case"]["scenario"], "standard");
    assert!(c["days_past_due"].as_i64().unwrap() > 0);
    let (st, r) = a.call(
        "POST",
        "/v1/accounts/1/actions",
        Some(r#"{"action":"pause","by":"agent-7","reason":"customer called"}"#),
        None,
    );
    assert_eq!(st, 201, "{r}");
    let (_, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    assert_eq!(c["paused"][0], "agent-7");
    let (st, o) = a.call("GET", "/v1/outbox", None, None);
    assert_eq!(st, 200);
    assert!(o["pending"].as_u64().unwrap() > 0, "{o}");
}

#[test]
fn bad_requests_are_named_problems_and_the_token_is_required() {
    let a = app(Some("s3cret-token-for-tests"));
    let (st, p) = a.call("POST", "/v1/events", Some(EVENTS), None);
    assert_eq!(st, 401, "{p}");
    let tok = Some("s3cret-token-for-tests");
    let bad = r#"[{"id":"x","account":1,"at":"2026-01-01T00:00:00Z","type":"invoice_issued","invoice":10,"service":100,"amount_minor":-5,"currency":"EUR","due_on":"2026-02-20"}]"#;
    let (st, p) = a.call("POST", "/v1/events", Some(bad), tok);
    assert_eq!(st, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("[0]")
            && p["detail"].as_str().unwrap().contains("positive"),
        "{p}"
    );
    let engine_own = r#"[{"id":"y","account":1,"at":"2026-01-01T00:00:00Z","type":"case_closed","case":1,"reason":"x"}]"#;
    let (st, p) = a.call("POST", "/v1/events", Some(engine_own), tok);
    assert_eq!(st, 422, "{p}");
    let (st, p) = a.call("POST", "/v1/events", Some("{not json"), tok);
    assert_eq!(st, 422, "{p}");
    let (st, _) = a.call("GET", "/v1/accounts/99/timeline", None, tok);
    assert_eq!(st, 404);
    let assign = r#"{"action":"assign","by":"a","scenario":"nope"}"#;
    let (st, p) = a.call("POST", "/v1/accounts/1/actions", Some(assign), tok);
    assert_eq!(st, 404, "no such account yet: {p}");
    let (st, _) = a.call("POST", "/v1/events", Some(EVENTS), tok);
    assert_eq!(st, 200);
    let (st, p) = a.call("POST", "/v1/accounts/1/actions", Some(assign), tok);
    assert_eq!(st, 422, "{p}");
    assert_eq!(
        p["detail"],
        "scenario: no scenario \"nope\" in the set in force"
    );
    let (st, _) = a.call("GET", "/v1/accounts/0/case", None, tok);
    assert_eq!(st, 422);
}

#[test]
fn webhooks_are_signed_retried_and_marked_delivered() {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicU32, Ordering};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hits = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(Mutex::new(Vec::<(String, bool)>::new()));
    let (h, s) = (hits.clone(), seen.clone());
    let recv = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (h, s) = (h.clone(), s.clone());
            async move {
                let n = h.fetch_add(1, Ordering::SeqCst);
                let key = headers
                    .get("idempotency-key")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                let sig = headers.get("forbear-signature").unwrap().to_str().unwrap();
                let ok = forbear_daemon::delivery::verify(b"0123456789abcdef-secret", sig, &body);
                s.lock().unwrap().push((key, ok));
                // The first attempt fails: the effect must come back under the same key.
                if n == 0 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let server = tokio::runtime::Runtime::new().unwrap();
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    server.spawn(async move { axum::serve(listener, recv).await });

    let dir = tempfile::tempdir().unwrap();
    let mut store =
        forbear_store::open(&format!("sqlite://{}/w.db", dir.path().display())).unwrap();
    let events: Vec<forbear_engine::Event> = serde_json::from_str(EVENTS).unwrap();
    store.ingest(&events).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 2, 21, 12, 0, 0).unwrap();
    engine().tick(store.as_mut(), now, 10, &mut |_| {}).unwrap();
    let hooks: forbear_daemon::Webhooks = toml::from_str(&format!(
        "default = \"{url}\"\nsecret = \"0123456789abcdef-secret\"\nbackoff_seconds = 60\n"
    ))
    .unwrap();
    let sender = forbear_daemon::Sender::new(hooks).unwrap();
    let d = sender.drain(&rt, store.as_mut(), now).unwrap();
    assert_eq!(
        (d.delivered, d.failed),
        (0, 1),
        "the receiver refused the first attempt"
    );
    assert_eq!(store.outbox_counts().unwrap().0, 1, "still pending");
    // Not retried before its backoff…
    assert_eq!(sender.drain(&rt, store.as_mut(), now).unwrap().delivered, 0);
    // …then delivered under the same key.
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(
        sender.drain(&rt, store.as_mut(), later).unwrap().delivered,
        1
    );
    assert_eq!(store.outbox_counts().unwrap(), (0, 1, 0));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, seen[1].0, "same idempotency key on the retry");
    assert!(seen.iter().all(|(_, ok)| *ok), "signatures verify");
}

#[test]
fn the_worker_runs_a_simulated_month_in_seconds_and_delivers() {
    use axum::http::StatusCode;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let recv = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }
        }),
    );
    let server = tokio::runtime::Runtime::new().unwrap();
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    server.spawn(async move { axum::serve(listener, recv).await });

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/worker.db", dir.path().display());
    let mut store = forbear_store::open(&db).unwrap();
    let events: Vec<forbear_engine::Event> = serde_json::from_str(EVENTS).unwrap();
    store.ingest(&events).unwrap();
    let hooks: forbear_daemon::Webhooks = toml::from_str(&format!(
        "default = \"{url}\"\nsecret = \"0123456789abcdef-secret\"\n"
    ))
    .unwrap();
    // A month of simulated time at 30 days per real second.
    let start = Utc.with_ymd_and_hms(2026, 2, 15, 0, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).unwrap();
    let worker = forbear_daemon::Worker {
        engine: engine(),
        store,
        sender: Some(forbear_daemon::Sender::new(hooks).unwrap()),
        clock: Arc::new(forbear_daemon::SimulatedClock::new(start, 30.0 * 86_400.0)),
        interval: std::time::Duration::from_millis(20),
        batch: 100,
        scenarios: None,
        until: Some(until),
    };
    let started = std::time::Instant::now();
    let report = worker.run(&AtomicBool::new(false)).unwrap();
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    assert!(report.evaluations >= 5, "{report:?}");
    assert!(report.delivered >= 4, "{report:?}");
    assert_eq!(u64::from(hits.load(Ordering::SeqCst)), report.delivered);
    let mut store = forbear_store::open(&db).unwrap();
    assert_eq!(store.clock().unwrap(), Some(until));
    let (pending, delivered, _) = store.outbox_counts().unwrap();
    assert_eq!(delivered, report.delivered);
    assert_eq!(pending, 0, "everything due by the end was delivered");
}
