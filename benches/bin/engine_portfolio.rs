//! The engine at portfolio scale: synthesizes a portfolio's events (about 10% delinquent),
//! ingests them, brings the engine up to the day before the last, then times the last day's
//! tick — the daily run a collections team does.
//!
//! `cargo run --release -p forbear-benches --bin engine-portfolio -- --accounts 1000000 \
//!   --store sqlite:///tmp/engine-1m.db` prints one JSON line per phase. With `--phase daily
//! --store …` on a store already set up, only the daily tick runs; `--phase ingest` and
//! `--phase catchup` run those alone (two `catchup` processes side by side on one PostgreSQL
//! store share the work through `FOR UPDATE SKIP LOCKED`).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{
    AccountId, Channel, Currency, CustomerType, InvoiceId, PaymentId, Product, Rng, ServiceId,
    ServiceLevel, SubscriptionType, TimeZone,
};
use forbear_engine::{
    Engine, Event, EventBody, EventId, RiskBand, RuleOfThumb, ScenarioSet, Store, Templates,
};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

const LAST: (i32, u32, u32) = (2026, 6, 30);

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// One account's events: opened, maybe a risk band, monthly invoices (one or two services),
/// payments — 90% pay around the due date, 10% stop paying at some point.
fn account_events(a: i64, zones: &[TimeZone], out: &mut Vec<Event>) -> Result<(), String> {
    let mut rng = Rng::new(7, a as u64);
    let account = AccountId::new(a).map_err(|e| e.to_string())?;
    let zone = zones[(a as usize) % zones.len()];
    let mk = |id: String, at, body| -> Result<Event, String> {
        Ok(Event {
            id: EventId::new(id)?,
            account,
            at,
            body,
        })
    };
    let opened = zone.at(day(2025, 1, 1), NaiveTime::MIN);
    out.push(mk(
        format!("account:{a}"),
        opened,
        EventBody::AccountOpened {
            customer_type: if rng.chance(0.9) {
                CustomerType::Consumer
            } else {
                CustomerType::SmallBusiness
            },
            subscription_type: SubscriptionType::Postpaid,
            service_level: ServiceLevel::Standard,
            product: Product::Mobile,
            parent: None,
            time_zone: zone,
            other_zones: vec![],
            language: "en".into(),
            currency: Currency::EUR,
            consent: vec![
                Channel::Sms,
                Channel::Email,
                Channel::AgentCall,
                Channel::Letter,
            ],
            name: None,
            age_band: None,
            autopay: false,
            credit_limit_minor: None,
        },
    )?);
    if rng.chance(0.3) {
        let band = RiskBand::ALL[rng.below(5) as usize];
        out.push(mk(
            format!("risk:{a}"),
            opened,
            EventBody::RiskAssessed { band },
        )?);
    }
    let delinquent = rng.chance(0.10);
    let months: &[u32] = if delinquent { &[3, 4, 5, 6] } else { &[5, 6] };
    let stop_at = if delinquent {
        rng.below(months.len() as u64) as usize
    } else {
        usize::MAX
    };
    let cycle = 1 + (a % 28) as u32;
    let services = if rng.chance(0.05) { 2 } else { 1 };
    for (k, &m) in months.iter().enumerate() {
        let issued = day(2026, m, cycle);
        if issued > day(LAST.0, LAST.1, LAST.2) {
            continue;
        }
        let due = issued + Duration::days(21);
        for s in 1..=services {
            let inv = a * 100 + i64::from(m) * 10 + s;
            let amount = rng.between(1500, 9000);
            let (Ok(invoice), Ok(service)) = (InvoiceId::new(inv), ServiceId::new(a * 10 + s))
            else {
                continue;
            };
            out.push(mk(
                format!("invoice:{inv}"),
                zone.at(issued, NaiveTime::MIN),
                EventBody::InvoiceIssued {
                    invoice,
                    service,
                    amount_minor: amount,
                    currency: Currency::EUR,
                    due_on: due,
                },
            )?);
            if k >= stop_at {
                continue;
            }
            // Most pay in the week before the due date; some a few days late.
            let offset = if rng.chance(0.9) {
                -rng.between(0, 7)
            } else {
                rng.between(1, 6)
            };
            let at = zone.at(
                due + Duration::days(offset),
                NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN),
            ) + Duration::minutes(rng.between(0, 600));
            if let Ok(payment) = PaymentId::new(inv) {
                out.push(mk(
                    format!("payment:{inv}"),
                    at,
                    EventBody::PaymentReceived {
                        payment,
                        invoice: Some(invoice),
                        amount_minor: amount,
                        currency: Currency::EUR,
                        via: None,
                    },
                )?);
            }
        }
    }
    Ok(())
}

