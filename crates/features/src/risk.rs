//! Delinquency-risk features at a snapshot date, and the label "reaches N days past due within H
//! days".

use crate::history::AccountHistory;
use chrono::{Datelike, Duration, NaiveDate};
use forbear_core::Channel;

/// Days after a promise's due date before it counts as broken.
pub const PROMISE_GRACE_DAYS: i64 = 3;

/// The risk features, in the order [`RiskFeatures::values`] returns them. Names are stable: model
/// bundles store them and serving checks them.
pub const RISK_FEATURES: [&str; 32] = [
    "dpd_now",
    "worst_dpd_3m",
    "worst_dpd_6m",
    "worst_dpd_12m",
    "late_bills_12m",
    "bills_12m",
    "paid_to_billed_3m",
    "paid_to_billed_6m",
    "balance_to_bill",
    "balance_change_3m",
    "utilisation",
    "tenure_months",
    "promises_broken_12m",
    "promises_kept_12m",
    "promise_open",
    "disputes_12m",
    "dispute_open",
    "days_since_last_payment",
    "payment_day_sd_12m",
    "reversed_payments_12m",
    "autopay",
    "services",
    // Category codes: positions in `CustomerType::ALL`, `ServiceLevel::ALL`, `Product::ALL`,
    // `AgeBand::ALL`.
    "customer_type",
    "service_level",
    "product",
    "age_band",
    "contacts_30d",
    "resp_sms",
    "resp_email",
    "resp_voice",
    "resp_messaging",
    "resp_letter",
];

/// Days past due and money received, day by day, each day computed from what was known that day.
#[derive(Debug, Clone, PartialEq)]
pub struct DpdSeries {
    first: NaiveDate,
    dpd: Vec<u32>,
    /// Net money received by the end of each day (payments less reversals known that day).
    covered: Vec<i64>,
    /// Billed amount known by the end of each day.
    billed: Vec<i64>,
}

impl DpdSeries {
    /// The series from `first` to `last` inclusive (`history` sorted).
    pub fn new(h: &AccountHistory, first: NaiveDate, last: NaiveDate) -> DpdSeries {
        let days = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        let (mut dpd, mut covered, mut billed) = (
            Vec::with_capacity(days),
            Vec::with_capacity(days),
            Vec::with_capacity(days),
        );
        // Bills in due order with running totals; known from their issue date.
        let bills = &h.bills;
        let mut prefix = Vec::with_capacity(bills.len() + 1);
        prefix.push(0i64);
        for b in bills {
            prefix.push(prefix.last().copied().unwrap_or(0) + b.amount_minor);
        }
        let issue_monotone = bills.windows(2).all(|w| w[0].issued_on <= w[1].issued_on);
        let mut reversals: Vec<(NaiveDate, i64)> = h
            .payments
            .iter()
            .filter_map(|p| p.reversed_on.map(|r| (r, p.amount_minor)))
            .collect();
        reversals.sort_unstable();
        let (mut pi, mut ri, mut known) = (0, 0, 0);
        let mut cover = 0i64;
        for d in 0..days {
            let day = first + Duration::days(d as i64);
            while pi < h.payments.len() && h.payments[pi].paid_at.date_naive() <= day {
                cover += h.payments[pi].amount_minor;
                pi += 1;
            }
            while ri < reversals.len() && reversals[ri].0 <= day {
                cover -= reversals[ri].1;
                ri += 1;
            }
            let value = if issue_monotone {
                while known < bills.len() && bills[known].issued_on <= day {
                    known += 1;
                }
                // The first known bill not covered by the money received, first due first.
                let k = prefix[1..=known].partition_point(|&p| p <= cover);
                billed.push(prefix[known]);
                if k < known && bills[k].due_on < day {
                    (day - bills[k].due_on).num_days() as u32
                } else {
                    0
                }
            } else {
                // Bills issued out of due order: walk the known ones, first due first.
                let known_bills = bills.iter().filter(|b| b.issued_on <= day);
                billed.push(known_bills.clone().map(|b| b.amount_minor).sum());
                let mut acc = 0;
                let mut out = 0;
                for b in known_bills {
                    acc += b.amount_minor;
                    if acc > cover {
                        if b.due_on < day {
                            out = (day - b.due_on).num_days() as u32;
                        }
                        break;
                    }
                }
                out
            };
            dpd.push(value);
            covered.push(cover);
        }
        DpdSeries {
            first,
            dpd,
            covered,
            billed,
        }
    }

