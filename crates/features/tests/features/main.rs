//! Point-in-time correctness of the risk features: days past due as designed, and no record
//! dated after a snapshot can change the features at that snapshot.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use forbear_core::{AgeBand, Channel, CustomerType, Product, ServiceLevel, Tone};
use forbear_features::*;

fn d(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(day)
}

fn t(day: i64, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d(day).and_hms_opt(hour, 0, 0).unwrap())
}

fn facts() -> AccountFacts {
    AccountFacts {
        customer_type: CustomerType::Consumer,
        service_level: ServiceLevel::Standard,
        product: Product::Mobile,
        age_band: Some(AgeBand::A25To34),
        services: 1,
        autopay: false,
        credit_limit_minor: Some(20_000),
        opened_on: d(-400),
    }
}

fn empty() -> AccountHistory {
    AccountHistory {
        facts: facts(),
        bills: vec![],
        payments: vec![],
        contacts: vec![],
        promises: vec![],
        disputes: vec![],
    }
}

#[test]
fn days_past_due_counts_from_the_oldest_unpaid_due_date_and_reversals_reopen() {
    let mut h = empty();
    h.bills = vec![
        BillRecord {
            issued_on: d(0),
            due_on: d(20),
            amount_minor: 1000,
        },
        BillRecord {
            issued_on: d(30),
            due_on: d(50),
            amount_minor: 1000,
        },
    ];
    h.payments = vec![
        PaymentRecord {
            paid_at: t(25, 10),
            amount_minor: 1000,
            reversed_on: Some(d(28)),
        },
        PaymentRecord {
            paid_at: t(40, 10),
            amount_minor: 1000,
            reversed_on: None,
        },
    ];
    h.sort();
    let s = DpdSeries::new(&h, d(0), d(80));
    assert_eq!(s.dpd(d(20)), 0, "due today is not past due");
    assert_eq!(s.dpd(d(21)), 1);
    assert_eq!(s.dpd(d(24)), 4);
    assert_eq!(s.dpd(d(25)), 0, "paid on day 25");
    assert_eq!(
        s.dpd(d(28)),
        8,
        "the payment bounced: back to the first bill's due date"
    );
    assert_eq!(
        s.dpd(d(40)),
        0,
        "paid again, the first bill is settled; the second is not due"
    );
    assert_eq!(s.dpd(d(55)), 5, "the second bill is unpaid");
    assert_eq!(
        s.worst(d(60), 91),
        19,
        "day 39: 19 days past the day-20 due date"
    );
    assert_eq!(label_reaches_dpd(&s, d(40), 30, 30), Some(false));
    assert_eq!(
        label_reaches_dpd(&s, d(40), 40, 30),
        Some(true),
        "day 80 is 30 days past the day-50 due date"
    );
    assert_eq!(
        label_reaches_dpd(&s, d(60), 30, 30),
        None,
        "the outcome is not known yet"
    );
}

/// A small seeded generator, so the property runs the same cases everywhere.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n as u64) as i64
    }
}

fn random_history(r: &mut Lcg) -> AccountHistory {
    let mut h = empty();
    for m in 0..14 {
        let issued = d(m * 30);
        h.bills.push(BillRecord {
            issued_on: issued,
            due_on: issued + Duration::days(20),
            amount_minor: 500 + r.below(3000),
        });
        for _ in 0..r.below(3) {
            let paid = t(m * 30 + r.below(60), 8 + r.below(12) as u32);
            let reversed =
                (r.below(10) == 0).then(|| paid.date_naive() + Duration::days(1 + r.below(10)));
            h.payments.push(PaymentRecord {
                paid_at: paid,
                amount_minor: 100 + r.below(3000),
                reversed_on: reversed,
            });
        }
        for _ in 0..r.below(4) {
            let channel = Channel::ALL[r.below(7) as usize];
            h.contacts.push(ContactRecord {
                sent_at: t(m * 30 + r.below(30), 9 + r.below(10) as u32),
                channel,
                tone: Tone::ALL[r.below(4) as usize],
                responded: r.below(3) == 0,
                conversation: false,
                opted_out: r.below(20) == 0,
            });
        }
        if r.below(4) == 0 {
            let made = d(m * 30 + r.below(30));
            h.promises.push(PromiseRecord {
                made_on: made,
                due_on: made + Duration::days(2 + r.below(12)),
                amount_minor: 100 + r.below(2000),
            });
        }
        if r.below(6) == 0 {
            let opened = d(m * 30 + r.below(30));
            h.disputes.push(DisputeRecord {
                opened_on: opened,
                resolved_on: (r.below(3) > 0).then(|| opened + Duration::days(5 + r.below(40))),
            });
        }
    }
    h.sort();
    h
}