/// A numeric flag, or a clear error naming it.
fn num<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match arg(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name} {v:?}: expected a whole number")),
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("engine-portfolio: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let accounts: i64 = num("--accounts", 100_000)?;
    let url = arg("--store").unwrap_or_else(|| "sqlite:///tmp/engine-bench.db".into());
    let phase = arg("--phase").unwrap_or_else(|| "all".into());
    let batch: usize = num("--batch", 2000)?;
    if !["all", "setup", "ingest", "catchup", "daily"].contains(&phase.as_str()) {
        return Err(
            format!("--phase {phase:?}: expected all, setup, ingest, catchup or daily").into(),
        );
    }
    let engine = Engine::new(
        ScenarioSet::builtin()?,
        ContactRules::default(),
        Templates::builtin()?,
        Arc::new(RuleOfThumb),
    );
    let mut store: Box<dyn Store> = forbear_store::open(&url)?;
    let last = Utc
        .with_ymd_and_hms(LAST.0, LAST.1, LAST.2, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let eve = last - Duration::microseconds(1);
    let end = last + Duration::days(1) - Duration::microseconds(1);
    if phase == "all" || phase == "setup" || phase == "ingest" {
        let zones: Vec<TimeZone> = [
            "Europe/Madrid",
            "Europe/London",
            "America/Sao_Paulo",
            "Europe/Berlin",
        ]
        .iter()
        .filter_map(|z| TimeZone::parse(z).ok())
        .collect();
        let t = Instant::now();
        let mut events = Vec::new();
        for a in 1..=accounts {
            account_events(a, &zones, &mut events)?;
        }
        println!(
            r#"{{"phase":"generate","accounts":{accounts},"events":{},"seconds":{:.2}}}"#,
            events.len(),
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let mut stored = 0;
        for chunk in events.chunks(20_000) {
            stored += store.ingest(chunk)?.stored;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            r#"{{"phase":"ingest","store":"{url}","events":{stored},"seconds":{secs:.2},"events_per_second":{:.0}}}"#,
            stored as f64 / secs
        );
        drop(events);
    }
    if phase == "all" || phase == "setup" || phase == "catchup" {
        let t = Instant::now();
        let s = engine.tick(store.as_mut(), eve, batch, &mut |_| {})?;
        println!(
            r#"{{"phase":"catch_up","until":"{eve}","evaluations":{},"effects":{},"seconds":{:.2}}}"#,
            s.evaluations,
            s.effects,
            t.elapsed().as_secs_f64()
        );
    }
    if phase == "all" || phase == "daily" {
        let t = Instant::now();
        let s = engine.tick(store.as_mut(), end, batch, &mut |_| {})?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            r#"{{"phase":"daily_tick","day":"{}","accounts":{accounts},"evaluations":{},"cases_opened":{},"cases_closed":{},"effects":{},"actions":{:?},"seconds":{secs:.2}}}"#,
            last.date_naive(),
            s.evaluations,
            s.cases_opened,
            s.cases_closed,
            s.effects,
            s.actions
        );
    }
    Ok(())
}
