use crate::helpers::*;
use chrono::Duration;
use forbear_core::rules::{ContactFacts, ContactRules};
use forbear_core::{Channel, CustomerType, DisputeId, InvoiceId, PaymentId, PromiseId, TimeZone};
use forbear_engine::event::HoldKind;
use forbear_engine::{AccountState, Event, EventBody, MemoryStore, Store};
use proptest::prelude::*;

/// A random account history: invoices on up to three services, payments (some before the
/// invoice they name), bounces, disputes, promises, plans, grants, contact outcomes, hardship,
/// holds, pauses.
fn history() -> impl Strategy<Value = Vec<Event>> {
    let item = (
        0u8..14,
        1u32..100,
        1i64..4,
        500i64..9000,
        any::<bool>(),
        0usize..8,
    );
    (prop::collection::vec(item, 1..30), any::<bool>()).prop_map(|(items, two_zones)| {
        let mut open = opened(9, CustomerType::Consumer, "Europe/Madrid");
        if two_zones
            && let EventBody::AccountOpened {
                other_zones,
                consent,
                ..
            } = &mut open.body
        {
            other_zones.push(TimeZone::parse("America/New_York").unwrap());
            consent.push(Channel::Push);
        }
        let mut out = vec![open];
        let mut invoices = 0i64;
        for (n, (kind, d, svc, amount, flag, pick)) in items.into_iter().enumerate() {
            let n = n as i64 + 1;
            let when = at(d) + Duration::minutes(n * 7);
            let inv = |k: usize| 1000 + (k as i64 % invoices.max(1)) + 1;
            let body = match kind {
                0..=2 => {
                    invoices += 1;
                    out.push(invoice(9, 1000 + invoices, svc, amount, d + 14));
                    continue;
                }
                3 | 4 => EventBody::PaymentReceived {
                    payment: PaymentId::new(n).unwrap(),
                    invoice: flag.then(|| InvoiceId::new(inv(pick)).unwrap()),
                    amount_minor: amount,
                    currency: forbear_core::Currency::EUR,
                    via: None,
                },
                5 => EventBody::PaymentReversed {
                    payment: PaymentId::new((pick as i64 % n) + 1).unwrap(),
                },
                6 => EventBody::DisputeOpened {
                    dispute: DisputeId::new(n).unwrap(),
                    invoice: InvoiceId::new(inv(pick)).unwrap(),
                    amount_minor: amount,
                    by: None,
                },
                7 => EventBody::DisputeResolved {
                    dispute: DisputeId::new((pick as i64 % n) + 1).unwrap(),
                    upheld: flag,
                    by: None,
                    note: None,
                },
                8 => EventBody::PromiseMade {
                    promise: PromiseId::new(n).unwrap(),
                    amount_minor: amount,
                    due_on: day(d + 5),
                    by: None,
                },
                9 => EventBody::ContactOutcome {
                    channel: [Channel::AgentCall, Channel::Email, Channel::Sms][pick % 3],
                    conversation: flag,
                    responded: pick % 3 == 1,
                    opted_out: pick % 4 == 0,
                    complaint: pick % 5 == 0,
                    result: None,
                    item: None,
                },
                10 => {
                    if flag {
                        EventBody::HardshipDeclared {
                            reason: "illness".into(),
                            review_on: Some(day(d + 30)),
                            by: None,
                        }
                    } else {
                        EventBody::HardshipEnded
                    }
                }
                12 => EventBody::PlanAgreed {
                    plan: format!("p{n}"),
                    instalments: vec![
                        forbear_engine::event::Instalment {
                            due_on: day(d + 1),
                            amount_minor: amount,
                        },
                        forbear_engine::event::Instalment {
                            due_on: day(d + 1 + pick as u32 * 5),
                            amount_minor: amount,
                        },
                    ],
                    by: None,
                },
                13 => EventBody::GrantApplied {
                    grant: match pick % 3 {
                        0 => forbear_engine::event::Grant::GoodwillCredit {
                            amount_minor: amount / 10,
                        },
                        1 => forbear_engine::event::Grant::WaiveFee {
                            case: 1,
                            step: "standard/late-fee".into(),
                        },
                        _ => forbear_engine::event::Grant::MoveDueDate {
                            invoice: InvoiceId::new(inv(pick)).unwrap(),
                            to: day(d + 5),
                        },
                    },
                    by: "jo".into(),
                    role: if flag {
                        "agent".into()
                    } else {
                        "supervisor".into()
                    },
                    reason: "test".into(),
                },
                _ => {
                    if flag {
                        EventBody::StatutoryHold {
                            kind: if pick % 2 == 0 {
                                HoldKind::BreathingSpace
                            } else {
                                HoldKind::Crisis
                            },
                            until: Some(day(d + 10)),
                        }
                    } else {
                        EventBody::ConsentChanged {
                            channel: [Channel::Email, Channel::Sms, Channel::AgentCall][pick % 3],
                            consent: pick % 2 == 0,
                        }
                    }
                }
            };
            out.push(ev(&format!("x:{n}"), 9, when, body));
        }
        out
    })
}

fn engine_events(store: &mut MemoryStore) -> Vec<Event> {
    let mut v: Vec<Event> = store
        .events(acc(9))
        .unwrap()
        .into_iter()
        .filter(|e| e.is_engine())
        .collect();
    v.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    v
}

