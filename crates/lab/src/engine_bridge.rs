//! The simulator and the dunning engine joined: what a simulated customer does becomes the
//! engine's events (bills, payments, disputes, promises, plans, hardship, contact outcomes), and
//! what the engine sends out (messages, call-backs, barring and its lifting) becomes what is done
//! to the customer. [`run`] lives a portfolio through days with the engine acting on it — the
//! loop the strategy lab measures strategies with.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use forbear_core::rules::{ContactRules, PastContact, Violation};
use forbear_core::{AccountId, Channel, ContactAction, SendWindow, Tone};
use forbear_engine::event::Instalment;
use forbear_engine::{Engine, Event, EventBody, EventId, OutboxItem, Store, StoreError, Target};
use forbear_sim::{Action, Customer, Portfolio};
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

fn id(s: String) -> Option<EventId> {
    EventId::new(s).ok()
}

fn noon(c: &Customer, day: NaiveDate) -> DateTime<Utc> {
    c.profile.zone.at(
        day,
        NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN),
    )
}

/// The engine's `account_opened` for a simulated customer.
pub fn account_opened(c: &Customer) -> Option<Event> {
    let p = &c.profile;
    Some(Event {
        id: id(format!("open:{}", p.id))?,
        account: p.id,
        at: p.zone.at(p.opened_on, NaiveTime::MIN),
        body: EventBody::AccountOpened {
            customer_type: p.customer_type,
            subscription_type: p.subscription,
            service_level: p.service_level,
            product: p.product,
            parent: p.parent,
            time_zone: p.zone,
            other_zones: Vec::new(),
            language: p.market.language.to_string(),
            currency: p.market.currency,
            consent: p.consent.iter().collect(),
            name: None,
            age_band: p.age,
            autopay: p.autopay,
            credit_limit_minor: p.credit_limit_minor,
        },
    })
}

/// What the engine learns of one simulator event (nothing for the simulator's own
/// bookkeeping: a promise settled, churn).
pub fn engine_event(c: &Customer, e: &forbear_sim::Event) -> Option<Event> {
    use forbear_sim::Event as S;
    let account = c.profile.id;
    let currency = c.profile.market.currency;
    let (key, at, body) = match e {
        S::InvoiceIssued {
            invoice_id,
            service_id,
            amount,
            issued_on,
            due_on,
        } => (
            format!("invoice:{invoice_id}"),
            c.profile.zone.at(*issued_on, NaiveTime::MIN),
            EventBody::InvoiceIssued {
                invoice: forbear_core::InvoiceId::new(*invoice_id).ok()?,
                service: forbear_core::ServiceId::new(*service_id).ok()?,
                amount_minor: *amount,
                currency,
                due_on: *due_on,
            },
        ),
        S::PaymentReceived {
            payment_id,
            invoice_id,
            at,
            amount,
            ..
        } => (
            format!("payment:{payment_id}"),
            *at,
            EventBody::PaymentReceived {
                payment: forbear_core::PaymentId::new(*payment_id).ok()?,
                invoice: invoice_id.and_then(|i| forbear_core::InvoiceId::new(i).ok()),
                amount_minor: *amount,
                currency,
                via: None,
            },
        ),
        S::PaymentReversed { payment_id, on } => (
            format!("payment:{payment_id}:reversed"),
            noon(c, *on),
            EventBody::PaymentReversed {
                payment: forbear_core::PaymentId::new(*payment_id).ok()?,
            },
        ),
        S::DisputeOpened {
            dispute_id,
            invoice_id,
            amount,
            on,
            ..
        } => (
            format!("dispute:{dispute_id}"),
            noon(c, *on),
            EventBody::DisputeOpened {
                dispute: forbear_core::DisputeId::new(*dispute_id).ok()?,
                invoice: forbear_core::InvoiceId::new(*invoice_id).ok()?,
                amount_minor: *amount,
                by: Some("customer".into()),
            },
        ),
        S::DisputeResolved {
            dispute_id,
            upheld,
            on,
        } => (
            format!("dispute:{dispute_id}:resolved"),
            noon(c, *on) + chrono::Duration::minutes(1),
            EventBody::DisputeResolved {
                dispute: forbear_core::DisputeId::new(*dispute_id).ok()?,
                upheld: *upheld,
                by: Some("billing".into()),
                note: None,
            },
        ),
        S::Contacted(o) => (
            format!("contact:{account}:{}:outcome", o.at.timestamp_micros()),
            o.at + chrono::Duration::minutes(1),
            EventBody::ContactOutcome {
                channel: o.action.channel,
                conversation: o.conversation,
                responded: o.responded,
                opted_out: o.opted_out,
                complaint: o.complaint,
                result: None,
                item: None,
            },
        ),
        S::PromiseMade {
            promise_id,
            amount,
            made_on,
            due_on,
            ..
        } => (
            format!("promise:{promise_id}"),
            noon(c, *made_on),
            EventBody::PromiseMade {
                promise: forbear_core::PromiseId::new(*promise_id).ok()?,
                amount_minor: *amount,
                due_on: *due_on,
                by: Some("customer".into()),
            },
        ),
        S::HardshipDeclared { on, reason } => (
            format!("hardship:{account}:{on}"),
            noon(c, *on),
            EventBody::HardshipDeclared {
                reason: (*reason).to_string(),
                review_on: None,
                by: Some("customer".into()),
            },
        ),
        S::PlanAccepted { on, schedule, .. } => (
            format!("plan:{account}:{on}"),
            noon(c, *on) + chrono::Duration::minutes(2),
            EventBody::PlanAgreed {
                plan: format!("plan-{on}"),
                instalments: schedule
                    .iter()
                    .map(|(d, a)| Instalment {
                        due_on: *d,
                        amount_minor: *a,
                    })
                    .collect(),
                by: Some("customer".into()),
            },
        ),
        S::PromiseSettled { .. } | S::Churned { .. } => return None,
    };
    Some(Event {
        id: id(key)?,
        account,
        at,
        body,
    })
}

