use crate::helpers::*;
use chrono::{Duration, Timelike};
use forbear_core::{CustomerType, DisputeId, InvoiceId, PaymentId, TimeZone};
use forbear_engine::{EventBody, MemoryStore, Store, Target};

fn has(t: &[String], s: &str) -> bool {
    t.iter().any(|l| l.contains(s))
}

#[test]
fn escalates_by_days_past_due_then_undoes_everything_when_paid() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(1, CustomerType::Consumer, "Europe/Madrid"),
        invoice(1, 100, 11, 3000, 10),
    ];
    run(&e, &mut store, &events, at(26));
    let t = timeline(&mut store, 1);
    assert!(has(&t, "case_opened"), "{t:#?}");
    assert!(
        has(&t, "skipped standard/pre-due-nudge: risk band unknown"),
        "{t:#?}"
    );
    for step in [
        "first-reminder notify",
        "second-reminder notify",
        "late-fee late_fee",
        "soft-bar soft_bar",
        "soft-bar-notice notify",
    ] {
        assert!(
            has(&t, &format!("executed standard/{step}")),
            "{step} missing: {t:#?}"
        );
    }
    // The first reminder fell due at local midnight: quiet hours postponed it to 08:00 Madrid.
    assert!(
        has(
            &t,
            "blocked standard/first-reminder: email at 00:00:00 local time is outside the allowed hours"
        ),
        "{t:#?}"
    );
    let s = state(&mut store, 1);
    let case = s.open_case().unwrap();
    assert!(
        case.measures.iter().any(|m| m.reversal() == "lift_barring"),
        "{:?}",
        case.measures
    );
    assert!(!has(&t, "hard_bar"));

    // The customer pays the invoice (not the fee): cured, everything undone.
    run(
        &e,
        &mut store,
        &[payment(1, 500, Some(100), 3000, at(27))],
        at(28),
    );
    let t = timeline(&mut store, 1);
    assert!(has(&t, "reversed lift_barring"), "{t:#?}");
    assert!(has(&t, "reversed waive_fee"), "{t:#?}");
    assert_eq!(t.last().unwrap(), "case_closed", "{t:#?}");
    let s = state(&mut store, 1);
    assert!(s.open_case().is_none());
    assert!(s.cases[0].measures.is_empty(), "{:?}", s.cases[0].measures);
    // Nothing further happens to a cured account.
    let before = timeline(&mut store, 1).len();
    run(&e, &mut store, &[], at(80));
    assert_eq!(timeline(&mut store, 1).len(), before);
    // Every action and reversal left an effect in the outbox, keyed by its event.
    let kinds: Vec<&str> = store
        .outbox
        .values()
        .map(|r| r.effect.kind.as_str())
        .collect();
    for k in [
        "message",
        "late_fee",
        "soft_bar",
        "lift_barring",
        "waive_fee",
    ] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
}