    fn index(&self, day: NaiveDate) -> Option<usize> {
        let k = (day - self.first).num_days();
        (k >= 0 && (k as usize) < self.dpd.len()).then_some(k as usize)
    }

    /// Days past due on `day` (0 outside the series).
    pub fn dpd(&self, day: NaiveDate) -> u32 {
        self.index(day).map_or(0, |k| self.dpd[k])
    }

    /// The worst DPD over the `days` days ending on `day`.
    pub fn worst(&self, day: NaiveDate, days: i64) -> u32 {
        let Some(end) = self.index(day) else { return 0 };
        let start = end.saturating_sub(days as usize - 1);
        self.dpd[start..=end].iter().copied().max().unwrap_or(0)
    }

    /// Net money received by the end of `day`.
    pub fn covered(&self, day: NaiveDate) -> i64 {
        match self.index(day) {
            Some(k) => self.covered[k],
            None if day < self.first => 0,
            None => self.covered.last().copied().unwrap_or(0),
        }
    }

    /// Amount billed (bills issued) by the end of `day`.
    pub fn billed(&self, day: NaiveDate) -> i64 {
        match self.index(day) {
            Some(k) => self.billed[k],
            None if day < self.first => 0,
            None => self.billed.last().copied().unwrap_or(0),
        }
    }

    /// Last day covered.
    pub fn last(&self) -> NaiveDate {
        self.first + Duration::days(self.dpd.len() as i64 - 1)
    }
}

/// Whether the account reaches `threshold` days past due within `horizon` days after `at`;
/// `None` when the series does not reach that far (the outcome is not yet known).
pub fn label_reaches_dpd(
    series: &DpdSeries,
    at: NaiveDate,
    horizon: i64,
    threshold: u32,
) -> Option<bool> {
    let end = at + Duration::days(horizon);
    if end > series.last() {
        return None;
    }
    Some(series.worst(end, horizon) >= threshold)
}

/// The risk features of one account at one date.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskFeatures {
    values: [f64; RISK_FEATURES.len()],
}

fn smoothed(hits: usize, tries: usize) -> f64 {
    (hits as f64 + 1.0) / (tries as f64 + 2.0)
}

impl RiskFeatures {
    /// The features at the end of day `at` with the series built here, from the account's
    /// opening (or first bill, if earlier) to `at`: what a scoring run computes from an
    /// account's records alone.
    pub fn known_by(h: &AccountHistory, at: NaiveDate) -> RiskFeatures {
        let first = h
            .bills
            .first()
            .map_or(h.facts.opened_on, |b| b.issued_on.min(h.facts.opened_on))
            .min(at);
        RiskFeatures::at(h, &DpdSeries::new(h, first, at), at)
    }

