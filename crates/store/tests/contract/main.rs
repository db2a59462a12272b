//! One contract suite for every store: the in-memory reference, SQLite and PostgreSQL.
//!
//! PostgreSQL runs at `FORBEAR_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`),
//! each test in a schema of its own; when no server answers, those tests print a notice and pass.

mod import;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{
    AccountId, Channel, Currency, CustomerType, InvoiceId, PaymentId, Product, ServiceId,
    ServiceLevel, SubscriptionType, TimeZone,
};
use forbear_engine::{
    Effect, Engine, Event, EventBody, EventId, MemoryStore, Outcome, RuleOfThumb, ScenarioSet,
    Store, Target, Templates,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn postgres_url() -> String {
    std::env::var("FORBEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static SCHEMA: AtomicU32 = AtomicU32::new(0);

type Named = (&'static str, Box<dyn Store>);

/// Drops a test's PostgreSQL schema when the test ends.
struct DropSchema(String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&postgres_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
        }
    }
}

/// A fresh store of each kind; PostgreSQL is left out (with a notice) when not reachable.
fn stores_and_cleanup(dir: &tempfile::TempDir) -> (Vec<Named>, Option<DropSchema>) {
    let mut v: Vec<Named> = vec![
        ("memory", Box::new(MemoryStore::new())),
        (
            "sqlite",
            forbear_store::open(&format!(
                "sqlite://{}/s{}.db",
                dir.path().display(),
                SCHEMA.fetch_add(1, Ordering::SeqCst)
            ))
            .unwrap(),
        ),
    ];
    let schema = format!(
        "forbear_test_{}_{}",
        std::process::id(),
        SCHEMA.fetch_add(1, Ordering::SeqCst)
    );
    let base = postgres_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut guard = None;
    match postgres::Client::connect(&base, postgres::NoTls) {
        Ok(mut c) => {
            c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .unwrap();
            v.push((
                "postgres",
                forbear_store::open(&format!("{base}{sep}schema={schema}")).unwrap(),
            ));
            guard = Some(DropSchema(schema));
        }
        Err(e) => eprintln!(
            "NOTICE: PostgreSQL not reachable at {base} ({e}): postgres contract tests skipped"
        ),
    }
    (v, guard)
}

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + Duration::days(day - 1)
}

fn opened(account: i64) -> Event {
    Event {
        id: EventId::new(format!("open:{account}")).unwrap(),
        account: AccountId::new(account).unwrap(),
        at: at(1) - Duration::days(30),
        body: EventBody::AccountOpened {
            customer_type: CustomerType::Consumer,
            subscription_type: SubscriptionType::Postpaid,
            service_level: ServiceLevel::Standard,
            product: Product::Mobile,
            parent: None,
            time_zone: TimeZone::parse("Europe/Madrid").unwrap(),
            other_zones: vec![],
            language: "en".into(),
            currency: Currency::EUR,
            consent: vec![Channel::Sms, Channel::Email, Channel::Letter],
            name: None,
            age_band: None,
            autopay: false,
            credit_limit_minor: None,
        },
    }
}

fn invoice(account: i64, id: i64, amount: i64, due_day: i64) -> Event {
    Event {
        id: EventId::new(format!("inv:{id}")).unwrap(),
        account: AccountId::new(account).unwrap(),
        at: at(due_day) - Duration::days(14),
        body: EventBody::InvoiceIssued {
            invoice: InvoiceId::new(id).unwrap(),
            service: ServiceId::new(account * 10).unwrap(),
            amount_minor: amount,
            currency: Currency::EUR,
            due_on: at(due_day).date_naive(),
        },
    }
}

fn payment(account: i64, id: i64, amount: i64, day: i64) -> Event {
    Event {
        id: EventId::new(format!("pay:{id}")).unwrap(),
        account: AccountId::new(account).unwrap(),
        at: at(day),
        body: EventBody::PaymentReceived {
            payment: PaymentId::new(id).unwrap(),
            invoice: None,
            amount_minor: amount,
            currency: Currency::EUR,
            via: None,
        },
    }
}

fn engine() -> Engine {
    Engine::new(
        ScenarioSet::builtin().unwrap(),
        ContactRules::default(),
        Templates::builtin().unwrap(),
        Arc::new(RuleOfThumb),
    )
}

#[test]
fn ingestion_is_idempotent_and_schedules_at_the_earliest_new_event() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _cleanup) = stores_and_cleanup(&dir);
    for (name, mut s) in stores {
        let events = vec![
            opened(1),
            invoice(1, 10, 3000, 10),
            invoice(1, 10, 3000, 10),
        ];
        let r = s.ingest(&events).unwrap();
        assert_eq!((r.stored, r.duplicates), (2, 1), "{name}");
        let r = s.ingest(&events[1..]).unwrap();
        assert_eq!((r.stored, r.duplicates), (0, 2), "{name}");
        assert_eq!(
            s.events(AccountId::new(1).unwrap()).unwrap().len(),
            2,
            "{name}"
        );
        assert_eq!(
            s.accounts().unwrap(),
            vec![AccountId::new(1).unwrap()],
            "{name}"
        );
        // Due at the earliest event: claimed at a time after it, not before.
        let mut seen = Vec::new();
        assert_eq!(
            s.work(at(-40), 10, &mut |c| {
                seen.push(c.due);
                noop(&c)
            })
            .unwrap(),
            0,
            "{name}"
        );
        assert_eq!(
            s.work(at(-29), 10, &mut |c| {
                seen.push(c.due);
                noop(&c)
            })
            .unwrap(),
            1,
            "{name}"
        );
        assert_eq!(seen, vec![at(1) - Duration::days(30)], "{name}");
        // The outcome's wake time is kept; nothing is due before it.
        assert_eq!(s.work(at(100), 10, &mut |c| noop(&c)).unwrap(), 0, "{name}");
        assert_eq!(s.work(at(200), 10, &mut |c| noop(&c)).unwrap(), 1, "{name}");
        // A late event makes the account due again at its own time.
        s.ingest(&[payment(1, 9, 100, 50)]).unwrap();
        let mut seen = Vec::new();
        assert_eq!(
            s.work(at(60), 10, &mut |c| {
                seen.push((c.due, c.evaluated_at));
                noop(&c)
            })
            .unwrap(),
            1,
            "{name}"
        );
        assert_eq!(seen, vec![(at(50), Some(at(200)))], "{name}");
    }
}