/// What an outbox item does to the customer on `day` (their local date): a message or a
/// call sent that day (an agent's call offers a plan within policy, as its talking points
/// say), barring and its lifting; nothing for the rest; `None` for a contact to send on a
/// later local day (it waits).
pub fn sim_actions(c: &Customer, day: NaiveDate, item: &OutboxItem) -> Option<Vec<Action>> {
    let p: serde_json::Value = serde_json::from_str(&item.payload).unwrap_or_default();
    actions_of(c, day, item, &p)
}

fn actions_of(
    c: &Customer,
    day: NaiveDate,
    item: &OutboxItem,
    p: &serde_json::Value,
) -> Option<Vec<Action>> {
    let sent = p["send_at_utc"]
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    if sent.is_some_and(|at| c.profile.zone.local(at).date() > day) {
        return None;
    }
    let mut out: Vec<Action> = sim_action(c, day, item, p, sent).into_iter().collect();
    if item.target == Target::Queue && item.kind == "call_back" && !out.is_empty() {
        out.push(Action::OfferPlan { instalments: 3 });
    }
    Some(out)
}

fn sim_action(
    c: &Customer,
    day: NaiveDate,
    item: &OutboxItem,
    p: &serde_json::Value,
    sent: Option<DateTime<Utc>>,
) -> Option<Action> {
    match (item.target, item.kind.as_str()) {
        (Target::Channel, "message") | (Target::Queue, "call_back") => {
            let channel = Channel::parse(p["channel"].as_str()?).ok()?;
            let tone = Tone::parse(p["tone"].as_str()?).ok()?;
            let at = sent?;
            let local = c.profile.zone.local(at);
            if local.date() != day {
                return None;
            }
            let window = SendWindow::containing(local.time())?;
            Some(Action::Contact {
                action: ContactAction {
                    channel,
                    window,
                    tone,
                },
                at,
            })
        }
        (Target::Billing, "soft_bar" | "hard_bar" | "disconnect") => Some(Action::Bar),
        (Target::Billing, "lift_barring" | "reconnect") => Some(Action::Unbar),
        _ => None,
    }
}

