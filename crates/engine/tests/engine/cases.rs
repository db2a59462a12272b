//! Cases on the in-memory store: every transition of promises, plans, grants, disputes,
//! statutory holds and hardship reviews, and the reversals they cause.

use crate::helpers::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use forbear_core::{CustomerType, DisputeId, InvoiceId, PromiseId};
use forbear_engine::event::{Grant, HoldKind, Instalment};
use forbear_engine::request::{Action, prepare};
use forbear_engine::state::Standing;
use forbear_engine::{Engine, Event, EventBody, MemoryStore, Store};

fn has(t: &[String], s: &str) -> bool {
    t.iter().any(|l| l.contains(s))
}

/// Engine events with their details (refusal reasons, admissions).
fn decisions(store: &mut MemoryStore, account: i64) -> Vec<String> {
    let mut events = store.events(acc(account)).unwrap();
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    events
        .iter()
        .filter(|e| e.is_engine())
        .map(|e| match &e.body {
            EventBody::RequestRefused { request, reason } => {
                format!("refused {request}: {reason}")
            }
            EventBody::RequestAdmitted {
                request, detail, ..
            } => format!("admitted {request}: {detail}"),
            EventBody::StepExecuted { step, action, .. } => format!("executed {step} {action}"),
            EventBody::StepSkipped { step, reason, .. } => format!("skipped {step}: {reason}"),
            EventBody::MeasureReversed {
                measure, reason, ..
            } => {
                format!("reversed {}: {reason}", measure.reversal())
            }
            other => other.kind().to_string(),
        })
        .collect()
}

fn promise(account: i64, id: i64, amount: i64, due: u32, when: u32) -> Event {
    ev(
        &format!("promise:{id}"),
        account,
        at(when),
        EventBody::PromiseMade {
            promise: PromiseId::new(id).unwrap(),
            amount_minor: amount,
            due_on: day(due),
            by: Some("customer".into()),
        },
    )
}

fn plan(account: i64, name: &str, when: u32, instalments: &[(u32, i64)]) -> Event {
    ev(
        &format!("plan:{name}"),
        account,
        at(when),
        EventBody::PlanAgreed {
            plan: name.into(),
            instalments: instalments
                .iter()
                .map(|(d, a)| Instalment {
                    due_on: day(*d),
                    amount_minor: *a,
                })
                .collect(),
            by: Some("agent:jo".into()),
        },
    )
}

fn grant(account: i64, id: &str, when: u32, role: &str, g: Grant) -> Event {
    ev(
        id,
        account,
        at(when),
        EventBody::GrantApplied {
            grant: g,
            by: "jo".into(),
            role: role.into(),
            reason: "long-standing customer".into(),
        },
    )
}

fn hold(account: i64, id: &str, when: u32, kind: HoldKind, until: Option<NaiveDate>) -> Event {
    ev(
        id,
        account,
        at(when),
        EventBody::StatutoryHold { kind, until },
    )
}

fn overdue_account(e: &Engine, store: &mut MemoryStore, account: i64, until: u32) {
    let events = [
        opened(account, CustomerType::Consumer, "Europe/Madrid"),
        invoice(account, account * 100, account * 10, 3000, 10),
    ];
    run(e, store, &events, at(until));
}

#[test]
fn a_promise_within_limits_pauses_dunning_is_reminded_and_kept() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 1, 12);
    run(&e, &mut store, &[promise(1, 1, 3000, 18, 12)], at(16));
    let t = decisions(&mut store, 1);
    assert!(has(&t, "admitted promise:1: promise 1"), "{t:#?}");
    assert!(
        !has(&t, "second-reminder"),
        "dunning went on under an open promise: {t:#?}"
    );
    run(&e, &mut store, &[], at(17) + Duration::hours(12));
    let t = decisions(&mut store, 1);
    assert!(has(&t, "executed promise:1:reminder notify"), "{t:#?}");
    let mut events = store.events(acc(1)).unwrap();
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let reminder = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::StepExecuted {
                step,
                contact: Some(c),
                ..
            } if step == "promise:1:reminder" => Some(c.template.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(reminder, "promise_reminder.en");
    run(&e, &mut store, &[payment(1, 9, None, 3000, at(18))], at(19));
    let t = decisions(&mut store, 1);
    assert!(has(&t, "promise_kept"), "{t:#?}");
    assert!(has(&t, "case_closed"), "{t:#?}");
    let s = state(&mut store, 1);
    assert_eq!(s.promises[&PromiseId::new(1).unwrap()].outcome, Some(true));
    assert_eq!(s.broken_promises(), 0);
}