fn noop(c: &forbear_engine::Claimed) -> Outcome {
    Outcome {
        account: c.account,
        evaluated_at: c.due,
        events: vec![],
        effects: vec![],
        next_wake: Some(at(200)),
    }
}

fn effect(key: &str, after: DateTime<Utc>, cancels: Option<&str>) -> Effect {
    Effect {
        key: key.into(),
        account: AccountId::new(1).unwrap(),
        target: Target::Channel,
        kind: "message".into(),
        deliver_after: after,
        payload: serde_json::json!({"k": key}),
        cancels: cancels.map(Into::into),
    }
}

#[test]
fn the_outbox_stores_each_key_once_and_tracks_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _cleanup) = stores_and_cleanup(&dir);
    for (name, mut s) in stores {
        s.ingest(&[opened(1)]).unwrap();
        let mut round = 0;
        let mut write = |s: &mut Box<dyn Store>, effects: Vec<Effect>| {
            round += 1;
            s.ingest(&[payment(1, round, 1, 1)]).unwrap();
            s.work(at(300), 10, &mut |c| Outcome {
                effects: effects.clone(),
                ..noop(&c)
            })
            .unwrap()
        };
        assert_eq!(
            write(
                &mut s,
                vec![effect("a", at(1), None), effect("b", at(5), None)]
            ),
            1,
            "{name}"
        );
        // The same key again (a decision re-made after a crash) is not a second effect.
        write(&mut s, vec![effect("a", at(1), None)]);
        assert_eq!(s.outbox_counts().unwrap(), (2, 0, 0), "{name}");
        let due: Vec<String> = s
            .outbox_due(at(2), 10)
            .unwrap()
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(due, vec!["a"], "{name}: only what is due");
        s.outbox_failed("a", "503", at(3)).unwrap();
        assert!(
            s.outbox_due(at(2), 10).unwrap().is_empty(),
            "{name}: retry waits"
        );
        let again = s.outbox_due(at(3), 10).unwrap();
        assert_eq!(
            (again[0].key.as_str(), again[0].attempts),
            ("a", 1),
            "{name}"
        );
        assert_eq!(again[0].payload, r#"{"k":"a"}"#, "{name}");
        s.outbox_delivered("a", at(3)).unwrap();
        // Cancelling a delivered effect does nothing; an undelivered one is dropped.
        write(
            &mut s,
            vec![effect("x", at(4), Some("a")), effect("y", at(4), Some("b"))],
        );
        assert_eq!(s.outbox_counts().unwrap(), (0, 1, 1), "{name}");
        assert!(s.outbox_due(at(10), 10).unwrap().is_empty(), "{name}");
    }
}

