//! `forbear simulate`: the strategy lab through the binary — arms, outputs, refusals, and an
//! interrupted run that leaves nothing behind.

use super::{forbear, root, text};
use std::path::Path;

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

const KPIS: [&str; 15] = [
    "collected",
    "net_collected",
    "contact_cost",
    "complaints",
    "violations",
    "cure_rate",
    "promises_made",
    "promises_kept",
    "plans_started",
    "disputes_opened",
    "hardship_holds",
    "agency_placements",
    "legal_referrals",
    "disconnections",
    "reconnections",
];

/// Champion, challenger (the committed response models), an extra scenario-file arm, the truth
/// oracle and the no-contact control over a small portfolio: every output is there, every arm
/// has every KPI with its interval, nothing breaks a contact rule (the oracle's choices pass
/// the same rules), the engines' stores can be inspected afterwards.
#[test]
fn simulate_writes_the_report_the_series_and_the_page_for_every_arm() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lab");
    let scenarios = root().join("crates/engine/scenarios/default.toml");
    let models = root().join("models");
    let o = forbear(&[
        "simulate",
        "--accounts",
        "1200",
        "--days",
        "45",
        "--warmup-days",
        "15",
        "--bootstrap",
        "100",
        "--out",
        &s(&out),
        "--models",
        &s(&models),
        "--arm",
        &format!("builtin={}", s(&scenarios)),
        "--oracle",
        "--no-contact",
        "--split",
        "champion=2,challenger=2,builtin=1,oracle=1,no-contact=1",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("model-driven strategy"), "{stdout}");
    assert!(stdout.contains("0 rule violations"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let arms = report["arms"].as_array().unwrap();
    let names: Vec<&str> = arms.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["champion", "challenger", "builtin", "oracle", "no-contact"]
    );
    let total: u64 = arms.iter().map(|a| a["accounts"].as_u64().unwrap()).sum();
    assert_eq!(total, 1200);
    for a in arms {
        for k in KPIS {
            let e = &a["kpis"][k];
            for f in ["value", "ci_low", "ci_high"] {
                assert!(
                    e[f].is_number() || e[f].is_null(),
                    "{} {k}.{f}: {e}",
                    a["name"]
                );
            }
        }
        assert_eq!(a["kpis"]["violations"]["value"], 0.0, "{}", a["name"]);
    }
    assert_eq!(arms[4]["totals"]["contacts"], 0);
    assert!(arms[0]["totals"]["contacts"].as_u64().unwrap() > 0);
    assert!(
        arms[3]["totals"]["contacts"].as_u64().unwrap() > 0,
        "the oracle contacts"
    );
    let rows: usize = super::cli::read_rows(&out.join("timeseries.parquet"))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 5 * 45);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script"),
        "self-contained"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "offline"
    );
    // The champion's engine store is there to inspect, like any engine's.
    let store = format!("sqlite://{}", s(&out.join("engine/champion.db")));
    let o = forbear(&["engine", "report", "--store", &store, "--json"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"disputes\""), "{stdout}");
    assert!(
        !dir.path().join(".lab.partial").exists(),
        "the staging directory is gone"
    );
}

/// Bad settings are refused before anything is simulated, and an existing report stays as it
/// was.
#[test]
fn simulate_refuses_bad_settings_and_keeps_the_last_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lab");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), "{\"last\": true}").unwrap();
    let models = root().join("models");
    for (args, want) in [
        (
            vec!["--split", "champion=1"],
            "--split gives no weight to challenger",
        ),
        (
            vec!["--split", "champion=1,nobody=2"],
            "no arm named \"nobody\"",
        ),
        (
            vec!["--split", "champion=0,challenger=1"],
            "weight of champion must be a number > 0",
        ),
        (vec!["--arm", "x"], "expected NAME=FILE"),
        (vec!["--arm", "Bad Name=f.toml"], "lower-case"),
        (vec!["--arm", "champion=f.toml"], "exists already"),
        (vec!["--arm", "oracle=f.toml"], "exists already"),
        (
            vec!["--arm", "extra=/no/such/file.toml"],
            "/no/such/file.toml",
        ),
        (vec!["--store", "mysql://x"], "--store must be postgres"),
        (vec!["--accounts", "0"], "at least 1"),
    ] {
        let mut a = vec![
            "simulate",
            "--out",
            out.to_str().unwrap(),
            "--models",
            models.to_str().unwrap(),
            "--days",
            "2",
        ];
        a.extend(args.iter().copied());
        let o = forbear(&a);
        let (stdout, stderr) = text(&o);
        assert!(!o.status.success(), "{args:?}: {stdout}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        "{\"last\": true}"
    );
}

/// A run killed half-way leaves the last report untouched and no report of its own.
#[test]
fn an_interrupted_simulation_leaves_no_half_written_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lab");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), "{\"last\": true}").unwrap();
    let mut child = std::process::Command::new(super::forbear_bin())
        .args([
            "simulate",
            "--accounts",
            "20000",
            "--days",
            "120",
            "--out",
            out.to_str().unwrap(),
            "--models",
            root().join("models").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it get going: its staging directory appears, then kill it mid-run.
    let staging = dir.path().join(".lab.partial");
    for _ in 0..200 {
        if staging.join("engine").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        "{\"last\": true}"
    );
    assert!(!out.join("report.html").exists());
    assert!(!out.join("timeseries.parquet").exists());
}

/// The arms' engines on PostgreSQL: each arm in its own schema, which a second run into the
/// same schemas refuses (a run needs empty stores).
#[test]
fn simulate_on_postgres_keeps_each_arm_in_its_own_schema() {
    let base = std::env::var("FORBEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) else {
        eprintln!("NOTICE: PostgreSQL not reachable at {base}: lab on PostgreSQL skipped");
        return;
    };
    let prefix = format!("lab_e2e_{}", std::process::id());
    let schemas = [format!("{prefix}_champion"), format!("{prefix}_challenger")];
    let drop = |c: &mut postgres::Client| {
        for s in &schemas {
            c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"))
                .unwrap();
        }
    };
    drop(&mut c);
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={prefix}");
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str| {
        forbear(&[
            "simulate",
            "--accounts",
            "300",
            "--days",
            "20",
            "--warmup-days",
            "5",
            "--bootstrap",
            "50",
            "--out",
            &s(&dir.path().join(out)),
            "--models",
            &s(&root().join("models")),
            "--store",
            &url,
        ])
    };
    let r = std::panic::catch_unwind(|| {
        let o = run("a");
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{stdout}\n{stderr}");
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        for s in &schemas {
            let n: i64 = c
                .query_one(&format!("SELECT count(*) FROM {s}.events"), &[])
                .unwrap()
                .get(0);
            assert!(n > 0, "{s} holds the arm's events");
        }
        let o = run("b");
        let (_, stderr) = text(&o);
        assert!(!o.status.success());
        assert!(stderr.contains("already holds accounts"), "{stderr}");
        assert!(!dir.path().join("b").exists());
    });
    drop(&mut c);
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}