#[test]
fn a_promise_outside_the_limits_is_refused_and_dunning_goes_on() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 2, 12);
    let events = [promise(2, 1, 1000, 18, 12), promise(2, 2, 3000, 40, 13)];
    run(&e, &mut store, &events, at(20));
    let t = decisions(&mut store, 2);
    assert!(
        has(
            &t,
            "refused promise:1: 10.00 EUR is less than 50% of the overdue 30.00 EUR"
        ),
        "{t:#?}"
    );
    assert!(has(&t, "refused promise:2: the promised date"), "{t:#?}");
    assert!(has(&t, "more than 14 days ahead"), "{t:#?}");
    assert!(has(&t, "executed standard/second-reminder"), "{t:#?}");
    let s = state(&mut store, 2);
    assert!(s.promises.values().all(|p| p.standing == Standing::Refused));
}

#[test]
fn a_broken_promise_is_counted_and_escalation_resumes() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 3, 12);
    run(&e, &mut store, &[promise(3, 1, 2000, 14, 12)], at(22));
    let t = decisions(&mut store, 3);
    assert!(has(&t, "promise_broken"), "{t:#?}");
    assert!(has(&t, "executed standard/broken-promise notify"), "{t:#?}");
    assert!(has(&t, "executed standard/second-reminder"), "{t:#?}");
    let s = state(&mut store, 3);
    assert_eq!(s.broken_promises(), 1);
    // The risk features see it: the promise is in the history with nothing paid.
    assert_eq!(s.promises[&PromiseId::new(1).unwrap()].outcome, Some(false));
}

#[test]
fn a_plan_restores_service_holds_dunning_and_completes() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 4, 26);
    assert!(
        has(&decisions(&mut store, 4), "executed standard/soft-bar"),
        "the account is barred before the plan"
    );
    // 30.00 overdue plus the 5.00 fee: three instalments of 12.00.
    let p = plan(4, "p1", 26, &[(27, 1200), (40, 1200), (55, 1200)]);
    run(&e, &mut store, &[p], at(27));
    let t = decisions(&mut store, 4);
    assert!(has(&t, "admitted plan:p1: plan p1"), "{t:#?}");
    assert!(
        has(
            &t,
            "reversed lift_barring: service restored: payment plan p1 started"
        ),
        "{t:#?}"
    );
    let pays = [
        payment(4, 1, None, 1200, at(27)),
        payment(4, 2, None, 1200, at(40)),
        payment(4, 3, None, 1200, at(55)),
    ];
    run(&e, &mut store, &pays, at(60));
    let t = decisions(&mut store, 4);
    assert!(
        !has(&t, "executed standard/hard-bar"),
        "dunning ran under a plan in good standing: {t:#?}"
    );
    assert!(has(&t, "plan_completed"), "{t:#?}");
    assert!(has(&t, "case_closed"), "{t:#?}");
}