    /// The features at the end of day `at`, from records known by then. `series` must start on or
    /// before the account's first record and reach `at`.
    pub fn at(h: &AccountHistory, series: &DpdSeries, at: NaiveDate) -> RiskFeatures {
        let year_ago = at - Duration::days(365);
        let in_year = |d: NaiveDate| d > year_ago && d <= at;
        let bills_12m: Vec<_> = h.bills.iter().filter(|b| in_year(b.due_on)).collect();
        let late = bills_12m
            .iter()
            .filter(|b| {
                // Late when the money received by the due date did not reach this bill.
                let before: i64 = h
                    .bills
                    .iter()
                    .filter(|o| (o.due_on, o.issued_on) <= (b.due_on, b.issued_on))
                    .map(|o| o.amount_minor)
                    .sum();
                series.covered(b.due_on) < before
            })
            .count();
        let mean_bill = if bills_12m.is_empty() {
            f64::NAN
        } else {
            bills_12m.iter().map(|b| b.amount_minor as f64).sum::<f64>() / bills_12m.len() as f64
        };
        let ratio = |days: i64| {
            let from = at - Duration::days(days);
            let billed = series.billed(at) - series.billed(from);
            let paid = series.covered(at) - series.covered(from);
            if billed > 0 {
                paid as f64 / billed as f64
            } else {
                f64::NAN
            }
        };
        let balance = |d: NaiveDate| (series.billed(d) - series.covered(d)).max(0) as f64;
        let paid_days: Vec<NaiveDate> = h
            .payments
            .iter()
            .map(|p| p.paid_at.date_naive())
            .filter(|d| *d <= at)
            .collect();
        let days_since_payment = paid_days
            .iter()
            .max()
            .map_or(f64::NAN, |d| (at - *d).num_days() as f64);
        let pay_days_12m: Vec<f64> = paid_days
            .iter()
            .filter(|d| in_year(**d))
            .map(|d| f64::from(d.day()))
            .collect();
        let payment_day_sd = if pay_days_12m.len() < 2 {
            f64::NAN
        } else {
            let m = pay_days_12m.iter().sum::<f64>() / pay_days_12m.len() as f64;
            (pay_days_12m.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                / (pay_days_12m.len() - 1) as f64)
                .sqrt()
        };
        let (mut broken, mut kept, mut open) = (0, 0, 0);
        for p in h.promises.iter().filter(|p| p.made_on <= at) {
            let settles = p.due_on + Duration::days(PROMISE_GRACE_DAYS);
            if settles >= at {
                open += 1;
                continue;
            }
            if !in_year(settles) {
                continue;
            }
            let paid = series.covered(settles) - series.covered(p.made_on - Duration::days(1));
            if paid >= p.amount_minor {
                kept += 1
            } else {
                broken += 1
            }
        }
        let disputes_12m = h.disputes.iter().filter(|d| in_year(d.opened_on)).count();
        let dispute_open = h
            .disputes
            .iter()
            .any(|d| d.opened_on <= at && d.resolved_on.is_none_or(|r| r > at));
        let reversed = h
            .payments
            .iter()
            .filter(|p| p.reversed_on.is_some_and(in_year))
            .count();
        let month_ago = at - Duration::days(30);
        let contacts_30d = h
            .contacts
            .iter()
            .filter(|c| {
                let d = c.sent_at.date_naive();
                d > month_ago && d <= at
            })
            .count();
        let resp = |channels: &[Channel]| {
            let cs = h
                .contacts
                .iter()
                .filter(|c| in_year(c.sent_at.date_naive()) && channels.contains(&c.channel));
            let (n, r) = cs.fold((0, 0), |(n, r), c| (n + 1, r + usize::from(c.responded)));
            smoothed(r, n)
        };
        let f = &h.facts;
        let values = [
            f64::from(series.dpd(at)),
            f64::from(series.worst(at, 91)),
            f64::from(series.worst(at, 182)),
            f64::from(series.worst(at, 365)),
            late as f64,
            bills_12m.len() as f64,
            ratio(91),
            ratio(182),
            balance(at) / mean_bill,
            (balance(at) - balance(at - Duration::days(91))) / mean_bill,
            f.credit_limit_minor
                .filter(|l| *l > 0)
                .map_or(f64::NAN, |l| balance(at) / l as f64),
            ((at - f.opened_on).num_days() as f64 / 30.44).max(0.0),
            f64::from(broken),
            f64::from(kept),
            f64::from(open),
            disputes_12m as f64,
            f64::from(u8::from(dispute_open)),
            days_since_payment,
            payment_day_sd,
            reversed as f64,
            f64::from(u8::from(f.autopay)),
            f64::from(f.services),
            f.customer_type.index() as f64,
            f.service_level.index() as f64,
            f.product.index() as f64,
            f.age_band.map_or(f64::NAN, |a| a.index() as f64),
            contacts_30d as f64,
            resp(&[Channel::Sms]),
            resp(&[Channel::Email, Channel::Push]),
            resp(&[Channel::Ivr, Channel::AgentCall]),
            resp(&[Channel::Messaging]),
            resp(&[Channel::Letter]),
        ];
        RiskFeatures { values }
    }

    /// The values, in [`RISK_FEATURES`] order.
    pub fn values(&self) -> &[f64; RISK_FEATURES.len()] {
        &self.values
    }
}