#[test]
fn a_paid_up_service_on_the_same_account_is_never_barred() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(2, CustomerType::Consumer, "Europe/Madrid"),
        invoice(2, 200, 21, 3000, 10),
        invoice(2, 201, 22, 4000, 10),
        payment(2, 600, Some(201), 4000, at(9)),
    ];
    run(&e, &mut store, &events, at(40));
    let events = store.events(acc(2)).unwrap();
    let barred: Vec<i64> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::StepExecuted {
                action, services, ..
            } if action.barring().is_some() => {
                Some(services.iter().map(|s| s.get()).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert!(!barred.is_empty());
    assert!(barred.iter().all(|s| *s == 21), "{barred:?}");
}

#[test]
fn a_payment_seen_before_its_invoice_is_not_a_race() {
    let e = engine();
    let mut store = MemoryStore::new();
    // The payment arrives (and is stored) first; the invoice it settles comes later.
    run(
        &e,
        &mut store,
        &[
            opened(3, CustomerType::Consumer, "Europe/Madrid"),
            payment(3, 700, Some(300), 3000, at(2)),
        ],
        at(3),
    );
    run(&e, &mut store, &[invoice(3, 300, 31, 3000, 10)], at(60));
    let t = timeline(&mut store, 3);
    assert!(t.is_empty(), "{t:#?}");
}

#[test]
fn a_bounced_payment_reopens_the_case_where_it_was() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(4, CustomerType::Consumer, "Europe/Madrid"),
        invoice(4, 400, 41, 3000, 10),
        payment(4, 800, Some(400), 3000, at(27)),
    ];
    run(&e, &mut store, &events, at(28));
    let bounced = ev(
        "rev:800",
        4,
        at(33),
        EventBody::PaymentReversed {
            payment: PaymentId::new(800).unwrap(),
        },
    );
    run(&e, &mut store, &[bounced], at(42));
    let t = timeline(&mut store, 4);
    assert!(has(&t, "case_reopened"), "{t:#?}");
    let s = state(&mut store, 4);
    assert_eq!(s.cases.len(), 1, "the same case resumes");
    // Steps done before the cure are not repeated; the next ones run.
    assert_eq!(
        t.iter()
            .filter(|l| l.starts_with("executed standard/soft-bar soft_bar"))
            .count(),
        1,
        "{t:#?}"
    );
    assert!(has(&t, "executed standard/hard-bar hard_bar"), "{t:#?}");
}

#[test]
fn a_dispute_holds_dunning_and_upheld_undoes_it() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(5, CustomerType::Consumer, "Europe/Madrid"),
        invoice(5, 500, 51, 3000, 10),
        ev(
            "disp:1",
            5,
            at(12),
            EventBody::DisputeOpened {
                dispute: DisputeId::new(1).unwrap(),
                invoice: InvoiceId::new(500).unwrap(),
                amount_minor: 3000,
                by: Some("customer".into()),
            },
        ),
    ];
    run(&e, &mut store, &events, at(30));
    let t = timeline(&mut store, 5);
    assert!(has(&t, "executed standard/first-reminder"), "{t:#?}");
    assert!(
        !has(&t, "second-reminder"),
        "dunning went on under a dispute: {t:#?}"
    );
    let upheld = ev(
        "disp:1:resolved",
        5,
        at(31),
        EventBody::DisputeResolved {
            dispute: DisputeId::new(1).unwrap(),
            upheld: true,
            by: Some("agent:jo".into()),
            note: None,
        },
    );
    run(&e, &mut store, &[upheld], at(60));
    let t = timeline(&mut store, 5);
    assert_eq!(t.last().unwrap(), "case_closed", "{t:#?}");
    assert!(!has(&t, "soft_bar"), "{t:#?}");
}

/// A payment that names no bill settles what is not disputed first: a customer who contests
/// part of an old bill and pays the rest is not dunned for the part they contest.
#[test]
fn a_payment_without_a_bill_settles_the_undisputed_amounts_first() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(6, CustomerType::Consumer, "Europe/Madrid"),
        invoice(6, 600, 61, 3000, 10),
        invoice(6, 601, 61, 2000, 11),
        ev(
            "disp:6",
            6,
            at(5),
            EventBody::DisputeOpened {
                dispute: DisputeId::new(6).unwrap(),
                invoice: InvoiceId::new(600).unwrap(),
                amount_minor: 1000,
                by: Some("customer".into()),
            },
        ),
        // 40.00 paid without naming a bill: 20.00 of the older bill and the newer one.
        payment(6, 6, None, 4000, at(9)),
    ];
    run(&e, &mut store, &events, at(20));
    let s = state(&mut store, 6);
    let ledger = s.ledger(day(20));
    let open: Vec<(i64, i64)> = ledger
        .open_items
        .iter()
        .map(|i| (i.open_minor, i.disputed_minor))
        .collect();
    assert_eq!(open, [(1000, 1000)], "only the disputed 10.00 is left");
    let t = timeline(&mut store, 6);
    assert!(
        !has(&t, "first-reminder"),
        "dunned for a disputed amount: {t:#?}"
    );
}

