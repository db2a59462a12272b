//! The truth API says what the simulator does: Monte-Carlo runs of the same customer agree.

use chrono::{Days, NaiveDate, NaiveTime};
use forbear_core::{AccountId, Channel, ContactAction, SendWindow, Tone};
use forbear_sim::rng::Rng;
use forbear_sim::{Action, Event, Portfolio, SegmentMix};

#[test]
fn truth_matches_simulated_outcomes() {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut p = Portfolio::new(3_000, 5, &SegmentMix::default(), start);
    for _ in 0..50 {
        p.step(&[]).unwrap();
    }
    let today = p.today();
    let action = ContactAction {
        channel: Channel::Sms,
        window: SendWindow::H17To19,
        tone: Tone::Friendly,
    };
    let (mut predicted, mut observed, mut predicted_none, mut observed_none, mut states) =
        (0.0, 0.0, 0.0, 0.0, 0);
    for c in p
        .customers()
        .iter()
        .filter(|c| c.view(today).overdue > 0)
        .take(150)
    {
        let at = c
            .profile
            .zone
            .at(today, NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        let t = c.truth(today, Some((action, at)));
        let t0 = c.truth(today, None);
        predicted += t.p_pay_7d;
        predicted_none += t0.p_pay_7d;
        states += 1;
        let reps = 60;
        for r in 0..reps {
            for (with_contact, sink) in [(true, &mut observed), (false, &mut observed_none)] {
                let mut sim = c.clone().with_rng(Rng::new(
                    99,
                    (r * 2 + u64::from(with_contact)) << 20 | c.profile.id.get() as u64,
                ));
                let mut out = Vec::new();
                let mut paid = false;
                for d in 0..7u64 {
                    let day = today.checked_add_days(Days::new(d)).unwrap();
                    let acts = if with_contact && d == 0 {
                        vec![Action::Contact { action, at }]
                    } else {
                        vec![]
                    };
                    sim.advance_day(day, &acts, &mut out);
                    paid |= out
                        .drain(..)
                        .any(|e| matches!(e, Event::PaymentReceived { .. }));
                }
                *sink += f64::from(u8::from(paid)) / f64::from(reps as u32);
            }
        }
    }
    let n = f64::from(states);
    assert!(states >= 100, "{states} delinquent states");
    let (pred, obs, pred0, obs0) = (
        predicted / n,
        observed / n,
        predicted_none / n,
        observed_none / n,
    );
    assert!(
        (pred - obs).abs() < 0.06,
        "with contact: truth {pred:.3}, simulated {obs:.3}"
    );
    assert!(
        (pred0 - obs0).abs() < 0.06,
        "without: truth {pred0:.3}, simulated {obs0:.3}"
    );
    assert!(
        pred > pred0,
        "a reminder helps on average: {pred:.3} vs {pred0:.3}"
    );
    let _ = AccountId::new(1);
}