/// What a day of [`run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    /// Simulator events passed to the engine.
    pub events: u64,
    /// Actions done to customers.
    pub actions: u64,
}

/// An outbox item done to a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// The account.
    pub account: AccountId,
    /// Where it went.
    pub target: Target,
    /// What it was (`message`, `call_back`, `soft_bar`, `reconnect`, …).
    pub kind: String,
    /// A contact's send instant and the probability with which it was chosen (1 for a
    /// channel a step fixes).
    pub contact: Option<(DateTime<Utc>, f64)>,
}

/// Everything one day of [`run_observed`] did, for whoever measures it.
#[derive(Debug)]
pub struct DayLog<'a> {
    /// The day (the portfolio has moved past it).
    pub day: NaiveDate,
    /// The customers at the end of the day.
    pub portfolio: &'a Portfolio,
    /// Outbox items delivered today.
    pub delivered: &'a [Delivered],
    /// What was done to customers.
    pub actions: &'a [(AccountId, Action)],
    /// Contacts that broke a contact rule by the customer's own facts when sent (the audit:
    /// must stay empty).
    pub violations: &'a [(AccountId, Violation)],
    /// Contacts the audit would flag that the engine withdrew later the same day — a payment
    /// earlier that day cured the account — but that reached the customer because the
    /// simulator lives a day at a time and the contact was handed over in the morning, and
    /// contacts flagged only because of such a contact; a real channel would have dropped it.
    /// Not the engine's violations; counted apart.
    pub withdrawn: &'a [(AccountId, Violation)],
    /// What the customers did.
    pub happened: &'a [(AccountId, forbear_sim::Event)],
    /// Counts.
    pub counts: Day,
}

/// Lives `portfolio` through `days` days with `engine` acting on it through `store`: each day
/// the outbox items due by the day's end are done to the customers (and marked delivered), the
/// customers live the day, what they did is ingested, and the engine ticks to the day's end
/// (UTC midnight after the latest local day). `on_day` sees each day.
pub fn run(
    portfolio: &mut Portfolio,
    engine: &Engine,
    store: &mut dyn Store,
    days: u32,
    on_day: &mut dyn FnMut(NaiveDate, Day),
) -> Result<(), StoreError> {
    run_observed(
        portfolio,
        engine,
        store,
        days,
        &mut |_, _, _| Vec::new(),
        &mut |log| {
            on_day(log.day, log.counts);
            ControlFlow::Continue(())
        },
    )
}

/// Events the lab adds to a day's (risk assessments): from the day, the portfolio and what its
/// customers did that day.
pub type Assess<'a> =
    dyn FnMut(NaiveDate, &Portfolio, &[(AccountId, forbear_sim::Event)]) -> Vec<Event> + 'a;