#[test]
fn hardship_moves_the_case_to_forbearance_without_service_cuts() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(6, CustomerType::Consumer, "Europe/Madrid"),
        invoice(6, 600, 61, 3000, 10),
        ev(
            "hard:1",
            6,
            at(12),
            EventBody::HardshipDeclared {
                reason: "job loss".into(),
                review_on: Some(day(90)),
                by: None,
            },
        ),
    ];
    run(&e, &mut store, &events, at(70));
    let t = timeline(&mut store, 6);
    assert!(has(&t, "executed forbearance/check-in notify"), "{t:#?}");
    assert!(
        !has(&t, "bar") && !has(&t, "late_fee") && !has(&t, "disconnect"),
        "{t:#?}"
    );
    let s = state(&mut store, 6);
    let tones: Vec<_> = store
        .events(acc(6))
        .unwrap()
        .iter()
        .filter(|e| e.at > at(12))
        .filter_map(|e| match &e.body {
            EventBody::StepExecuted {
                contact: Some(c), ..
            } => Some(c.tone),
            _ => None,
        })
        .collect();
    assert!(
        !tones.is_empty() && tones.iter().all(|t| *t == forbear_core::Tone::Empathetic),
        "{tones:?}"
    );
    assert!(s.open_case().is_some());
}

#[test]
fn an_uncertain_location_allows_only_hours_allowed_in_every_zone() {
    let e = engine();
    let mut store = MemoryStore::new();
    let mut open = opened(7, CustomerType::Consumer, "Europe/Madrid");
    if let EventBody::AccountOpened { other_zones, .. } = &mut open.body {
        other_zones.push(TimeZone::parse("America/New_York").unwrap());
    }
    run(
        &e,
        &mut store,
        &[open, invoice(7, 700, 71, 3000, 10)],
        at(12),
    );
    let first = store
        .outbox
        .values()
        .find(|r| r.effect.target == Target::Channel)
        .unwrap();
    // Madrid 08-21 (UTC+1) and New York 08-21 (UTC-4 in March after the 8th): 12:00-20:00 UTC.
    assert_eq!(first.effect.deliver_after.hour(), 12, "{:?}", first.effect);
    assert_eq!(
        first.effect.deliver_after.date_naive(),
        day(11) - Duration::days(1) + Duration::days(1)
    );
}

/// An agent's call on which the debt was discussed.
fn conversation(
    id: &str,
    account: i64,
    when: chrono::DateTime<chrono::Utc>,
) -> forbear_engine::Event {
    ev(
        id,
        account,
        when,
        EventBody::ContactOutcome {
            channel: forbear_core::Channel::AgentCall,
            conversation: true,
            responded: true,
            opted_out: false,
            complaint: false,
            result: None,
            item: None,
        },
    )
}

/// A conversation reported long after the engine's last call (a call it cancelled, or one
/// someone else made) counts from when it happened, not from that old call.
#[test]
fn a_conversation_without_a_recent_call_counts_from_its_own_time() {
    let scenario = "[[scenario]]\nname = \"calls\"\ndefault = true\n\
        [[scenario.step]]\nname = \"call-1\"\ndpd = 1\naction = \"call_back\"\nteam = \"t\"\n\
        [[scenario.step]]\nname = \"call-2\"\ndpd = 18\naction = \"call_back\"\nteam = \"t\"\n";
    let e = engine_with(scenario);
    let mut store = MemoryStore::new();
    let talk = conversation("talk:9", 9, at(25) + Duration::hours(10));
    run(
        &e,
        &mut store,
        &[
            opened(9, CustomerType::Consumer, "Europe/Madrid"),
            invoice(9, 900, 91, 3000, 10),
            talk,
        ],
        at(29),
    );
    let t = timeline(&mut store, 9);
    assert!(
        t.iter().any(|l| l.starts_with("blocked calls/call-2")
            && l.contains("a conversation about the debt took place")),
        "{t:#?}"
    );
}