#[test]
fn a_missed_instalment_breaches_the_plan_after_grace_and_dunning_resumes() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 5, 26);
    let p = plan(5, "p1", 26, &[(27, 1200), (40, 1200), (55, 1200)]);
    run(
        &e,
        &mut store,
        &[p, payment(5, 1, None, 1200, at(27))],
        at(42),
    );
    assert!(!has(&decisions(&mut store, 5), "plan_breached"));
    // Grace is 3 days: the instalment of day 40 is missed at the end of day 43.
    run(&e, &mut store, &[], at(45));
    let t = decisions(&mut store, 5);
    assert!(has(&t, "plan_breached"), "{t:#?}");
    // Escalation resumes where it stopped: the hard bar (30 days past due) comes the time the
    // plan was kept later, not at once.
    assert!(!has(&t, "executed standard/hard-bar"), "{t:#?}");
    let s = state(&mut store, 5);
    assert_eq!(s.plans["p1"].breached, Some(day(40)));
    // A re-plan is allowed once; the one after is refused.
    let p2 = plan(5, "p2", 46, &[(47, 1300), (60, 1000)]);
    run(&e, &mut store, &[p2], at(46) + Duration::hours(1));
    assert!(has(&decisions(&mut store, 5), "admitted plan:p2"));
    let p3 = plan(5, "p3", 46, &[(47, 1300), (60, 1000)]);
    run(&e, &mut store, &[p3], at(46) + Duration::hours(2));
    assert!(has(
        &decisions(&mut store, 5),
        "refused plan:p3: plan p2 is in good standing"
    ));

    // Without a re-plan, the hard bar falls due about 18 days (the plan's life) after day 40.
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 12, 26);
    let p = plan(12, "p1", 26, &[(27, 1200), (40, 1200), (55, 1200)]);
    run(
        &e,
        &mut store,
        &[p, payment(12, 1, None, 1200, at(27))],
        at(56),
    );
    assert!(!has(
        &decisions(&mut store, 12),
        "executed standard/hard-bar"
    ));
    run(&e, &mut store, &[], at(60));
    assert!(has(
        &decisions(&mut store, 12),
        "executed standard/hard-bar"
    ));
}

#[test]
fn plans_outside_the_limits_are_refused_with_the_limit_named() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 6, 20);
    let many: Vec<(u32, i64)> = (0..7).map(|i| (21 + i * 10, 1000)).collect();
    let events = [
        plan(6, "too-many", 20, &many),
        plan(6, "small-down", 20, &[(21, 1000), (30, 6000), (40, 6000)]),
        plan(
            6,
            "small-instalment",
            20,
            &[(21, 2000), (30, 500), (40, 1500)],
        ),
        plan(6, "short", 20, &[(21, 1000), (30, 1000)]),
        plan(6, "too-long", 20, &[(21, 2000), (400, 2000)]),
    ];
    run(&e, &mut store, &events, at(20) + Duration::hours(1));
    let t = decisions(&mut store, 6);
    for (plan, why) in [
        ("too-many", "7 instalments, more than the 6 allowed"),
        (
            "small-down",
            "the down payment 10.00 EUR is under 10% of the plan's 130.00 EUR",
        ),
        (
            "small-instalment",
            "instalment 2 of 5.00 EUR is under the minimum 10.00 EUR",
        ),
        (
            "short",
            "the plan's 20.00 EUR does not cover the overdue 30.00 EUR",
        ),
        ("too-long", "the last instalment is due"),
    ] {
        assert!(
            has(&t, &format!("refused plan:{plan}: {why}")),
            "{plan}: {t:#?}"
        );
    }
}