/// Changes everything dated after `at`: amounts and dates of later records, later reversals and
/// resolutions of earlier records, and adds and removes later records.
fn rewrite_future(h: &AccountHistory, at: NaiveDate, r: &mut Lcg) -> AccountHistory {
    let mut g = h.clone();
    g.bills.retain(|b| b.issued_on <= at || r.below(2) == 0);
    for b in g.bills.iter_mut().filter(|b| b.issued_on > at) {
        b.amount_minor = 1 + r.below(9000);
        b.due_on = b.issued_on + Duration::days(r.below(40));
    }
    g.bills.push(BillRecord {
        issued_on: at + Duration::days(1),
        due_on: at + Duration::days(2),
        amount_minor: 77_777,
    });
    g.payments
        .retain(|p| p.paid_at.date_naive() <= at || r.below(2) == 0);
    for p in g.payments.iter_mut() {
        if p.paid_at.date_naive() > at {
            p.amount_minor = 1 + r.below(9000);
        }
        if p.reversed_on.is_some_and(|x| x > at) || (p.reversed_on.is_none() && r.below(3) == 0) {
            // A reversal not yet known at the snapshot: move it, drop it, or add one later.
            p.reversed_on = (r.below(2) == 0).then(|| at + Duration::days(1 + r.below(20)));
        }
    }
    g.payments.push(PaymentRecord {
        paid_at: t((at - d(0)).num_days() + 1, 12),
        amount_minor: 50_000,
        reversed_on: None,
    });
    g.contacts.retain(|c| c.sent_at.date_naive() <= at);
    g.contacts.push(ContactRecord {
        sent_at: t((at - d(0)).num_days() + 2, 10),
        channel: Channel::Sms,
        tone: Tone::Friendly,
        responded: true,
        conversation: false,
        opted_out: false,
    });
    g.promises.retain(|p| p.made_on <= at);
    g.promises.push(PromiseRecord {
        made_on: at + Duration::days(1),
        due_on: at + Duration::days(3),
        amount_minor: 5,
    });
    for x in g.disputes.iter_mut().filter(|x| {
        x.resolved_on.is_some_and(|r| r > at) || (x.resolved_on.is_none() && x.opened_on <= at)
    }) {
        x.resolved_on = (r.below(2) == 0).then(|| at + Duration::days(1 + r.below(30)));
    }
    g.disputes.push(DisputeRecord {
        opened_on: at + Duration::days(1),
        resolved_on: None,
    });
    g.facts = h.facts.clone();
    g.sort();
    g
}

fn same(a: &RiskFeatures, b: &RiskFeatures) -> bool {
    a.values()
        .iter()
        .zip(b.values())
        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn no_record_dated_after_the_snapshot_changes_the_features() {
    let mut r = Lcg(2026);
    for case in 0..400 {
        let h = random_history(&mut r);
        let at = d(60 + r.below(300));
        let g = rewrite_future(&h, at, &mut r);
        let first = d(-400);
        // Features from a series that runs past the snapshot, and from one that stops at it.
        let fh = RiskFeatures::at(&h, &DpdSeries::new(&h, first, d(500)), at);
        let fg = RiskFeatures::at(&g, &DpdSeries::new(&g, first, d(500)), at);
        let fcut = RiskFeatures::at(&h, &DpdSeries::new(&h, first, at), at);
        for (k, name) in RISK_FEATURES.iter().enumerate() {
            let (x, y, z) = (fh.values()[k], fg.values()[k], fcut.values()[k]);
            assert!(
                x == y || x.is_nan() && y.is_nan(),
                "case {case}: {name} changed from {x} to {y} when only records after {at} changed"
            );
            assert!(
                x == z || x.is_nan() && z.is_nan(),
                "case {case}: {name} depends on how far the series runs ({x} vs {z})"
            );
        }
        assert!(same(&fh, &fg));
    }
}

#[test]
fn features_see_what_happened_before_the_snapshot() {
    let mut r = Lcg(7);
    let h = random_history(&mut r);
    let s = DpdSeries::new(&h, d(-400), d(500));
    let early = RiskFeatures::at(&h, &s, d(100));
    let late = RiskFeatures::at(&h, &s, d(380));
    assert!(!same(&early, &late), "features move with time");
    let i = RISK_FEATURES
        .iter()
        .position(|n| *n == "bills_12m")
        .unwrap();
    assert_eq!(early.values()[i], 3.0, "bills due on days 20, 50, 80");
}
