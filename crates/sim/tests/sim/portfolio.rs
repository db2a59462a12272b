use chrono::NaiveDate;
use forbear_core::{AccountId, Channel, ContactAction, SendWindow, Tone};
use forbear_sim::portfolio::StepError;
use forbear_sim::{Action, Event, Portfolio, SegmentMix};

#[test]
fn a_portfolio_lives_day_by_day_and_reacts_to_actions() {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut p = Portfolio::new(2_000, 3, &SegmentMix::default(), start);
    let mut invoices = 0;
    let mut contacted = 0;
    for _ in 0..75 {
        let today = p.today();
        let mut actions = Vec::new();
        for c in p.customers() {
            let v = c.view(today);
            if v.days_past_due == 5 && v.overdue > 0 {
                let at = c
                    .profile
                    .zone
                    .at(today, chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap());
                let action = ContactAction {
                    channel: Channel::Letter,
                    window: SendWindow::H17To19,
                    tone: Tone::Neutral,
                };
                actions.push((c.profile.id, Action::Contact { action, at }));
            }
        }
        for (_, e) in p.step(&actions).unwrap() {
            match e {
                Event::InvoiceIssued { .. } => invoices += 1,
                Event::Contacted(_) => contacted += 1,
                _ => {}
            }
        }
    }
    assert!(invoices > 2_000, "{invoices}");
    assert!(contacted > 50, "{contacted}");
}

#[test]
fn bad_actions_are_refused_before_the_day_is_simulated() {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut p = Portfolio::new(10, 3, &SegmentMix::default(), start);
    let err = p
        .step(&[(AccountId::new(11).unwrap(), Action::Bar)])
        .unwrap_err();
    assert_eq!(err, StepError::UnknownAccount(AccountId::new(11).unwrap()));
    let c = &p.customers()[0];
    let tomorrow = start.succ_opt().unwrap();
    let at = c
        .profile
        .zone
        .at(tomorrow, chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap());
    let action = ContactAction {
        channel: Channel::Sms,
        window: SendWindow::H12To14,
        tone: Tone::Friendly,
    };
    let err = p
        .step(&[(c.profile.id, Action::Contact { action, at })])
        .unwrap_err();
    assert!(matches!(err, StepError::NotToday { .. }));
    assert_eq!(p.today(), start, "nothing simulated");
}