#[test]
fn grants_are_admitted_within_the_role_and_refused_beyond_it() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 7, 21);
    let fee = |role: &str, id: &str| {
        grant(
            7,
            id,
            21,
            role,
            Grant::WaiveFee {
                case: 1,
                step: "standard/late-fee".into(),
            },
        )
    };
    let events = [
        fee("trainee", "g:0"),
        fee("agent", "g:1"),
        grant(
            7,
            "g:2",
            21,
            "agent",
            Grant::GoodwillCredit { amount_minor: 2000 },
        ),
        grant(
            7,
            "g:3",
            21,
            "supervisor",
            Grant::GoodwillCredit { amount_minor: 2000 },
        ),
    ];
    run(&e, &mut store, &events, at(21) + Duration::hours(1));
    let t = decisions(&mut store, 7);
    assert!(
        has(&t, "refused g:0: role \"trainee\" may grant nothing"),
        "{t:#?}"
    );
    assert!(
        has(&t, "admitted g:1: fee of step standard/late-fee"),
        "{t:#?}"
    );
    assert!(
        has(&t, "reversed waive_fee: waived by jo (agent)"),
        "{t:#?}"
    );
    assert!(
        has(
            &t,
            "refused g:2: a goodwill credit of 20.00 EUR is over what role agent may grant (5.00 EUR)"
        ),
        "{t:#?}"
    );
    assert!(
        has(&t, "admitted g:3: goodwill credit of 20.00 EUR"),
        "{t:#?}"
    );
    let s = state(&mut store, 7);
    let ledger = s.ledger(day(21));
    assert_eq!(
        ledger.balance, 1000,
        "30.00 less the 20.00 credit, fee waived"
    );
    // The billing effects of the credit and the waiver went to the outbox.
    let due = store.outbox_due(at(30), 100).unwrap();
    assert!(due.iter().any(|o| o.kind == "goodwill_credit"), "{due:#?}");
    assert!(due.iter().any(|o| o.kind == "waive_fee"), "{due:#?}");
}

#[test]
fn moving_a_due_date_within_the_role_changes_days_past_due() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 8, 11);
    let g = |id: &str, role: &str, to: u32| {
        grant(
            8,
            id,
            11,
            role,
            Grant::MoveDueDate {
                invoice: InvoiceId::new(800).unwrap(),
                to: day(to),
            },
        )
    };
    let events = [g("g:1", "agent", 30), g("g:2", "agent", 16)];
    run(&e, &mut store, &events, at(12));
    let t = decisions(&mut store, 8);
    assert!(
        has(
            &t,
            "refused g:1: moves the due date 20 days; role agent may move it 7 days"
        ),
        "{t:#?}"
    );
    assert!(
        has(&t, "admitted g:2: due date of invoice 800 moved"),
        "{t:#?}"
    );
    let s = state(&mut store, 8);
    assert_eq!(s.ledger(day(12)).dpd(day(12)), Some(-4));
    assert!(
        has(&t, "case_closed"),
        "the case closes: nothing is overdue: {t:#?}"
    );
}

#[test]
fn a_dispute_is_assigned_credited_when_upheld_and_noticed_when_rejected() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 9, 12);
    let open = |id: i64, amount: i64| {
        ev(
            &format!("disp:{id}"),
            9,
            at(12),
            EventBody::DisputeOpened {
                dispute: DisputeId::new(id).unwrap(),
                invoice: InvoiceId::new(900).unwrap(),
                amount_minor: amount,
                by: Some("customer".into()),
            },
        )
    };
    run(&e, &mut store, &[open(1, 3000)], at(13));
    let s = state(&mut store, 9);
    assert_eq!(
        s.disputes[&DisputeId::new(1).unwrap()].assigned,
        Some(("disputes".into(), day(26)))
    );
    let resolve = |id: i64, upheld: bool, when: u32| {
        ev(
            &format!("disp:{id}:resolved"),
            9,
            at(when),
            EventBody::DisputeResolved {
                dispute: DisputeId::new(id).unwrap(),
                upheld,
                by: Some("agent:li".into()),
                note: Some("usage records checked".into()),
            },
        )
    };
    run(&e, &mut store, &[resolve(1, false, 14)], at(18));
    let t = decisions(&mut store, 9);
    assert!(has(&t, "dispute_assigned"), "{t:#?}");
    assert!(has(&t, "executed dispute:1:rejected notify"), "{t:#?}");
    assert!(has(&t, "executed standard/second-reminder"), "{t:#?}");
    // A second dispute of part of the invoice, upheld: a credit note for that part.
    run(
        &e,
        &mut store,
        &[open(2, 1000), resolve(2, true, 19)],
        at(20),
    );
    let t = decisions(&mut store, 9);
    assert!(has(&t, "credit_note_issued"), "{t:#?}");
    let s = state(&mut store, 9);
    assert_eq!(
        s.disputes[&DisputeId::new(2).unwrap()].credited_minor,
        Some(1000)
    );
    assert_eq!(
        s.ledger(day(20)).balance,
        2500,
        "30.00 + 5.00 fee - 10.00 credited"
    );
    let due = store.outbox_due(at(30), 100).unwrap();
    assert!(due.iter().any(|o| o.kind == "credit_note"), "{due:#?}");
    assert!(due.iter().any(|o| o.kind == "dispute"), "{due:#?}");
}