#[test]
fn no_call_within_seven_days_of_a_conversation_the_call_waits() {
    let mut scenario = String::from("[[scenario]]\nname = \"calls\"\ndefault = true\n");
    for d in 1..=4 {
        scenario.push_str(&format!(
            "[[scenario.step]]\nname = \"call-{d}\"\ndpd = {d}\naction = \"call_back\"\nteam = \"t\"\n"
        ));
    }
    let e = engine_with(&scenario);
    let mut store = MemoryStore::new();
    let talk = conversation("talk:1", 8, at(12) + Duration::hours(2));
    run(
        &e,
        &mut store,
        &[
            opened(8, CustomerType::Consumer, "Europe/Madrid"),
            invoice(8, 800, 81, 3000, 10),
            talk,
        ],
        at(30),
    );
    let t = timeline(&mut store, 8);
    assert!(
        t.iter().any(|l| l.starts_with("blocked calls/call-3")
            && l.contains("a conversation about the debt took place")),
        "{t:#?}"
    );
    let calls: Vec<_> = store
        .events(acc(8))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::StepExecuted {
                step,
                contact: Some(c),
                ..
            } => Some((step, c.send_at)),
            _ => None,
        })
        .collect();
    let third = calls.iter().find(|(s, _)| s == "calls/call-3").unwrap();
    // The conversation was the call of day 12 (08:00 Madrid, 07:00 UTC): no call for 7 days.
    assert!(third.1 >= at(19) - Duration::hours(3), "{calls:?}");
    assert!(
        store
            .outbox
            .values()
            .all(|r| r.effect.target == Target::Queue)
    );
}

#[test]
fn high_risk_accounts_get_a_preventive_nudge_before_the_due_date() {
    let e = engine();
    let mut store = MemoryStore::new();
    let risky = ev(
        "risk:1",
        10,
        at(1),
        EventBody::RiskAssessed {
            band: forbear_engine::RiskBand::D,
        },
    );
    run(
        &e,
        &mut store,
        &[
            opened(10, CustomerType::Consumer, "Europe/Madrid"),
            risky,
            invoice(10, 1000, 101, 3000, 10),
            payment(10, 1001, Some(1000), 3000, at(9)),
        ],
        at(20),
    );
    let t = timeline(&mut store, 10);
    assert_eq!(t.first().map(String::as_str), Some("case_opened"), "{t:#?}");
    assert!(has(&t, "executed standard/pre-due-nudge notify"), "{t:#?}");
    assert_eq!(
        t.last().map(String::as_str),
        Some("case_closed"),
        "paid on time: {t:#?}"
    );
    // A low-risk account with the same bill opens no case before it is overdue.
    run(
        &e,
        &mut store,
        &[
            opened(11, CustomerType::Consumer, "Europe/Madrid"),
            invoice(11, 1100, 111, 3000, 10),
            payment(11, 1101, Some(1100), 3000, at(9)),
        ],
        at(20),
    );
    assert!(timeline(&mut store, 11).is_empty());
}

/// A recommender that always proposes an SMS at 19:30 Madrid time on the day it is asked.
struct EveningSms;

impl forbear_engine::Recommender for EveningSms {
    fn suggest(
        &self,
        ask: &forbear_engine::port::Ask<'_>,
    ) -> Result<Option<forbear_engine::port::Suggestion>, String> {
        let zone = TimeZone::parse("Europe/Madrid").unwrap();
        let date = zone.local(ask.now).date();
        Ok(Some(forbear_engine::port::Suggestion {
            channel: forbear_core::Channel::Sms,
            tone: forbear_core::Tone::Friendly,
            send_at: zone.at(date, chrono::NaiveTime::from_hms_opt(19, 30, 0).unwrap()),
            propensity: 0.8,
            model: "evening".into(),
        }))
    }
}

