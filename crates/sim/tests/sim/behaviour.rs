use super::histories;
use chrono::Timelike;
use forbear_core::{AgeBand, Channel};
use forbear_sim::Event;
use forbear_sim::population::LatenessReason;
use forbear_sim::stats::PortfolioStats;

#[test]
fn aggregate_rates_land_in_the_target_ranges() {
    let mut stats = PortfolioStats::default();
    for h in histories() {
        stats.add(h);
    }
    let misses = stats.misses();
    assert!(misses.is_empty(), "targets missed: {misses:?}\n{stats}");
}

/// The forgetful pay within a week of their first reminder far more often than those in hardship.
#[test]
fn the_forgetful_cure_after_one_reminder_far_more_often_than_those_in_hardship() {
    let mut cured = [0u32; 2];
    let mut reminded = [0u32; 2];
    for h in histories() {
        let forgetful = h.customer.traits.reason == LatenessReason::Forgot;
        let spells = h.customer.hardship_periods();
        let mut previous_dpd = i32::MIN;
        let payments: Vec<_> = h
            .events
            .iter()
            .filter_map(|(_, e, _)| match e {
                Event::PaymentReceived { at, amount, .. } => Some((*at, *amount)),
                _ => None,
            })
            .collect();
        for (_, e, _) in &h.events {
            let Event::Contacted(o) = e else { continue };
            // The first reminder of an episode: overdue, and no contact earlier in the episode.
            let first = o.days_past_due > 0 && previous_dpd >= o.days_past_due;
            let first = first || (o.days_past_due > 0 && previous_dpd == i32::MIN);
            previous_dpd = o.days_past_due;
            let in_spell = spells
                .iter()
                .any(|(from, to)| (*from..=*to).contains(&o.at.date_naive()));
            let group = match (forgetful, in_spell) {
                (true, false) => 0,
                (_, true) => 1,
                _ => continue,
            };
            if !first || !o.responded {
                continue;
            }
            reminded[group] += 1;
            let paid: i64 = payments
                .iter()
                .filter(|(at, _)| *at > o.at && *at <= o.at + chrono::Duration::days(7))
                .map(|(_, a)| a)
                .sum();
            cured[group] += u32::from(paid >= o.balance);
        }
    }
    let rate = |g: usize| f64::from(cured[g]) / f64::from(reminded[g].max(1));
    assert!(
        reminded[0] > 200 && reminded[1] > 50,
        "too few reminders: {reminded:?}"
    );
    assert!(
        rate(0) > 2.0 * rate(1),
        "forgot {:.3} vs hardship {:.3}",
        rate(0),
        rate(1)
    );
    assert!(rate(0) > 0.5, "forgot cure rate {:.3}", rate(0));
}

#[test]
fn no_logged_contact_is_at_night_in_local_time() {
    let mut n = 0;
    for h in histories() {
        for (_, e, _) in &h.events {
            if let Event::Contacted(o) = e {
                let local = h.customer.profile.zone.local(o.at);
                assert!(
                    (8..21).contains(&local.hour()),
                    "contact at {local} local ({})",
                    h.customer.profile.zone
                );
                n += 1;
            }
        }
    }
    assert!(n > 10_000, "only {n} contacts");
}

#[test]
fn logged_propensities_are_those_of_the_logging_policy() {
    let eps = super::config().policy.exploration;
    let (mut steps_with_default, mut explored) = (0u32, 0u32);
    for h in histories() {
        for (_, e, d) in &h.events {
            let Event::Contacted(_) = e else { continue };
            let d = d.expect("every logged contact carries its decision");
            assert!(d.explored || d.is_default, "{d:?}");
            let n = f64::from(d.allowed);
            // The propensity is exactly the mixture's probability of the logged action.
            let expected = if !d.default_allowed {
                1.0 / n
            } else if d.is_default {
                (1.0 - eps) + eps / n
            } else {
                eps / n
            };
            assert!(
                (d.propensity - expected).abs() < 1e-12,
                "{d:?}: expected {expected}"
            );
            assert!(d.propensity > 0.0 && d.propensity <= 1.0);
            if d.default_allowed {
                steps_with_default += 1;
                explored += u32::from(d.explored);
            }
        }
    }
    let share = f64::from(explored) / f64::from(steps_with_default);
    // Tens of thousands of Bernoulli(ε) draws: within 1.5 points of the configured rate.
    assert!(
        (share - eps).abs() < 0.015,
        "explored share {share:.4}, configured {eps}"
    );
}

#[test]
fn younger_customers_answer_digital_channels_more_than_letters() {
    let mut sent = [[0u32; 7]; 2];
    let mut answered = [[0u32; 7]; 2];
    for h in histories() {
        let g = match h.customer.profile.age {
            Some(AgeBand::A18To24 | AgeBand::A25To34) => 0,
            Some(AgeBand::A55To64 | AgeBand::A65Plus) => 1,
            _ => continue,
        };
        for (_, e, _) in &h.events {
            if let Event::Contacted(o) = e {
                sent[g][o.action.channel.index()] += 1;
                answered[g][o.action.channel.index()] += u32::from(o.responded);
            }
        }
    }
    let rate = |g: usize, c: Channel| {
        f64::from(answered[g][c.index()]) / f64::from(sent[g][c.index()].max(1))
    };
    for c in [Channel::Sms, Channel::Messaging] {
        assert!(
            rate(0, c) > 1.5 * rate(0, Channel::Letter),
            "young: {c} {:.3} vs letter {:.3}",
            rate(0, c),
            rate(0, Channel::Letter)
        );
        assert!(
            rate(0, c) > rate(1, c),
            "{c}: young {:.3} vs old {:.3}",
            rate(0, c),
            rate(1, c)
        );
    }
    assert!(rate(1, Channel::Letter) > rate(0, Channel::Letter));
}

#[test]
fn prepaid_accounts_carry_no_credit_risk() {
    let mut prepaid = 0;
    for h in histories()
        .iter()
        .filter(|h| h.customer.profile.subscription == forbear_core::SubscriptionType::Prepaid)
    {
        prepaid += 1;
        assert!(
            h.events.is_empty(),
            "prepaid account {} has events",
            h.customer.profile.id
        );
    }
    assert!(prepaid > 500);
}