fn shuffled_with_repeats(events: &[Event], seed: u64) -> Vec<Event> {
    let mut rng = forbear_core::Rng::new(seed, 1);
    let mut v: Vec<Event> = events.to_vec();
    for e in events {
        if rng.chance(0.3) {
            v.push(e.clone());
        }
    }
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The same events give the same decisions whatever order they arrive in and however often
    /// (on the same portfolio),
    /// and replaying the log in any order rebuilds the same state.
    #[test]
    fn same_events_same_state_in_any_order(events in history(), seed in any::<u64>()) {
        // One engine per store: the desk (lawyers' workloads) is the portfolio's.
        let mut a = MemoryStore::new();
        run(&engine(), &mut a, &events, at(130));
        let mut b = MemoryStore::new();
        run(&engine(), &mut b, &shuffled_with_repeats(&events, seed), at(130));
        prop_assert_eq!(engine_events(&mut a), engine_events(&mut b));
        let log = a.events(acc(9)).unwrap();
        let s1 = AccountState::replay(acc(9), &log, None);
        let s2 = AccountState::replay(acc(9), &shuffled_with_repeats(&log, seed ^ 7), None);
        prop_assert_eq!(s1, s2);
    }

    /// Whatever happens, no contact breaks a contact rule, no paid-up or disputed service is
    /// barred, and nothing but empathetic contact happens under hardship.
    #[test]
    fn the_rules_are_never_broken(events in history(), cuts in prop::collection::vec(1u32..130, 0..5)) {
        let e = engine();
        let rules = ContactRules::default();
        let mut store = MemoryStore::new();
        store.ingest(&events).unwrap();
        let mut cuts = cuts;
        cuts.sort_unstable();
        cuts.push(130);
        for c in cuts {
            e.tick(&mut store, at(c), 7, &mut |_| {}).unwrap();
        }
        let log = store.events(acc(9)).unwrap();
        let mut sorted: Vec<&Event> = log.iter().collect();
        sorted.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        for (i, ev) in sorted.iter().enumerate() {
            let EventBody::StepExecuted { contact, services, action, .. } = &ev.body else { continue };
            let prior = AccountState::replay(acc(9), sorted[..i].iter().copied(), None);
            let profile = prior.profile.clone().unwrap();
            let today = prior.local_date(ev.at);
            let on_hold = prior.on_hold(today).is_some();
            prop_assert!(!on_hold, "{} during a statutory hold", ev.id);
            if let Some(c) = contact {
                // A contact still going out (not withdrawn) is allowed at its send time too:
                // consent and opt-outs as they are then, no statutory hold that day.
                let withdrawn = sorted.iter().any(|x| matches!(&x.body,
                    EventBody::MeasureReversed { measure: forbear_engine::Measure::PendingContact { effect, .. }, .. }
                        if Some(effect) == match &ev.body { EventBody::StepExecuted { effect, .. } => effect.as_ref(), _ => None }));
                if !withdrawn && c.send_at > ev.at {
                    let then = AccountState::replay(acc(9), sorted.iter().copied().filter(|x| x.at < c.send_at), None);
                    prop_assert!(then.may_use(c.channel), "{} sent on {} after consent was withdrawn", ev.id, c.channel);
                    let day = then.local_date(c.send_at);
                    prop_assert!(then.on_hold(day).is_none(), "{} sent during a statutory hold", ev.id);
                }
                let facts = ContactFacts {
                    time_zone: profile.time_zone,
                    other_zones: &profile.other_zones,
                    consent: prior.consent,
                    opted_out: prior.opted_out,
                    dispute_open: false,
                    statutory_hold: false,
                    hardship: prior.hardship.is_some(),
                    recent: &prior.contacts,
                };
                let v = rules.violations(&facts, c.channel, c.tone, c.send_at);
                prop_assert!(v.is_empty(), "{} broke {:?}", ev.id, v);
                prop_assert!(c.send_at >= ev.at);
            }
            if action.barring().is_some() || *action == forbear_engine::ActionKind::LateFee {
                prop_assert!(prior.hardship.is_none(), "{} {} under hardship", ev.id, action);
                prop_assert!(prior.plans.values().all(|p| !p.in_good_standing()), "{} {} under a plan in good standing", ev.id, action);
            }
            let overdue = prior.ledger(today).overdue_services(today);
            for s in services {
                prop_assert!(overdue.contains(s), "{} barred service {} with nothing overdue", ev.id, s);
            }
        }
    }
}

/// The properties above are not vacuous: the histories they draw make the engine contact,
/// postpone, bar, reverse and hold.
#[test]
fn random_histories_exercise_the_engine() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let e = engine();
    let mut kinds = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..96 {
        let events = history().new_tree(&mut runner).unwrap().current();
        let mut store = MemoryStore::new();
        run(&e, &mut store, &events, at(130));
        for ev in engine_events(&mut store) {
            let k = match &ev.body {
                EventBody::StepExecuted { action, .. } => action.as_str().to_string(),
                EventBody::MeasureReversed { measure, .. } => measure.reversal().to_string(),
                other => other.kind().to_string(),
            };
            *kinds.entry(k).or_default() += 1;
        }
    }
    for k in [
        "notify",
        "soft_bar",
        "contact_blocked",
        "case_closed",
        "lift_barring",
        "step_skipped",
        "request_admitted",
        "request_refused",
        "promise_broken",
        "plan_breached",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "{k} never happened: {kinds:?}"
        );
    }
}
