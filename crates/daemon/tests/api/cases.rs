//! Cases end to end through the engine's HTTP API on SQLite and PostgreSQL: promises, plans,
//! disputes, grants, hardship, statutory holds and call outcomes — each refused with the limit
//! named when it is outside policy, and followed by the engine when it is within.

use super::{App, EVENTS, app_on};
use chrono::{TimeZone as _, Utc};

fn when(d: u32, h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
}

fn detail(p: &serde_json::Value) -> String {
    p["detail"].as_str().unwrap_or_default().to_string()
}

fn act(a: &App, body: &str) -> (u16, serde_json::Value) {
    a.call("POST", "/v1/accounts/1/actions", Some(body), None)
}

fn timeline(a: &App) -> String {
    let (st, t) = a.call("GET", "/v1/accounts/1/timeline", None, None);
    assert_eq!(st, 200, "{t}");
    t.to_string()
}

fn case_flows(a: &App) {
    let (st, r) = a.call("POST", "/v1/events", Some(EVENTS), None);
    assert_eq!(st, 200, "{r}");
    a.tick(when(1, 12));

    // Promises: too small, then within limits, then a second while the first is open.
    let (st, p) = act(
        a,
        r#"{"action":"promise","by":"customer","amount_minor":1000,"due_on":"2026-03-05"}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("less than 50%"), "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"promise","by":"customer","amount_minor":4500,"due_on":"2026-03-05"}"#,
    );
    assert_eq!(st, 201, "{p}");
    assert!(
        detail(&p).contains("promise 1: 45.00 EUR by 2026-03-05"),
        "{p}"
    );
    let (st, p) = act(
        a,
        r#"{"action":"promise","by":"customer","amount_minor":4500,"due_on":"2026-03-06"}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("promise 1"), "{p}");
    a.tick(when(4, 12));
    assert!(timeline(a).contains("promise:1:reminder"));
    // Not kept: broken two days (the grace) after its date.
    a.tick(when(9, 12));
    let (_, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    assert_eq!(c["broken_promises"], 1, "{c}");
    assert!(timeline(a).contains("promise 1 broken"));

    // A dispute, assigned with a due date, rejected with a notice.
    let (st, p) = act(
        a,
        r#"{"action":"dispute","by":"customer","invoice":10,"amount_minor":9999}"#,
    );
    assert_eq!(st, 422, "{p}");
    let (st, p) = act(a, r#"{"action":"dispute","by":"customer","invoice":10}"#);
    assert_eq!(st, 201, "{p}");
    a.tick(when(9, 13));
    let (_, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    assert_eq!(c["disputes"][0]["assigned"][0], "disputes", "{c}");
    assert_eq!(c["disputes"][0]["assigned"][1], "2026-03-23", "{c}");
    // The dispute is in the disputes team's queue with its talking points until worked.
    let (st, q) = a.call("GET", "/v1/queues/disputes", None, None);
    assert_eq!(st, 200, "{q}");
    let items = q["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{q}");
    assert_eq!(items[0]["kind"], "dispute");
    assert!(
        items[0]["talking_points"][0]
            .as_str()
            .unwrap()
            .contains("resolve by 2026-03-23")
    );
    let item = items[0]["item"].as_str().unwrap().to_string();
    let (st, q) = a.call("GET", "/v1/queues/collections", None, None);
    assert_eq!((st, q["items"].as_array().unwrap().len()), (200, 0), "{q}");
    let worked = format!(r#"{{"action":"outcome","by":"li","result":"reached","item":"{item}"}}"#);
    let (st, p) = act(a, &worked);
    assert_eq!(st, 201, "{p}");
    let (_, q) = a.call("GET", "/v1/queues/disputes", None, None);
    assert_eq!(q["items"].as_array().unwrap().len(), 0, "{q}");
    a.clock.set(when(9, 14));
    let (st, p) = act(a, &worked);
    assert_eq!(st, 422, "worked twice: {p}");
    let (st, p) = a.call("GET", "/v1/queues/all?limit=0", None, None);
    assert_eq!(st, 422, "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"resolve_dispute","by":"agent:li","dispute":1,"upheld":false,"note":"usage checked"}"#,
    );
    assert_eq!(st, 201, "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"resolve_dispute","by":"agent:li","dispute":1,"upheld":true}"#,
    );
    assert_eq!(st, 422, "{p}");
    a.tick(when(10, 12));
    assert!(timeline(a).contains("dispute:1:rejected"));
    // A second dispute, of part of the invoice: resolving it closes its queue item.
    let (st, p) = act(
        a,
        r#"{"action":"dispute","by":"agent:li","invoice":10,"amount_minor":1000}"#,
    );
    assert_eq!(st, 201, "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"dispute","by":"agent:li","invoice":10,"amount_minor":4000}"#,
    );
    assert_eq!(st, 422, "more than the part not disputed: {p}");
    a.tick(when(10, 12) + chrono::Duration::minutes(5));
    let (_, q) = a.call("GET", "/v1/queues/disputes", None, None);
    assert_eq!(q["items"].as_array().unwrap().len(), 1, "{q}");
    let (st, p) = act(
        a,
        r#"{"action":"resolve_dispute","by":"agent:li","dispute":2,"upheld":true}"#,
    );
    assert_eq!(st, 201, "{p}");
    let (_, q) = a.call("GET", "/v1/queues/disputes", None, None);
    assert_eq!(q["items"].as_array().unwrap().len(), 0, "{q}");

    // A fee waived by an agent within the role's limit; a trainee may grant nothing.
    let waive = |role: &str| {
        format!(
            r#"{{"action":"grant","by":"jo","role":"{role}","reason":"first time late","grant":{{"kind":"waive_fee","case":1,"step":"standard/late-fee"}}}}"#
        )
    };
    let (st, p) = act(a, &waive("trainee"));
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("may grant nothing"), "{p}");
    let (st, p) = act(a, &waive("agent"));
    assert_eq!(st, 201, "{p}");
    a.tick(when(10, 13));
    let (_, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    let measures = c["case"]["measures_in_force"].to_string();
    assert!(!measures.contains("\"fee\""), "{c}");

    // Plans: one that does not cover the debt, then one that does.
    let (st, p) = act(
        a,
        r#"{"action":"plan","by":"agent:jo","instalments":[{"due_on":"2026-03-11","amount_minor":1000},{"due_on":"2026-04-11","amount_minor":1000}]}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("does not cover"), "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"plan","by":"agent:jo","instalments":[{"due_on":"2026-03-11","amount_minor":1500},{"due_on":"2026-04-11","amount_minor":1500},{"due_on":"2026-05-11","amount_minor":1500}]}"#,
    );
    assert_eq!(st, 201, "{p}");
    a.tick(when(10, 14));
    let (_, c) = a.call("GET", "/v1/accounts/1/case", None, None);
    assert_eq!(c["plans"][0]["standing"], "admitted", "{c}");

    // Hardship: an unknown reason is refused; a known one is taken.
    let (st, p) = act(
        a,
        r#"{"action":"hardship","by":"customer","reason":"bored"}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("job_loss"), "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"hardship","by":"customer","reason":"illness"}"#,
    );
    assert_eq!(st, 201, "{p}");

    // Statutory holds: a crisis needs its treatment's end; one breathing space per year.
    let (st, p) = act(
        a,
        r#"{"action":"statutory_hold","by":"agent:jo","kind":"crisis"}"#,
    );
    assert_eq!(st, 422, "{p}");
    let (st, p) = act(
        a,
        r#"{"action":"statutory_hold","by":"agent:jo","kind":"breathing_space"}"#,
    );
    assert_eq!(st, 201, "{p}");
    assert!(detail(&p).contains("from 2026-03-10 to 2026-05-08"), "{p}");
    a.tick(when(11, 12));
    a.clock.set(when(11, 13));
    let (st, p) = act(
        a,
        r#"{"action":"statutory_hold","by":"agent:jo","kind":"breathing_space"}"#,
    );
    assert_eq!(st, 422, "{p}");
    assert!(detail(&p).contains("at most one every 365 days"), "{p}");

    // A call's outcome: a wrong number is not called again.
    let (st, p) = act(
        a,
        r#"{"action":"outcome","by":"jo","result":"wrong_number"}"#,
    );
    assert_eq!(st, 201, "{p}");
    assert!(timeline(a).contains("wrongnumber"));
    let (st, p) = act(a, r#"{"action":"outcome","by":"jo","result":"maybe"}"#);
    assert_eq!(st, 422, "{p}");

    // The case file (JSON and printable HTML) and the portfolio's case report.
    let (st, f) = a.call("GET", "/v1/accounts/1/case-file", None, None);
    assert_eq!(st, 200, "{f}");
    assert_eq!(f["invoices"][0]["invoice"], 10, "{f}");
    assert!(
        f["promises"][0]["what"]
            .as_str()
            .unwrap()
            .contains("broken"),
        "{f}"
    );
    let (st, h) = a.call("GET", "/v1/accounts/1/case-file?format=html", None, None);
    assert_eq!(st, 200);
    assert!(
        h.as_str().unwrap().contains("<h2>Payment plans</h2>"),
        "{h}"
    );
    let (st, _) = a.call("GET", "/v1/accounts/1/case-file?format=pdf", None, None);
    assert_eq!(st, 422);
    let (st, r) = a.call("GET", "/v1/reports/cases", None, None);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["promises"]["broken"], 1, "{r}");
    assert_eq!(r["disputes"]["rejected"], 1, "{r}");
    assert_eq!(r["disputes"]["credited"]["EUR"], 1000, "{r}");
    assert_eq!(r["hardship_by_reason"]["illness"], 1, "{r}");
    assert_eq!(r["holds"]["breathing_space"], 1, "{r}");
}

/// An account long overdue: placed with an agency at 60 days past due and referred to legal at
/// 90; the agency passes on a payment and returns the case, the lawyer records stages and closes.
fn agency_and_legal_flows(a: &App) {
    const OLD: &str = r#"[
 {"id":"open:2","account":2,"at":"2025-10-01T00:00:00Z","type":"account_opened","customer_type":"consumer","subscription_type":"postpaid","service_level":"standard","product":"mobile","time_zone":"Europe/Madrid","language":"en","currency":"EUR","consent":["sms","email"]},
 {"id":"inv:2","account":2,"at":"2025-10-20T00:00:00Z","type":"invoice_issued","invoice":20,"service":200,"amount_minor":30000,"currency":"EUR","due_on":"2025-11-15"}
]"#;
    let (st, r) = a.call("POST", "/v1/events", Some(OLD), None);
    assert_eq!(st, 200, "{r}");
    a.tick(when(1, 12));
    let act2 = |body: &str| a.call("POST", "/v1/accounts/2/actions", Some(body), None);
    let (_, c) = a.call("GET", "/v1/accounts/2/case", None, None);
    let measures = c["case"]["measures_in_force"].to_string();
    assert!(measures.contains("recoveries-ltd"), "{c}");
    assert!(measures.contains("a.okafor"), "{c}");
    let (st, p) = act2(
        r#"{"action":"agency_payment","by":"b2b-recoveries","payment":501,"amount_minor":5000}"#,
    );
    assert_eq!(st, 422, "another agency: {p}");
    let (st, p) = act2(
        r#"{"action":"agency_payment","by":"recoveries-ltd","payment":501,"amount_minor":5000}"#,
    );
    assert_eq!(st, 201, "{p}");
    let (st, p) = act2(r#"{"action":"legal_stage","by":"m.lindqvist","stage":"filed"}"#);
    assert_eq!(st, 422, "not the assigned lawyer: {p}");
    let (st, p) =
        act2(r#"{"action":"legal_stage","by":"a.okafor","stage":"notice_sent","cost_minor":1500}"#);
    assert_eq!(st, 201, "{p}");
    a.clock.set(when(2, 12));
    let (st, p) = act2(
        r#"{"action":"legal_stage","by":"a.okafor","stage":"closed","cost_minor":500,"note":"settled"}"#,
    );
    assert_eq!(st, 201, "{p}");
    let (st, p) = act2(
        r#"{"action":"agency_report","by":"recoveries-ltd","status":"returned","note":"no contact"}"#,
    );
    assert_eq!(st, 201, "{p}");
    a.tick(when(2, 13));
    let t = {
        let (_, t) = a.call("GET", "/v1/accounts/2/timeline", None, None);
        t.to_string()
    };
    assert!(t.contains("returned by agency recoveries-ltd"), "{t}");
    assert!(t.contains("the legal case was closed"), "{t}");
    let (_, r) = a.call("GET", "/v1/reports/cases", None, None);
    assert_eq!(r["agencies"]["recoveries-ltd"]["placed"], 1, "{r}");
    assert_eq!(
        r["agencies"]["recoveries-ltd"]["recovered_amount"]["EUR"], 5000,
        "{r}"
    );
    assert_eq!(r["lawyers"]["a.okafor"]["closed"], 1, "{r}");
    assert_eq!(r["lawyers"]["a.okafor"]["costs"]["EUR"], 2000, "{r}");
}

#[test]
fn cases_through_the_api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cases.db", dir.path().display());
    let a = app_on(dir, url, None);
    case_flows(&a);
    agency_and_legal_flows(&a);
}

#[test]
fn cases_through_the_api_on_postgres() {
    let base = std::env::var("FORBEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) else {
        eprintln!("NOTICE: PostgreSQL not reachable at {base}: case flows on PostgreSQL skipped");
        return;
    };
    let schema = format!("cases_api_{}", std::process::id());
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={schema}");
    let a = app_on(tempfile::tempdir().unwrap(), url, None);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        case_flows(&a);
        agency_and_legal_flows(&a);
    }));
    drop(a);
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}