#[test]
fn work_queue_items_are_listed_by_team_until_worked() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _cleanup) = stores_and_cleanup(&dir);
    let item = |key: &str, team: &str, after: i64| Effect {
        target: Target::Queue,
        kind: "call_back".into(),
        payload: serde_json::json!({"team": team, "k": key}),
        ..effect(key, at(after), None)
    };
    for (name, mut s) in stores {
        s.ingest(&[opened(1), payment(1, 1, 1, 1)]).unwrap();
        let effects = vec![
            item("q1", "collections", 2),
            item("q2", "disputes", 3),
            item("q3", "collections", 9),
            effect("m", at(2), None),
        ];
        s.work(at(300), 10, &mut |c| Outcome {
            effects: effects.clone(),
            ..noop(&c)
        })
        .unwrap();
        let keys = |s: &mut Box<dyn Store>, team: Option<&str>, until: i64| -> Vec<String> {
            s.work_items(team, at(until), 10)
                .unwrap()
                .into_iter()
                .map(|i| i.key)
                .collect()
        };
        assert_eq!(keys(&mut s, Some("collections"), 5), vec!["q1"], "{name}");
        assert_eq!(keys(&mut s, None, 10), vec!["q1", "q2", "q3"], "{name}");
        let one = AccountId::new(1).unwrap();
        let other = AccountId::new(2).unwrap();
        assert!(
            !s.work_done(other, "q1", at(5)).unwrap(),
            "{name}: another account's item"
        );
        assert!(
            !s.work_done(one, "m", at(5)).unwrap(),
            "{name}: not a queue item"
        );
        assert!(s.work_done(one, "q1", at(5)).unwrap(), "{name}");
        assert!(
            !s.work_done(one, "q1", at(6)).unwrap(),
            "{name}: worked once"
        );
        assert_eq!(keys(&mut s, Some("collections"), 10), vec!["q3"], "{name}");
    }
}

#[test]
fn the_clock_only_moves_forward() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _cleanup) = stores_and_cleanup(&dir);
    for (name, mut s) in stores {
        assert_eq!(s.clock().unwrap(), None, "{name}");
        s.set_clock(at(5)).unwrap();
        s.set_clock(at(3)).unwrap();
        assert_eq!(s.clock().unwrap(), Some(at(5)), "{name}");
    }
}

#[test]
fn every_store_gives_the_engine_the_same_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    for a in 1..=20 {
        events.push(opened(a));
        events.push(invoice(a, a * 100, 1000 + a * 250, 10));
        if a % 3 == 0 {
            events.push(payment(a, a * 1000, 1000 + a * 250, 8 + a));
        }
    }
    let e = engine();
    let mut reference: Option<Vec<Vec<Event>>> = None;
    let (stores, _cleanup) = stores_and_cleanup(&dir);
    for (name, mut s) in stores {
        s.ingest(&events).unwrap();
        // Two ticks with small batches: many transactions.
        e.tick(s.as_mut(), at(20), 3, &mut |_| {}).unwrap();
        s.ingest(&events).unwrap();
        e.tick(s.as_mut(), at(60), 7, &mut |_| {}).unwrap();
        let logs: Vec<Vec<Event>> = (1..=20)
            .map(|a| {
                let mut v: Vec<Event> = s
                    .events(AccountId::new(a).unwrap())
                    .unwrap()
                    .into_iter()
                    .filter(Event::is_engine)
                    .collect();
                v.sort_by(|x, y| x.order_key().cmp(&y.order_key()));
                v
            })
            .collect();
        assert!(logs.iter().any(|l| l.len() > 5), "{name}: the engine acted");
        match &reference {
            None => reference = Some(logs),
            Some(r) => assert_eq!(r, &logs, "{name} differs from memory"),
        }
        let (pending, _, _) = s.outbox_counts().unwrap();
        assert!(pending > 0, "{name}");
    }
}