#[test]
fn the_recommenders_send_time_is_kept() {
    let e = forbear_engine::Engine::new(
        forbear_engine::ScenarioSet::builtin().unwrap(),
        forbear_core::rules::ContactRules::default(),
        forbear_engine::Templates::builtin().unwrap(),
        std::sync::Arc::new(EveningSms),
    );
    let mut store = MemoryStore::new();
    run(
        &e,
        &mut store,
        &[
            opened(12, CustomerType::Consumer, "Europe/Madrid"),
            invoice(12, 1200, 121, 3000, 10),
        ],
        at(12),
    );
    let sms: Vec<_> = store
        .events(acc(12))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::StepExecuted {
                contact: Some(c), ..
            } => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    // 19:30 in Madrid (UTC+1 in March) is 18:30 UTC on the 11th, the day the reminder fell due.
    assert_eq!(
        (sms[0].send_at.date_naive(), sms[0].send_at.hour()),
        (day(11) - Duration::days(0), 18)
    );
    assert_eq!(sms[0].propensity, Some(0.8));
    assert!(sms[0].recommended);
}

#[test]
fn a_step_can_fix_the_local_send_time() {
    let e = engine();
    let mut store = MemoryStore::new();
    // The business scenario's reminder is an e-mail at 09:30 local time.
    run(
        &e,
        &mut store,
        &[
            opened(13, CustomerType::SmallBusiness, "America/Sao_Paulo"),
            invoice(13, 1300, 131, 3000, 10),
        ],
        at(12),
    );
    let sent: Vec<_> = store
        .events(acc(13))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::StepExecuted {
                contact: Some(c), ..
            } => Some(c.send_at),
            _ => None,
        })
        .collect();
    let zone = TimeZone::parse("America/Sao_Paulo").unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        zone.local(sent[0]).time(),
        chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap()
    );
    assert_eq!(zone.local(sent[0]).date(), day(11));
}

#[test]
fn a_scheduled_contact_is_withdrawn_when_it_is_no_longer_allowed() {
    let e = engine();
    let mut store = MemoryStore::new();
    // The first reminder falls due at local midnight and is postponed to 08:00 …
    run(
        &e,
        &mut store,
        &[
            opened(14, CustomerType::Consumer, "Europe/Madrid"),
            invoice(14, 1400, 141, 3000, 10),
        ],
        at(10) + Duration::hours(14),
    );
    let pending = store
        .outbox
        .values()
        .filter(|r| r.effect.kind == "message" && !r.cancelled)
        .count();
    assert_eq!(pending, 1);
    // … and at 02:00 the customer opts out of e-mail: the message must not go out.
    let opt_out = ev(
        "optout:14",
        14,
        at(11) - Duration::hours(8),
        EventBody::ConsentChanged {
            channel: forbear_core::Channel::Email,
            consent: false,
        },
    );
    run(&e, &mut store, &[opt_out], at(11) - Duration::hours(7));
    let t = timeline(&mut store, 14);
    assert!(has(&t, "reversed cancel_contact"), "{t:#?}");
    assert!(
        store
            .outbox
            .values()
            .filter(|r| r.effect.kind == "message")
            .all(|r| r.cancelled),
        "{:?}",
        store.outbox
    );
}

#[test]
fn barring_is_lifted_from_a_service_paid_up_while_the_case_stays_open() {
    let e = engine();
    let mut store = MemoryStore::new();
    let events = [
        opened(15, CustomerType::Consumer, "Europe/Madrid"),
        invoice(15, 1500, 151, 3000, 10),
        invoice(15, 1501, 152, 4000, 10),
    ];
    run(&e, &mut store, &events, at(26));
    assert!(has(
        &timeline(&mut store, 15),
        "executed standard/soft-bar soft_bar"
    ));
    run(
        &e,
        &mut store,
        &[payment(15, 1502, Some(1501), 4000, at(27))],
        at(28),
    );
    let t = timeline(&mut store, 15);
    assert!(has(&t, "reversed lift_barring"), "{t:#?}");
    let s = state(&mut store, 15);
    let case = s.open_case().expect("still open: service 151 is unpaid");
    let barred: Vec<i64> = case
        .measures
        .iter()
        .filter_map(|m| match m {
            forbear_engine::Measure::Barring { service, .. } => Some(service.get()),
            _ => None,
        })
        .collect();
    assert_eq!(barred, vec![151]);
}

