use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{
    AccountId, Channel, Currency, CustomerType, Product, ServiceLevel, SubscriptionType, TimeZone,
};
use forbear_engine::{
    AccountState, Engine, Event, EventBody, EventId, MemoryStore, RuleOfThumb, ScenarioSet, Store,
    Templates, TickSummary,
};
use std::sync::Arc;

pub fn engine() -> Engine {
    Engine::new(
        ScenarioSet::builtin().unwrap(),
        ContactRules::default(),
        Templates::builtin().unwrap(),
        Arc::new(RuleOfThumb),
    )
}

pub fn engine_with(scenarios: &str) -> Engine {
    Engine::new(
        ScenarioSet::parse("test.toml", scenarios).unwrap(),
        ContactRules::default(),
        Templates::builtin().unwrap(),
        Arc::new(RuleOfThumb),
    )
}

pub fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + Duration::days(i64::from(d) - 1)
}

/// 10:00 UTC on March `d` (day 1 = March 1st), 2026.
pub fn at(d: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day(d).and_hms_opt(10, 0, 0).unwrap())
}

pub fn acc(id: i64) -> AccountId {
    AccountId::new(id).unwrap()
}

pub fn ev(id: &str, account: i64, when: DateTime<Utc>, body: EventBody) -> Event {
    Event {
        id: EventId::new(id).unwrap(),
        account: acc(account),
        at: when,
        body,
    }
}

pub fn opened(account: i64, customer_type: CustomerType, zone: &str) -> Event {
    ev(
        &format!("open:{account}"),
        account,
        at(1) - Duration::days(30),
        EventBody::AccountOpened {
            customer_type,
            subscription_type: SubscriptionType::Postpaid,
            service_level: ServiceLevel::Standard,
            product: Product::Mobile,
            parent: None,
            time_zone: TimeZone::parse(zone).unwrap(),
            other_zones: vec![],
            language: "en".into(),
            currency: Currency::EUR,
            consent: vec![
                Channel::Sms,
                Channel::Email,
                Channel::AgentCall,
                Channel::Letter,
            ],
            name: Some("Ana".into()),
            age_band: Some(forbear_core::AgeBand::A35To44),
            autopay: false,
            credit_limit_minor: Some(50_000),
        },
    )
}

pub fn invoice(account: i64, id: i64, service: i64, amount: i64, due: u32) -> Event {
    ev(
        &format!("inv:{id}"),
        account,
        at(due) - Duration::days(14),
        EventBody::InvoiceIssued {
            invoice: forbear_core::InvoiceId::new(id).unwrap(),
            service: forbear_core::ServiceId::new(service).unwrap(),
            amount_minor: amount,
            currency: Currency::EUR,
            due_on: day(due),
        },
    )
}

pub fn payment(
    account: i64,
    id: i64,
    invoice: Option<i64>,
    amount: i64,
    when: DateTime<Utc>,
) -> Event {
    ev(
        &format!("pay:{id}"),
        account,
        when,
        EventBody::PaymentReceived {
            payment: forbear_core::PaymentId::new(id).unwrap(),
            invoice: invoice.map(|i| forbear_core::InvoiceId::new(i).unwrap()),
            amount_minor: amount,
            currency: Currency::EUR,
            via: None,
        },
    )
}

/// Ingests and ticks to `until`.
pub fn run(
    engine: &Engine,
    store: &mut MemoryStore,
    events: &[Event],
    until: DateTime<Utc>,
) -> TickSummary {
    store.ingest(events).unwrap();
    engine.tick(store, until, 100, &mut |_| {}).unwrap()
}

pub fn state(store: &mut MemoryStore, account: i64) -> AccountState {
    let events = store.events(acc(account)).unwrap();
    AccountState::replay(acc(account), &events, None)
}

/// The engine's events of an account as `kind step/measure` lines.
pub fn timeline(store: &mut MemoryStore, account: i64) -> Vec<String> {
    let mut events = store.events(acc(account)).unwrap();
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    events
        .iter()
        .filter(|e| e.is_engine())
        .map(|e| match &e.body {
            EventBody::StepExecuted { step, action, .. } => format!("executed {step} {action}"),
            EventBody::StepSkipped { step, reason, .. } => format!("skipped {step}: {reason}"),
            EventBody::MeasureReversed { measure, .. } => {
                format!("reversed {}", measure.reversal())
            }
            EventBody::ContactBlocked { step, rule, .. } => format!("blocked {step}: {rule}"),
            other => other.kind().to_string(),
        })
        .collect()
}