#[test]
fn statutory_holds_run_on_their_own_timers_and_end_by_themselves() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 10, 12);
    let events = [
        hold(10, "h:1", 12, HoldKind::BreathingSpace, None),
        hold(10, "h:2", 13, HoldKind::Crisis, None),
    ];
    run(&e, &mut store, &events, at(70));
    let t = decisions(&mut store, 10);
    // Day 12 to day 71 (60 days): nothing asks for payment, no fee.
    assert!(
        has(
            &t,
            "admitted h:1: breathing space from 2026-03-12 to 2026-05-10"
        ),
        "{t:#?}"
    );
    assert!(
        has(
            &t,
            "refused h:2: a crisis hold names the last day of the treatment"
        ),
        "{t:#?}"
    );
    assert!(!has(&t, "second-reminder"), "{t:#?}");
    assert!(!has(&t, "late-fee"), "{t:#?}");
    // It ends by itself; dunning resumes where it stopped, 60 days later than it would have.
    run(&e, &mut store, &[], at(76));
    let t = decisions(&mut store, 10);
    assert!(!has(&t, "late-fee"), "{t:#?}");
    run(&e, &mut store, &[], at(82));
    let t = decisions(&mut store, 10);
    assert!(has(&t, "executed standard/second-reminder"), "{t:#?}");
    assert!(has(&t, "executed standard/late-fee"), "{t:#?}");
    assert!(!has(&t, "soft-bar"), "{t:#?}");
    // A second breathing space within 365 days is refused; a crisis hold with its treatment
    // end is admitted for the treatment plus 30 days.
    let events = [
        hold(10, "h:3", 83, HoldKind::BreathingSpace, None),
        hold(10, "h:4", 83, HoldKind::Crisis, Some(day(90))),
    ];
    run(&e, &mut store, &events, at(84));
    let t = decisions(&mut store, 10);
    assert!(
        has(&t, "refused h:3: a breathing space started on 2026-03-12"),
        "{t:#?}"
    );
    assert!(
        has(&t, "admitted h:4: crisis from 2026-05-22 to 2026-06-28"),
        "{t:#?}"
    );
}

#[test]
fn hardship_without_a_review_date_is_reviewed_after_the_policy_period() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 11, 12);
    let h = ev(
        "hs:1",
        11,
        at(12),
        EventBody::HardshipDeclared {
            reason: "job_loss".into(),
            review_on: None,
            by: Some("agent:jo".into()),
        },
    );
    run(&e, &mut store, &[h], at(41));
    assert!(!has(&decisions(&mut store, 11), "work_queued"));
    run(&e, &mut store, &[], at(43));
    let t = decisions(&mut store, 11);
    assert!(has(&t, "work_queued"), "{t:#?}");
    let s = state(&mut store, 11);
    let (team, due, _) = s.work.values().next().unwrap();
    assert_eq!(team, "hardship");
    // 09:00 in Madrid (UTC+1 in March... UTC+2 from March 29th) on day 42.
    assert_eq!(s.local_date(*due), day(42));
    let due = store.outbox_due(at(50), 100).unwrap();
    assert!(due.iter().any(|o| o.kind == "hardship_review"), "{due:#?}");
    // Reasons are kept for analysis.
    assert_eq!(s.hardships[0].reason, "job_loss");
}

fn big_account(e: &Engine, store: &mut MemoryStore, account: i64, amount: i64, until: u32) {
    let events = [
        opened(account, CustomerType::Consumer, "Europe/Madrid"),
        invoice(account, account * 100, account * 10, amount, 10),
    ];
    run(e, store, &events, at(until));
}