#[test]
fn hardship_stops_escalation_even_without_a_forbearance_scenario() {
    let e = engine_with(
        "[[scenario]]\nname = \"only\"\ndefault = true\n[[scenario.step]]\nname = \"fee\"\ndpd = 5\naction = \"late_fee\"\nfee = { EUR = 500 }\n[[scenario.step]]\nname = \"bl\"\ndpd = 6\naction = \"blacklist\"\n",
    );
    let mut store = MemoryStore::new();
    let hardship = ev(
        "hard:16",
        16,
        at(12),
        EventBody::HardshipDeclared {
            reason: "bereavement".into(),
            review_on: Some(day(60)),
            by: None,
        },
    );
    run(
        &e,
        &mut store,
        &[
            opened(16, CustomerType::Consumer, "Europe/Madrid"),
            invoice(16, 1600, 161, 3000, 10),
            hardship,
        ],
        at(30),
    );
    let t = timeline(&mut store, 16);
    assert!(!has(&t, "executed"), "{t:#?}");
    assert!(has(&t, "forbearance, no escalation"), "{t:#?}");
}

#[test]
fn external_events_cannot_take_engine_ids_or_nanosecond_times() {
    let mut e = payment(17, 1700, None, 100, at(3));
    e.id = forbear_engine::EventId::new("17.3").unwrap();
    assert!(
        e.check_external()
            .unwrap_err()
            .reason
            .contains("engine's own")
    );
    let mut e = payment(17, 1700, None, 100, at(3));
    e.at += Duration::nanoseconds(500);
    assert!(
        e.check_external()
            .unwrap_err()
            .reason
            .contains("microsecond")
    );
    assert!(
        payment(17, 1700, None, 2_000_000_000_000_000, at(3))
            .check_external()
            .is_err()
    );
    assert!(payment(17, 1700, None, 100, at(3)).check_external().is_ok());
}

/// What the channels report of a contact (read, answered) reaches the records the response
/// features read, with the tone it was sent in; a contact nobody reported on stays unread.
#[test]
fn a_read_receipt_marks_its_contact_responded_for_the_recommender() {
    use forbear_core::{Channel, Tone};
    let contact = |id: &str, when, channel| {
        ev(
            id,
            9,
            when,
            EventBody::ContactMade {
                channel,
                tone: Some(Tone::Empathetic),
            },
        )
    };
    let read = ev(
        "sms:read",
        9,
        at(20) + Duration::minutes(1),
        EventBody::ContactOutcome {
            channel: Channel::Sms,
            conversation: false,
            responded: true,
            opted_out: false,
            complaint: false,
            result: None,
            item: None,
        },
    );
    let events = [
        opened(9, CustomerType::Consumer, "Europe/Madrid"),
        invoice(9, 900, 91, 3000, 10),
        contact("sms:1", at(20), Channel::Sms),
        contact("mail:1", at(20), Channel::Email),
        read,
    ];
    let s = forbear_engine::AccountState::replay(acc(9), &events, None);
    let h = forbear_engine::recommend::history(&s).unwrap();
    let of = |c: Channel| h.contacts.iter().find(|r| r.channel == c).unwrap();
    assert!(of(Channel::Sms).responded);
    assert_eq!(of(Channel::Sms).tone, Tone::Empathetic);
    assert!(!of(Channel::Email).responded);
    // The age band the account was opened with reaches the features (channel responsiveness
    // differs by age).
    assert_eq!(h.facts.age_band, Some(forbear_core::AgeBand::A35To44));
    assert_eq!(h.facts.credit_limit_minor, Some(50_000));
}
