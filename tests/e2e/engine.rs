//! The dunning engine through the binary: a simulated portfolio with recommendations and
//! reversals, and crash safety — SIGKILL at random points, restart, and a webhook sink that
//! deduplicates by idempotency key sees exactly the effects of a crash-free run.

use crate::{forbear, forbear_bin, text};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const SECRET: &str = "crash-test-secret-0123456789";

/// A webhook receiver that checks signatures and keeps one body per idempotency key.
struct Sink {
    url: String,
    effects: Arc<Mutex<BTreeMap<String, String>>>,
    posts: Arc<AtomicU64>,
    conflicts: Arc<AtomicU64>,
    bad_signatures: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

impl Sink {
    fn start() -> Sink {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let effects = Arc::new(Mutex::new(BTreeMap::new()));
        let posts = Arc::new(AtomicU64::new(0));
        let conflicts = Arc::new(AtomicU64::new(0));
        let bad = Arc::new(AtomicU64::new(0));
        let (e, p, c, b) = (
            effects.clone(),
            posts.clone(),
            conflicts.clone(),
            bad.clone(),
        );
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (e, p, c, b) = (e.clone(), p.clone(), c.clone(), b.clone());
            async move {
                p.fetch_add(1, Ordering::SeqCst);
                let sig = headers
                    .get(forbear_daemon::delivery::SIGNATURE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !forbear_daemon::delivery::verify(SECRET.as_bytes(), sig, &body) {
                    b.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::UNAUTHORIZED;
                }
                let key = headers
                    .get(forbear_daemon::delivery::IDEMPOTENCY_KEY)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = String::from_utf8_lossy(&body).into_owned();
                let mut m = e.lock().unwrap();
                match m.get(&key) {
                    Some(prev) if *prev != body => {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(_) => {}
                    None => {
                        m.insert(key, body);
                    }
                }
                StatusCode::OK
            }
        };
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/hook", post(handler));
        rt.spawn(async move { axum::serve(listener, app).await });
        Sink {
            url: format!("http://{addr}/hook"),
            effects,
            posts,
            conflicts,
            bad_signatures: bad,
            _rt: rt,
        }
    }

    fn hooks_file(&self, dir: &Path) -> PathBuf {
        let p = dir.join(format!(
            "hooks-{}.toml",
            self.url.replace([':', '/', '.'], "_")
        ));
        std::fs::write(
            &p,
            format!("default = \"{}\"\nsecret = \"{SECRET}\"\n", self.url),
        )
        .unwrap();
        p
    }
}

/// `forbear generate` into `out`, asserting it succeeded.
pub(crate) fn generate(out: &Path, accounts: u32, months: u32, seed: u64) {
    let (a, m, s) = (accounts.to_string(), months.to_string(), seed.to_string());
    let o = forbear(&[
        "generate",
        "--accounts",
        &a,
        "--months",
        &m,
        "--seed",
        &s,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// `forbear engine ingest` of a dataset into a store, asserting it succeeded.
pub(crate) fn ingest(store: &str, data: &Path) {
    let o = forbear(&["engine", "ingest", "--store", store, data.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// A simulated portfolio of 10,000 accounts over two months, generated once per test run.
fn portfolio() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("g");
        generate(&out, 10000, 2, 7);
        d
    })
    .path()
}

fn tick_args<'a>(store: &'a str, hooks: &'a str) -> Vec<&'a str> {
    vec![
        "engine",
        "tick",
        "--store",
        store,
        "--until",
        "2026-06-30",
        "--recommender",
        "rules",
        "--batch",
        "250",
        "--webhooks",
        hooks,
    ]
}

/// Runs the portfolio through the engine once without and once with random SIGKILLs, and
/// compares what the sinks applied.
fn crash_safety(store_a: &str, store_b: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = portfolio().join("g");
    for s in [store_a, store_b] {
        ingest(s, &data);
    }
    let clean = Sink::start();
    let hooks = clean.hooks_file(dir.path());
    let started = Instant::now();
    let o = forbear(&tick_args(store_a, hooks.to_str().unwrap()));
    assert!(o.status.success(), "{:?}", text(&o));
    let clean_secs = started.elapsed().as_secs_f64();

    let crashy = Sink::start();
    let hooks = crashy.hooks_file(dir.path());
    let mut rng = forbear_core::Rng::new(20261128, 3);
    let mut kills = 0;
    let spawn = || {
        Command::new(forbear_bin())
            .args(tick_args(store_b, hooks.to_str().unwrap()))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Twelve runs killed within the clean run's duration — the first three early, so that at
    // least three die mid-way however fast the rest goes, the others at random points (a run
    // that finishes first is simply done) — then one run to the end.
    for i in 0..12 {
        let mut child = spawn();
        let share = if i < 3 {
            0.04 * f64::from(i + 1)
        } else {
            rng.uniform(0.03, 0.6)
        };
        let deadline = Instant::now() + Duration::from_secs_f64(clean_secs * share);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "tick failed after {kills} kills");
                break;
            }
            if Instant::now() >= deadline {
                child.kill().unwrap(); // SIGKILL on Unix
                child.wait().unwrap();
                kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let status = spawn().wait().unwrap();
    assert!(status.success(), "the final run failed");
    assert!(kills >= 3, "only {kills} runs were killed mid-way");
    let runs = 13;
    let a = clean.effects.lock().unwrap().clone();
    let b = crashy.effects.lock().unwrap().clone();
    let posts = crashy.posts.load(Ordering::SeqCst);
    eprintln!(
        "crash safety ({store_b}): {} effects, {kills} SIGKILLs over {runs} runs, {} redeliveries seen by the sink (clean run {:.1}s)",
        b.len(),
        posts - b.len() as u64,
        clean_secs
    );
    assert!(a.len() > 1000, "the run produced {} effects", a.len());
    assert_eq!(crashy.bad_signatures.load(Ordering::SeqCst), 0);
    assert_eq!(
        clean.posts.load(Ordering::SeqCst),
        a.len() as u64,
        "no redelivery without crashes"
    );
    assert_eq!(
        crashy.conflicts.load(Ordering::SeqCst),
        0,
        "a key came back with another body"
    );
    let missing: Vec<&String> = a.keys().filter(|k| !b.contains_key(*k)).take(5).collect();
    let extra: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "lost {missing:?}, created {extra:?}"
    );
    assert_eq!(a, b);
}

#[test]
fn crash_safety_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let a = format!("sqlite://{}/a.db", dir.path().display());
    let b = format!("sqlite://{}/b.db", dir.path().display());
    crash_safety(&a, &b);
}

fn postgres_url() -> String {
    std::env::var("FORBEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[test]
fn crash_safety_on_postgres() {
    let base = postgres_url();
    let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) else {
        eprintln!("NOTICE: PostgreSQL not reachable at {base}: crash test on PostgreSQL skipped");
        return;
    };
    let pid = std::process::id();
    let (sa, sb) = (format!("crash_a_{pid}"), format!("crash_b_{pid}"));
    for s in [&sa, &sb] {
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"))
            .unwrap();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let a = format!("{base}{sep}schema={sa}");
    let b = format!("{base}{sep}schema={sb}");
    // The schemas are dropped whether the test passes or not.
    let r = std::panic::catch_unwind(|| crash_safety(&a, &b));
    for s in [&sa, &sb] {
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"))
            .unwrap();
    }
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}

/// A simulated portfolio through the engine with the registry's response models: contacts are
/// chosen by the recommender, payments cure accounts, and every kind of measure is undone —
/// services reconnected and barring lifted, fees waived, blacklist flags removed, agency cases
/// recalled, scheduled contacts cancelled — with each account's timeline saying why.
#[test]
fn a_portfolio_runs_with_recommendations_and_undoes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p");
    generate(&data, 5000, 6, 11);
    let store = format!("sqlite://{}/e.db", dir.path().display());
    ingest(&store, &data);
    let models = crate::root().join("models");
    let o = forbear(&[
        "engine",
        "tick",
        "--store",
        &store,
        "--until",
        "2026-06-30",
        "--json",
        "--models",
        models.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for k in [
        "notify",
        "soft_bar",
        "disconnect",
        "blacklist",
        "agency_placement",
        "late_fee",
    ] {
        assert!(
            summary["actions"][k].as_u64().unwrap_or(0) > 0,
            "no {k}: {summary}"
        );
    }
    for k in [
        "lift_barring",
        "reconnect",
        "remove_blacklist",
        "recall_from_agency",
        "waive_fee",
        "cancel_contact",
    ] {
        assert!(
            summary["reversals"][k].as_u64().unwrap_or(0) > 0,
            "no {k}: {summary}"
        );
    }
    assert!(
        summary["cases_closed"].as_u64().unwrap() > 1000,
        "{summary}"
    );

    // Contacts chosen by the response models, through the contact rules.
    let mut s = forbear_store::open(&store).unwrap();
    let mut recommended = 0;
    let mut recalled = None;
    for a in s.accounts().unwrap() {
        for e in s.events(a).unwrap() {
            match &e.body {
                forbear_engine::EventBody::StepExecuted {
                    contact: Some(c),
                    reason,
                    ..
                } if c.recommended => {
                    assert!(reason.contains("response models"), "{reason}");
                    assert!(c.propensity.is_some_and(|p| p > 0.0 && p <= 1.0));
                    recommended += 1;
                }
                forbear_engine::EventBody::MeasureReversed {
                    measure: forbear_engine::Measure::Agency { .. },
                    ..
                } => {
                    recalled = Some(a);
                }
                _ => {}
            }
        }
    }
    assert!(recommended > 100, "{recommended} recommended contacts");
    let account = recalled.expect("an agency recall").get().to_string();
    let o = forbear(&["engine", "timeline", "--store", &store, &account]);
    let (t, _) = text(&o);
    assert!(
        t.contains("placed") || t.contains("agency_placement"),
        "{t}"
    );
    assert!(
        t.contains("recalled from agency") && t.contains("account cured"),
        "{t}"
    );
    assert!(t.contains("payment"), "{t}");

    // The case tools through the binary: the account's case file, a work queue, the report.
    let o = forbear(&["engine", "case-file", "--store", &store, "--html", &account]);
    let (html, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        html.contains(&format!("Case file — account {account}")),
        "{html}"
    );
    let o = forbear(&["engine", "queue", "--store", &store, "all", "--json"]);
    let (q, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let q: serde_json::Value = serde_json::from_str(q.trim()).unwrap();
    assert!(q.as_array().is_some_and(|a| !a.is_empty()), "{q}");
    assert!(
        q[0]["talking_points"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{q}"
    );
    let o = forbear(&["engine", "report", "--store", &store, "--json"]);
    let (r, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let r: serde_json::Value = serde_json::from_str(r.trim()).unwrap();
    assert!(
        r["agencies"]["recoveries-ltd"]["placed"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{r}"
    );
}

/// Replaying an account's log rebuilds its state exactly, whatever the order and however many
/// repeats — for every account of a simulated run.
#[test]
fn every_accounts_log_replays_to_the_same_state_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = portfolio().join("g");
    let store = format!("sqlite://{}/r.db", dir.path().display());
    ingest(&store, &data);
    let o = forbear(&[
        "engine",
        "tick",
        "--store",
        &store,
        "--until",
        "2026-06-30",
        "--recommender",
        "rules",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut s = forbear_store::open(&store).unwrap();
    let mut rng = forbear_core::Rng::new(5, 5);
    let mut checked = 0;
    for a in s.accounts().unwrap() {
        let log = s.events(a).unwrap();
        let mut shuffled = log.clone();
        for e in &log {
            if rng.chance(0.2) {
                shuffled.push(e.clone());
            }
        }
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let x = forbear_engine::AccountState::replay(a, &log, None);
        let y = forbear_engine::AccountState::replay(a, &shuffled, None);
        assert_eq!(x, y, "account {a}");
        checked += 1;
    }
    assert_eq!(checked, 10_000);
}

/// Scenario changes are code: a bad file is refused with file, line and key; a changed set is
/// compared on the store (diff of scenarios, dry-run of treatments) without touching it.
#[test]
fn scenario_files_are_checked_diffed_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[scenario]]\nname = \"x\"\ndefault = true\n\n[[scenario.step]]\nname = \"s\"\ndpd = 1\naction = \"notify\"\nchannel = \"fax\"\n",
    )
    .unwrap();
    let o = forbear(&["engine", "scenarios", "check", bad.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert!(!o.status.success());
    assert!(
        out.contains("bad.toml:9:11: scenario[0].step[0].channel"),
        "{out}"
    );

    let o = forbear(&["engine", "scenarios", "show"]);
    let builtin = text(&o).0;
    let same = dir.path().join("same.toml");
    std::fs::write(&same, &builtin).unwrap();
    let o = forbear(&["engine", "scenarios", "check", same.to_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).0.contains("valid"),
        "{:?}",
        text(&o)
    );

    let data = dir.path().join("g");
    generate(&data, 1500, 3, 9);
    let store = format!("sqlite://{}/s.db", dir.path().display());
    ingest(&store, &data);
    let o = forbear(&[
        "engine",
        "tick",
        "--store",
        &store,
        "--until",
        "2026-06-10",
        "--recommender",
        "rules",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));

    // Consumers join the business scenario: the diff lists them.
    let moved = dir.path().join("moved.toml");
    std::fs::write(
        &moved,
        builtin.replace(
            "customer_type = [\"small_business\", \"enterprise\", \"government\"]",
            "customer_type = [\"small_business\", \"enterprise\", \"government\", \"consumer\"]",
        ),
    )
    .unwrap();
    let o = forbear(&[
        "engine",
        "scenarios",
        "diff",
        moved.to_str().unwrap(),
        "--store",
        &store,
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("standard -> business"), "{out}");
    let n: usize = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n > 100, "{out}");

    // Soft barring ten days later: the dry run lists accounts treated differently; the store
    // does not change.
    let later = dir.path().join("later.toml");
    std::fs::write(
        &later,
        builtin.replacen(
            "name = \"soft-bar\"\ndpd = 15",
            "name = \"soft-bar\"\ndpd = 25",
            1,
        ),
    )
    .unwrap();
    let before = forbear_store::open(&store)
        .unwrap()
        .outbox_counts()
        .unwrap();
    let o = forbear(&[
        "engine",
        "scenarios",
        "dry-run",
        later.to_str().unwrap(),
        "--store",
        &store,
        "--until",
        "2026-06-30",
        "--recommender",
        "rules",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("would be treated differently"), "{out}");
    let changed: usize = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(changed > 0, "{out}");
    assert_eq!(
        forbear_store::open(&store)
            .unwrap()
            .outbox_counts()
            .unwrap(),
        before
    );
}