fn act(
    store: &mut MemoryStore,
    account: i64,
    when: DateTime<Utc>,
    json: &str,
) -> Result<(), String> {
    let events = store.events(acc(account)).unwrap();
    let s = forbear_engine::AccountState::replay(acc(account), &events, Some(when));
    let set = forbear_engine::ScenarioSet::builtin().unwrap();
    let action: Action = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let p = prepare(&s, &set, action, when).map_err(|r| r.to_string())?;
    store.ingest(&[p.event]).unwrap();
    Ok(())
}

#[test]
fn agencies_are_chosen_paid_through_recalled_and_reported() {
    let e = engine();
    let mut store = MemoryStore::new();
    // Too small for any agency: the placement is skipped with the reason.
    big_account(&e, &mut store, 20, 3000, 75);
    assert!(has(
        &decisions(&mut store, 20),
        "skipped standard/agency: no configured agency takes this account's segment and balance"
    ));
    // Placed with the consumer agency; it collects part, then returns the case.
    big_account(&e, &mut store, 21, 10_000, 75);
    let s = state(&mut store, 21);
    assert!(
        s.open_case().unwrap().measures.iter().any(
            |m| matches!(m, forbear_engine::Measure::Agency { agency, .. } if agency == "recoveries-ltd")
        ),
        "{:?}",
        decisions(&mut store, 21)
    );
    let placed = store
        .outbox_of(forbear_engine::Target::Agency)
        .unwrap()
        .into_iter()
        .find(|o| o.account == acc(21))
        .unwrap();
    assert!(
        placed.payload.contains("\"case_file\""),
        "{}",
        placed.payload
    );
    assert!(placed.payload.contains("\"commission_bp\":2000"));
    let r = act(
        &mut store,
        21,
        at(76),
        r#"{"action":"agency_payment","by":"b2b-recoveries","payment":77,"amount_minor":2000}"#,
    );
    assert!(r.unwrap_err().contains("not placed with b2b-recoveries"));
    act(
        &mut store,
        21,
        at(76),
        r#"{"action":"agency_payment","by":"recoveries-ltd","payment":77,"amount_minor":2000}"#,
    )
    .unwrap();
    act(
        &mut store,
        21,
        at(80),
        r#"{"action":"agency_report","by":"recoveries-ltd","status":"returned","note":"customer abroad"}"#,
    )
    .unwrap();
    run(&e, &mut store, &[], at(81));
    let t = decisions(&mut store, 21);
    assert!(
        has(
            &t,
            "reversed recall_from_agency: returned by agency recoveries-ltd"
        ),
        "{t:#?}"
    );
    // Placed, then paid in full: recalled as recovered.
    big_account(&e, &mut store, 22, 10_000, 75);
    run(
        &e,
        &mut store,
        &[payment(22, 9, None, 10_500, at(85))],
        at(86),
    );
    assert!(has(
        &decisions(&mut store, 22),
        "reversed recall_from_agency"
    ));
    // Placed and left: recalled at the end of the 90-day placement.
    big_account(&e, &mut store, 23, 10_000, 75);
    run(&e, &mut store, &[], at(165));
    assert!(has(
        &decisions(&mut store, 23),
        "reversed recall_from_agency: placement period of 90 days with recoveries-ltd ended"
    ));
    let r = e.report(&mut store, at(166), &mut |_| {}).unwrap();
    let a = &r.agencies["recoveries-ltd"];
    assert_eq!((a.placed, a.recovered, a.open), (3, 1, 0), "{a:?}");
    assert_eq!(a.recovered_amount["EUR"], 2000 + 10_500);
    assert_eq!(a.commission["EUR"], (2000 + 10_500) / 5, "20% commission");
    assert!((a.recovery_rate - 1.0 / 3.0).abs() < 1e-9);
    let days = a.mean_days_to_recover.unwrap();
    assert!(
        (15.0..=16.0).contains(&days),
        "placed on day 70, cured on day 85: {days}"
    );
    assert_eq!(
        a.placed_amount["EUR"],
        3 * 10_500,
        "invoice plus the late fee"
    );
}