/// [`run`], with everything each day did shown to `observe` (which may stop the run after
/// that day: `ControlFlow::Break`) and the events `assess` adds to each day's ingested before
/// the engine ticks; every contact is audited
/// against the engine's contact rules with the customer's own facts (their opt-outs,
/// disputes, declared hardship and the contacts already made, that day's included) before it
/// reaches them.
pub fn run_observed(
    portfolio: &mut Portfolio,
    engine: &Engine,
    store: &mut dyn Store,
    days: u32,
    assess: &mut Assess<'_>,
    observe: &mut dyn FnMut(&DayLog<'_>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let opened: Vec<Event> = portfolio
        .customers()
        .iter()
        .filter_map(account_opened)
        .collect();
    store.ingest(&opened)?;
    // Late fees the engine charged and has not waived: owed to the engine, unknown to the
    // simulator (whose customers pay bills only), so the audit adds them to what is overdue.
    let mut fees: HashMap<AccountId, i64> = HashMap::new();
    // Contacts handed over by outbox key (account, send instant), and those the engine
    // withdrew after handing them over (it learnt of a same-day payment only at the day's end).
    let mut handed: HashMap<String, (AccountId, DateTime<Utc>)> = HashMap::new();
    let mut withdrawn_contacts: HashSet<(AccountId, DateTime<Utc>)> = HashSet::new();
    for _ in 0..days {
        let day = portfolio.today();
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            break;
        };
        // The end of the day everywhere (14:00 UTC on the next day is midnight at UTC-14); the
        // contacts the engine schedules for the customers' next local day wait for it.
        let end = next.and_time(NaiveTime::MIN).and_utc() + chrono::Duration::hours(14);
        let mut actions: Vec<(AccountId, Action)> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut delivered: Vec<Delivered> = Vec::new();
        for item in store.outbox_due(end, usize::MAX >> 1)? {
            let Some(c) = portfolio.customer(item.account) else {
                continue;
            };
            let p: serde_json::Value = serde_json::from_str(&item.payload).unwrap_or_default();
            // A contact for a later local day waits in the outbox for it.
            let Some(done) = actions_of(c, day, &item, &p) else {
                continue;
            };
            let contact = done.iter().find_map(|a| match a {
                Action::Contact { at, .. } => Some((*at, p["propensity"].as_f64().unwrap_or(1.0))),
                _ => None,
            });
            if item.kind == "cancel_contact"
                && let Some(k) = p["cancels"].as_str()
                && let Some(c) = handed.get(k)
            {
                withdrawn_contacts.insert(*c);
            }
            if let Some((at, _)) = contact {
                handed.insert(item.key.clone(), (item.account, at));
            }
            if item.target == Target::Billing {
                let amount = p["amount_minor"].as_i64().unwrap_or(0);
                match item.kind.as_str() {
                    "late_fee" => *fees.entry(item.account).or_default() += amount,
                    "waive_fee" => *fees.entry(item.account).or_default() -= amount,
                    _ => {}
                }
            }
            keys.extend(done.iter().map(|_| item.key.clone()));
            actions.extend(done.into_iter().map(|a| (item.account, a)));
            store.outbox_delivered(&item.key, end)?;
            delivered.push(Delivered {
                account: item.account,
                target: item.target,
                kind: item.kind,
                contact,
            });
        }
        let flagged = audit(
            portfolio,
            engine.rules(),
            day,
            &actions,
            &fees,
            &withdrawn_contacts,
        );
        // What was handed over more than a cool-down ago can no longer be withdrawn.
        let horizon = end - chrono::Duration::days(8);
        handed.retain(|_, (_, at)| *at > horizon);
        withdrawn_contacts.retain(|(_, at)| *at > horizon);
        let happened = portfolio
            .step(&actions)
            .map_err(|e| StoreError::Backend(format!("simulator: {e}")))?;
        let mut events: Vec<Event> = happened
            .iter()
            .filter_map(|(a, e)| engine_event(portfolio.customer(*a)?, e))
            .collect();
        events.extend(assess(day, portfolio, &happened));
        store.ingest(&events)?;
        engine.tick(store, end, 1_000, &mut |_| {})?;
        let (mut violations, mut withdrawn) = (Vec::new(), Vec::new());
        for (k, v, explained) in flagged {
            let (account, key) = (actions[k].0, &keys[k]);
            if explained || withdrawn_later(store, account, key)? {
                withdrawn.push((account, v));
            } else {
                violations.push((account, v));
            }
        }
        let flow = observe(&DayLog {
            day,
            portfolio,
            delivered: &delivered,
            actions: &actions,
            violations: &violations,
            withdrawn: &withdrawn,
            happened: &happened,
            counts: Day {
                events: events.len() as u64,
                actions: actions.len() as u64,
            },
        });
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

/// Whether the engine withdrew the contact of outbox item `key` (a scheduled contact
/// reversed, on cure).
fn withdrawn_later(
    store: &mut dyn Store,
    account: AccountId,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(store.events(account)?.iter().any(|e| {
        matches!(&e.body, EventBody::MeasureReversed {
            measure: forbear_engine::Measure::PendingContact { effect, .. },
            ..
        } if effect == key)
    }))
}

/// The contacts among `actions` that break `rules` by the customers' facts at the start of
/// `day`, each judged with the day's earlier contacts counted: their positions in `actions`
/// and the rule.
fn audit(
    portfolio: &Portfolio,
    rules: &ContactRules,
    day: NaiveDate,
    actions: &[(AccountId, Action)],
    fees: &HashMap<AccountId, i64>,
    withdrawn: &HashSet<(AccountId, DateTime<Utc>)>,
) -> Vec<(usize, Violation, bool)> {
    let mut out = Vec::new();
    // Sorted by account: the day's earlier contacts are the current account's.
    let mut today: (Option<AccountId>, Vec<PastContact>) = (None, Vec::new());
    let mut sorted: Vec<(usize, &(AccountId, Action))> = actions.iter().enumerate().collect();
    sorted.sort_by_key(|(_, (a, x))| {
        (
            *a,
            match x {
                Action::Contact { at, .. } => Some(*at),
                _ => None,
            },
        )
    });
    for (k, (account, a)) in sorted {
        let Action::Contact { action, at } = a else {
            continue;
        };
        let Some(c) = portfolio.customer(*account) else {
            continue;
        };
        if today.0 != Some(*account) {
            today = (Some(*account), Vec::new());
        }
        let mut recent = c.recent_contacts().to_vec();
        recent.extend_from_slice(&today.1);
        let mut facts = c.contact_facts(day);
        facts.recent = &recent;
        // The rule holds dunning for the disputed amount: a contact breaks it when something is
        // overdue and all of it, unpaid late fees included, is disputed (the simulator's own
        // policy holds a disputed bill as a whole).
        let v = c.view(day);
        let owed = v.overdue + fees.get(account).copied().unwrap_or(0).max(0);
        facts.dispute_open = v.overdue > 0 && owed <= c.disputed_overdue(day);
        if let Err(v) = rules.check(&facts, action.channel, action.tone, *at) {
            // Explained by contacts the engine withdrew after handing them over: without
            // them, the contact keeps the rules.
            let kept: Vec<PastContact> = recent
                .iter()
                .filter(|p| !withdrawn.contains(&(*account, p.at)))
                .copied()
                .collect();
            let explained = kept.len() < recent.len() && {
                facts.recent = &kept;
                rules
                    .check(&facts, action.channel, action.tone, *at)
                    .is_ok()
            };
            out.push((k, v, explained));
        }
        today
            .1
            .push(PastContact::sent(*at, action.channel, Some(action.tone)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use forbear_engine::{MemoryStore, RuleOfThumb, ScenarioSet, Templates};
    use std::sync::Arc;

    /// The simulator's customers, facing the engine, take every case path: they promise, agree
    /// plans, declare hardship and dispute — and the engine judges and follows each.
    #[test]
    fn simulated_customers_take_the_case_paths_through_the_engine() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut portfolio =
            Portfolio::new(2000, 7, &forbear_sim::SegmentMix::default(), start).with_self_service();
        let engine = Engine::new(
            ScenarioSet::builtin().unwrap(),
            ContactRules::default(),
            Templates::builtin().unwrap(),
            Arc::new(RuleOfThumb),
        );
        let mut store = MemoryStore::new();
        let (mut events, mut actions) = (0, 0);
        run(&mut portfolio, &engine, &mut store, 150, &mut |_, d| {
            events += d.events;
            actions += d.actions;
        })
        .unwrap();
        assert!(
            events > 0 && actions > 0,
            "{events} events, {actions} actions"
        );
        let end = start.and_time(NaiveTime::MIN).and_utc() + chrono::Duration::days(151);
        let r = engine.report(&mut store, end, &mut |_| {}).unwrap();
        assert!(r.promises.made > 0, "{r:#?}");
        assert!(r.promises.kept + r.promises.broken > 0, "{r:#?}");
        assert!(r.plans.made > 0, "{r:#?}");
        assert!(
            r.plans.made > r.plans.refused,
            "some plans admitted: {r:#?}"
        );
        assert!(!r.hardship_by_reason.is_empty(), "{r:#?}");
        assert!(r.disputes.opened > 0, "{r:#?}");
    }
}