#[test]
fn legal_referrals_go_to_lawyers_move_through_stages_and_close() {
    let e = engine();
    let mut store = MemoryStore::new();
    big_account(&e, &mut store, 30, 30_000, 105);
    big_account(&e, &mut store, 31, 30_000, 105);
    let lawyer = |store: &mut MemoryStore, a: i64| {
        state(store, a)
            .open_case()
            .unwrap()
            .measures
            .iter()
            .find_map(|m| match m {
                forbear_engine::Measure::Legal { lawyer } => lawyer.clone(),
                _ => None,
            })
            .unwrap()
    };
    // Both idle: the more experienced first, then the one with the lower share in use.
    assert_eq!(lawyer(&mut store, 30), "a.okafor");
    assert_eq!(lawyer(&mut store, 31), "m.lindqvist");
    let stage = |by: &str, stage: &str, cost: i64| {
        format!(r#"{{"action":"legal_stage","by":"{by}","stage":"{stage}","cost_minor":{cost}}}"#)
    };
    let r = act(&mut store, 30, at(106), &stage("m.lindqvist", "filed", 0));
    assert!(r.unwrap_err().contains("assigned to a.okafor"));
    act(
        &mut store,
        30,
        at(106),
        &stage("a.okafor", "notice_sent", 1500),
    )
    .unwrap();
    act(&mut store, 30, at(120), &stage("a.okafor", "filed", 12_000)).unwrap();
    let r = act(
        &mut store,
        30,
        at(121),
        &stage("a.okafor", "notice_sent", 0),
    );
    assert!(r.unwrap_err().contains("already at filed"));
    act(&mut store, 30, at(150), &stage("a.okafor", "closed", 500)).unwrap();
    run(&e, &mut store, &[], at(151));
    assert!(has(
        &decisions(&mut store, 30),
        "reversed withdraw_legal: the legal case was closed"
    ));
    let r = e.report(&mut store, at(152), &mut |_| {}).unwrap();
    let l = &r.lawyers["a.okafor"];
    assert_eq!((l.referred, l.closed, l.open), (1, 1, 0), "{l:?}");
    assert_eq!(l.costs["EUR"], 14_000);
    assert_eq!(l.stages["closed"], 1);
    assert_eq!(r.lawyers["m.lindqvist"].open, 1);
    // The case file a lawyer prints.
    let events = store.events(acc(30)).unwrap();
    let f = forbear_engine::casefile::case_file(&events, at(152)).unwrap();
    assert_eq!(f.invoices.len(), 1);
    assert!(!f.contacts.is_empty());
    let html = forbear_engine::casefile::html(&f);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Case file — account 30"));
    assert!(html.contains("300.00 EUR"), "{html}");
}

#[test]
fn the_report_counts_disputes_promises_plans_hardship_and_grants() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 40, 12);
    let events = [
        promise(40, 1, 1000, 18, 12),
        promise(40, 2, 3000, 14, 12),
        ev(
            "hs",
            40,
            at(12),
            EventBody::HardshipDeclared {
                reason: "illness".into(),
                review_on: None,
                by: None,
            },
        ),
        ev(
            "d1",
            40,
            at(12),
            EventBody::DisputeOpened {
                dispute: DisputeId::new(1).unwrap(),
                invoice: InvoiceId::new(4000).unwrap(),
                amount_minor: 1000,
                by: None,
            },
        ),
        grant(
            40,
            "g",
            12,
            "trainee",
            Grant::GoodwillCredit { amount_minor: 10 },
        ),
    ];
    run(&e, &mut store, &events, at(20));
    run(&e, &mut store, &[], at(22));
    let r = e.report(&mut store, at(22), &mut |_| {}).unwrap();
    assert_eq!(r.accounts, 1);
    assert_eq!(
        (r.promises.made, r.promises.refused, r.promises.broken),
        (2, 1, 1)
    );
    assert_eq!(r.hardship_by_reason["illness"], 1);
    assert_eq!((r.disputes.opened, r.disputes.open), (1, 1));
    assert_eq!(r.disputes.open_amount["EUR"], 1000);
    assert_eq!(r.grants_refused, 1);
}

#[test]
fn a_promise_reminder_is_not_withdrawn_by_the_promise_it_serves() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 60, 12);
    run(&e, &mut store, &[promise(60, 1, 3000, 18, 12)], at(17));
    // A partial payment early on the reminder's day makes the engine look again before 10:00.
    let early = at(17) - Duration::hours(5);
    run(
        &e,
        &mut store,
        &[payment(60, 1, None, 500, early)],
        at(17) + Duration::hours(3),
    );
    let t = decisions(&mut store, 60);
    assert!(has(&t, "executed promise:1:reminder"), "{t:#?}");
    assert!(!has(&t, "reversed cancel_contact"), "{t:#?}");
}

#[test]
fn credit_notes_never_exceed_the_invoice() {
    let e = engine();
    let mut store = MemoryStore::new();
    overdue_account(&e, &mut store, 61, 12);
    let dispute = |id: i64| {
        [
            ev(
                &format!("d{id}"),
                61,
                at(12),
                EventBody::DisputeOpened {
                    dispute: DisputeId::new(id).unwrap(),
                    invoice: InvoiceId::new(6100).unwrap(),
                    amount_minor: 3000,
                    by: None,
                },
            ),
            ev(
                &format!("d{id}:r"),
                61,
                at(13),
                EventBody::DisputeResolved {
                    dispute: DisputeId::new(id).unwrap(),
                    upheld: true,
                    by: None,
                    note: None,
                },
            ),
        ]
    };
    let events: Vec<Event> = dispute(1).into_iter().chain(dispute(2)).collect();
    run(&e, &mut store, &events, at(14));
    let s = state(&mut store, 61);
    let credited: i64 = s.disputes.values().filter_map(|d| d.credited_minor).sum();
    assert_eq!(credited, 3000, "one invoice of 30.00 is credited once");
}

#[test]
fn a_legal_referral_waits_for_a_lawyer_with_room() {
    let text = forbear_engine::scenario::DEFAULT_SCENARIOS
        .replace("capacity = 40", "capacity = 1")
        .replace("capacity = 60", "capacity = 1");
    let e = engine_with(&text);
    let mut store = MemoryStore::new();
    for a in [70, 71, 72] {
        big_account(&e, &mut store, a, 30_000, 105);
    }
    let t = decisions(&mut store, 72);
    assert!(!has(&t, "legal_referral"), "{t:#?}");
    assert!(has(&t, "work_queued"), "the legal team hears of it: {t:#?}");
    assert!(!has(&t, "skipped standard/legal"), "{t:#?}");
    // The first lawyer closes a case: the waiting referral goes to them the next day.
    let lawyer = |store: &mut MemoryStore, a: i64| {
        state(store, a).open_case().and_then(|c| {
            c.measures.iter().find_map(|m| match m {
                forbear_engine::Measure::Legal { lawyer } => lawyer.clone(),
                _ => None,
            })
        })
    };
    let l70 = lawyer(&mut store, 70).unwrap();
    act(
        &mut store,
        70,
        at(106),
        &format!(r#"{{"action":"legal_stage","by":"{l70}","stage":"closed"}}"#),
    )
    .unwrap();
    run(&e, &mut store, &[], at(108));
    assert_eq!(lawyer(&mut store, 72), Some(l70));
}

#[test]
fn holds_of_kinds_from_older_logs_still_load() {
    let e: Event = serde_json::from_str(
        r#"{"id":"h","account":1,"at":"2026-03-01T10:00:00Z","type":"statutory_hold","kind":"debt_respite","until":"2026-04-01"}"#,
    )
    .unwrap();
    assert!(matches!(
        e.body,
        EventBody::StatutoryHold {
            kind: HoldKind::Other,
            ..
        }
    ));
}
