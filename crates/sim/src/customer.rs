//! One simulated customer living day by day: bills arrive, money comes and goes, contacts land.
//!
//! [`Customer::advance_day`] is the single place where a customer reacts — to their own life
//! (paydays, hardship shocks, forgetting) and to whatever someone else does to them that day
//! (the logging policy when history is generated, the dunning engine in the strategy lab). It
//! reports what happened as [`Event`]s.

use crate::behaviour::{self as law, HazardState};
use crate::population::{LatenessReason, Profile, Traits};
use crate::rng::Rng;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use forbear_core::rules::{ChannelSet, ContactFacts, PastContact};
use forbear_core::{Channel, ContactAction, DaysPastDue, SubscriptionType};

/// Days from issue to due date.
pub const PAYMENT_TERMS_DAYS: u64 = 20;

/// Something done to a customer today.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A contact sent at an instant (which must fall on the day being simulated).
    Contact {
        /// Channel, window and tone.
        action: ContactAction,
        /// When it is sent.
        at: DateTime<Utc>,
    },
    /// Outgoing service barred on the overdue services.
    Bar,
    /// Barring lifted.
    Unbar,
    /// A payment plan offered: the balance in `instalments` monthly parts.
    OfferPlan {
        /// Number of instalments (≥ 1).
        instalments: u32,
    },
}

/// What happened to a customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A bill was issued.
    InvoiceIssued {
        invoice_id: i64,
        service_id: i64,
        amount: i64,
        issued_on: NaiveDate,
        due_on: NaiveDate,
    },
    /// Money arrived.
    PaymentReceived {
        payment_id: i64,
        invoice_id: Option<i64>,
        at: DateTime<Utc>,
        amount: i64,
        method: &'static str,
    },
    /// A payment bounced and was taken back.
    PaymentReversed { payment_id: i64, on: NaiveDate },
    /// A dispute was opened.
    DisputeOpened {
        dispute_id: i64,
        invoice_id: i64,
        amount: i64,
        on: NaiveDate,
        reason: &'static str,
    },
    /// A dispute was resolved.
    DisputeResolved {
        dispute_id: i64,
        upheld: bool,
        on: NaiveDate,
    },
    /// The outcome of a contact.
    Contacted(ContactOutcome),
    /// A promise to pay was made.
    PromiseMade {
        promise_id: i64,
        invoice_id: Option<i64>,
        amount: i64,
        made_on: NaiveDate,
        due_on: NaiveDate,
        channel: Channel,
    },
    /// A promise reached its due date plus grace.
    PromiseSettled {
        promise_id: i64,
        kept: bool,
        paid: i64,
    },
    /// The customer told us of hardship, and why.
    HardshipDeclared { on: NaiveDate, reason: &'static str },
    /// A payment plan was accepted (offered to the customer, or asked for by them): its
    /// instalments, the down payment first.
    PlanAccepted {
        on: NaiveDate,
        instalments: u32,
        schedule: Vec<(NaiveDate, i64)>,
    },
    /// The customer left.
    Churned { on: NaiveDate },
}

/// The outcome of one contact, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactOutcome {
    /// Action taken.
    pub action: ContactAction,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// Oldest unpaid invoice.
    pub invoice_id: Option<i64>,
    /// Days past due (negative: before the due date).
    pub days_past_due: i32,
    /// Balance due when sent.
    pub balance: i64,
    /// Reached the device or line.
    pub delivered: bool,
    /// Read or answered.
    pub responded: bool,
    /// A call reached the customer and the debt was discussed.
    pub conversation: bool,
    /// A promise was made.
    pub promise_made: bool,
    /// The customer complained.
    pub complaint: bool,
    /// The customer opted out of the channel.
    pub opted_out: bool,
}

#[derive(Debug, Clone)]
struct OpenInvoice {
    id: i64,
    due: NaiveDate,
    remaining: i64,
    disputed: bool,
}

#[derive(Debug, Clone)]
struct Planned {
    on: NaiveDate,
    amount: i64,
    method: &'static str,
}

#[derive(Debug, Clone)]
struct OpenPromise {
    id: i64,
    due: NaiveDate,
    amount: i64,
    paid: i64,
}

/// A dispute the customer has decided to raise (`Planned`, opened on `next_on`) or has raised
/// (`Open`, resolved on `next_on`).
#[derive(Debug, Clone)]
struct DisputeCase {
    invoice: i64,
    amount: i64,
    next_on: NaiveDate,
    stage: DisputeStage,
}

#[derive(Debug, Clone, Copy)]
enum DisputeStage {
    Planned,
    Open { id: i64, upheld: bool },
}

/// What anyone may see of a customer's account today (no latent traits).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountView {
    /// Balance due (overdue and not yet due), minor units.
    pub balance: i64,
    /// Overdue balance, minor units.
    pub overdue: i64,
    /// Days past due of the oldest unpaid invoice (negative: days until it is due).
    pub days_past_due: i32,
    /// The oldest unpaid invoice.
    pub oldest_invoice: Option<i64>,
    /// A dispute is open.
    pub dispute_open: bool,
    /// A promise to pay is open.
    pub promise_open: bool,
    /// The customer declared hardship in the last 60 days.
    pub hardship_declared: bool,
    /// Channels opted out of.
    pub opted_out: ChannelSet,
    /// Service is barred.
    pub barred: bool,
    /// The customer has left.
    pub churned: bool,
    /// Invoices paid after their due date so far.
    pub late_invoices: u32,
}

/// A simulated customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Observable facts.
    pub profile: Profile,
    /// Latent traits.
    pub traits: Traits,
    rng: Rng,
    invoices: Vec<OpenInvoice>,
    planned: Vec<Planned>,
    promises: Vec<OpenPromise>,
    disputes: Vec<DisputeCase>,
    reversals: Vec<(NaiveDate, i64, i64)>,
    recent: Vec<PastContact>,
    boost: f64,
    forgot: bool,
    hardship_until: Option<NaiveDate>,
    declared_until: Option<NaiveDate>,
    opted_out: ChannelSet,
    barred: bool,
    churned_on: Option<NaiveDate>,
    complaints: u32,
    late_invoices: u32,
    seq: i64,
    invoice_seq: i64,
    spells: Vec<(NaiveDate, NaiveDate)>,
    /// Hardship spells started.
    pub hardship_spells: u32,
    /// Days spent in hardship.
    pub hardship_days: u32,
    /// Whether the customer uses the self-service link every message carries: in a hardship
    /// spell they declare it more readily (at least one responded contact in four) and ask for
    /// a plan when they do. Off for history generation, on in the strategy lab.
    pub self_service: bool,
}

impl Customer {
    /// A customer with their own random stream.
    pub fn new(profile: Profile, traits: Traits, rng: Rng) -> Self {
        Customer {
            profile,
            traits,
            rng,
            invoices: Vec::new(),
            planned: Vec::new(),
            promises: Vec::new(),
            disputes: Vec::new(),
            reversals: Vec::new(),
            recent: Vec::new(),
            boost: 0.0,
            forgot: false,
            hardship_until: None,
            declared_until: None,
            opted_out: ChannelSet::EMPTY,
            barred: false,
            churned_on: None,
            complaints: 0,
            late_invoices: 0,
            seq: 0,
            invoice_seq: 0,
            spells: Vec::new(),
            hardship_spells: 0,
            hardship_days: 0,
            self_service: false,
        }
    }

    /// Why this customer's hardship is declared (fixed per customer, no random draw).
    pub fn hardship_reason(&self) -> &'static str {
        const REASONS: [&str; 4] = ["job_loss", "illness", "income_drop", "bereavement"];
        REASONS[usize::try_from(self.profile.id.get().rem_euclid(4)).unwrap_or(0)]
    }

    /// Splits `overdue` into `n` monthly instalments from `date` + 3 days (the last takes the
    /// remainder), the customer planning to pay each with the chance of keeping promises.
    fn agree_plan(
        &mut self,
        date: NaiveDate,
        overdue: i64,
        n: u32,
        in_hardship: bool,
        out: &mut Vec<Event>,
    ) {
        let part = overdue / i64::from(n);
        let mut schedule = Vec::new();
        for k in 0..n {
            let on = date
                .checked_add_days(Days::new(u64::from(k) * 30 + 3))
                .unwrap_or(date);
            let amount = if k + 1 == n {
                overdue - part * i64::from(k)
            } else {
                part
            };
            if amount <= 0 {
                continue;
            }
            schedule.push((on, amount));
            if self
                .rng
                .chance(law::p_keep(&self.traits, in_hardship).max(0.5))
            {
                self.planned.push(Planned {
                    on,
                    amount,
                    method: "bank_transfer",
                });
            }
        }
        out.push(Event::PlanAccepted {
            on: date,
            instalments: n,
            schedule,
        });
    }

    /// The same customer in the same state, living on with another random stream (for Monte-Carlo
    /// estimates of what may happen next).
    #[must_use]
    pub fn with_rng(mut self, rng: Rng) -> Self {
        self.rng = rng;
        self
    }

    fn next_id(&mut self) -> i64 {
        self.seq += 1;
        self.profile.id.get() * 10_000 + self.seq
    }

    fn undisputed_balance(&self) -> i64 {
        self.invoices
            .iter()
            .filter(|i| !i.disputed)
            .map(|i| i.remaining)
            .sum()
    }

    /// The overdue amount on `date` under open disputes (each dispute's amount, at most what is
    /// left of its bill, for bills past their due date): what no one may dun for while the
    /// disputes run.
    pub fn disputed_overdue(&self, date: NaiveDate) -> i64 {
        self.disputes
            .iter()
            .filter(|d| matches!(d.stage, DisputeStage::Open { .. }))
            .map(|d| {
                self.invoices
                    .iter()
                    .find(|i| i.id == d.invoice && i.due < date)
                    .map_or(0, |i| d.amount.min(i.remaining))
            })
            .sum()
    }

    /// Whether any bill is open (cheap; the policy's first question every day).
    pub fn has_open_invoices(&self) -> bool {
        !self.invoices.is_empty()
    }

    /// Whether a hardship spell runs on `date`.
    pub fn in_hardship(&self, date: NaiveDate) -> bool {
        self.hardship_until.is_some_and(|u| date <= u)
    }

    /// The hardship spells lived so far, first and last day (latent: truth only).
    pub fn hardship_periods(&self) -> &[(NaiveDate, NaiveDate)] {
        &self.spells
    }

    /// Date the customer left, if they did.
    pub fn churned_on(&self) -> Option<NaiveDate> {
        self.churned_on
    }

    /// Contacts of the last days, as the contact rules see them.
    pub fn recent_contacts(&self) -> &[PastContact] {
        &self.recent
    }

    /// The facts the contact rules need on `date`.
    pub fn contact_facts(&self, date: NaiveDate) -> ContactFacts<'_> {
        let v = self.view(date);
        ContactFacts {
            time_zone: self.profile.zone,
            other_zones: &[],
            consent: self.profile.consent,
            opted_out: self.opted_out,
            // Dunning is held only when everything owed is under dispute.
            dispute_open: v.dispute_open && self.undisputed_balance() == 0,
            statutory_hold: false,
            hardship: v.hardship_declared,
            recent: &self.recent,
        }
    }

    /// What is observable of the account on `date`.
    pub fn view(&self, date: NaiveDate) -> AccountView {
        let balance: i64 = self.invoices.iter().map(|i| i.remaining).sum();
        let overdue: i64 = self
            .invoices
            .iter()
            .filter(|i| i.due < date)
            .map(|i| i.remaining)
            .sum();
        let oldest = self
            .invoices
            .iter()
            .filter(|i| !i.disputed)
            .min_by_key(|i| i.due);
        AccountView {
            balance,
            overdue,
            days_past_due: oldest.map_or(0, |i| (date - i.due).num_days() as i32),
            oldest_invoice: oldest.map(|i| i.id),
            dispute_open: self
                .disputes
                .iter()
                .any(|d| matches!(d.stage, DisputeStage::Open { .. })),
            promise_open: !self.promises.is_empty(),
            hardship_declared: self.declared_until.is_some_and(|u| date <= u),
            opted_out: self.opted_out,
            barred: self.barred,
            churned: self.churned_on.is_some(),
            late_invoices: self.late_invoices,
        }
    }

    /// Days past due of the account on `date`.
    pub fn dpd(&self, date: NaiveDate) -> DaysPastDue {
        self.invoices
            .iter()
            .filter(|i| i.remaining > 0)
            .map(|i| DaysPastDue::between(i.due, date))
            .max()
            .unwrap_or(DaysPastDue::CURRENT)
    }

    pub(crate) fn hazard_state(&self, date: NaiveDate) -> HazardState {
        HazardState {
            forgot: self.forgot,
            in_hardship: self.in_hardship(date),
            barred: self.barred,
            bill_today: self.is_billing_day(date),
        }
    }

    pub(crate) fn boost(&self) -> f64 {
        self.boost
    }

    /// Whether a payment is already planned (a kept promise, a plan instalment, an on-time
    /// payment) on or before `until`.
    pub(crate) fn payment_planned_by(&self, until: NaiveDate) -> bool {
        self.planned.iter().any(|p| p.on <= until)
    }

    /// Whether a promise to pay is open.
    pub(crate) fn promise_open(&self) -> bool {
        !self.promises.is_empty()
    }

    /// Whether the customer has forgotten the current bill.
    pub(crate) fn forgot(&self) -> bool {
        self.forgot
    }

    pub(crate) fn is_billing_day(&self, date: NaiveDate) -> bool {
        self.churned_on.is_none()
            && self.profile.subscription == SubscriptionType::Postpaid
            && date >= self.profile.opened_on
            && date.day() == self.profile.cycle_day
    }

    fn local_instant(&mut self, date: NaiveDate, from_hour: u32, to_hour: u32) -> DateTime<Utc> {
        let minutes =
            self.rng
                .between(i64::from(from_hour) * 60, i64::from(to_hour) * 60 - 1) as u32;
        let t = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN);
        self.profile.zone.at(date, t)
    }

    /// Lives one day: `actions` are what someone does to the customer today.
    pub fn advance_day(&mut self, date: NaiveDate, actions: &[Action], out: &mut Vec<Event>) {
        if self.profile.subscription == SubscriptionType::Prepaid {
            return;
        }
        self.life_events(date, out);
        if self.is_billing_day(date) {
            self.bill(date, out);
        }
        self.disputes_today(date, out);
        self.reversals_today(date, out);
        for a in actions {
            self.react(date, a, out);
        }
        self.pay_today(date, out);
        self.settle_promises(date, out);
        self.boost *= law::BOOST_DECAY;
        if self.recent.len() > 16
            || self
                .recent
                .first()
                .is_some_and(|c| (date - c.at.date_naive()).num_days() > 8)
        {
            self.recent
                .retain(|c| (date - c.at.date_naive()).num_days() <= 8);
        }
    }

    fn life_events(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        if self.in_hardship(date) {
            self.hardship_days += 1;
        } else if self.rng.chance(self.traits.shock_rate / 30.0) {
            let days = self.rng.lognormal(4.0, 0.5).clamp(14.0, 300.0) as u64;
            self.hardship_until = date.checked_add_days(Days::new(days));
            self.spells
                .push((date, self.hardship_until.unwrap_or(date)));
            self.hardship_spells += 1;
        }
        if self.churned_on.is_none() && date >= self.profile.opened_on {
            let p = self.traits.churn_propensity / 30.0
                * (1.0 + 1.5 * f64::from(self.complaints))
                * if self.barred { 2.0 } else { 1.0 };
            if self.rng.chance(p) {
                self.churned_on = Some(date);
                out.push(Event::Churned { on: date });
            }
        }
    }

    fn bill(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        let due = date
            .checked_add_days(Days::new(PAYMENT_TERMS_DAYS))
            .unwrap_or(date);
        let mut total = 0;
        for s in 1..=self.profile.services {
            self.invoice_seq += 1;
            let id = self.profile.id.get() * 1_000 + self.invoice_seq;
            let amount = ((self.profile.fee_minor as f64) * self.rng.lognormal(0.0, 0.12))
                .round()
                .max(100.0) as i64;
            total += amount;
            self.invoices.push(OpenInvoice {
                id,
                due,
                remaining: amount,
                disputed: false,
            });
            out.push(Event::InvoiceIssued {
                invoice_id: id,
                service_id: self.profile.id.get() * 10 + i64::from(s),
                amount,
                issued_on: date,
                due_on: due,
            });
            let dispute_p = if self.traits.reason == LatenessReason::Dispute {
                0.2
            } else {
                0.003
            };
            if self.rng.chance(dispute_p) {
                let on = date
                    .checked_add_days(Days::new(self.rng.between(2, 15) as u64))
                    .unwrap_or(date);
                let disputed = ((amount as f64) * self.rng.uniform(0.3, 1.0)).round() as i64;
                self.disputes.push(DisputeCase {
                    invoice: id,
                    amount: disputed.max(1),
                    next_on: on,
                    stage: DisputeStage::Planned,
                });
            }
        }
        // Decide how this bill will be paid if nobody intervenes.
        let in_hardship = self.in_hardship(date);
        self.forgot = false;
        if self.profile.autopay && !in_hardship {
            self.planned.push(Planned {
                on: due,
                amount: total,
                method: "direct_debit",
            });
            return;
        }
        let t = &self.traits;
        let on_time = match t.reason {
            _ if in_hardship => 0.3,
            LatenessReason::None => 0.97,
            LatenessReason::Forgot => 0.85,
            LatenessReason::CashFlow => 0.45 + 0.3 * t.income_regularity,
            LatenessReason::Hardship => 0.75,
            LatenessReason::Dispute => 0.8,
            LatenessReason::WontPay => 0.45,
        };
        let forgets = self.rng.chance(t.forgetfulness);
        if forgets {
            self.forgot = true;
        } else if self.rng.chance(on_time) {
            let pay_on = date
                .checked_add_days(Days::new(
                    self.rng.between(2, PAYMENT_TERMS_DAYS as i64) as u64
                ))
                .unwrap_or(due);
            let method = ["card", "bank_transfer", "card", "cash"][self.rng.below(4) as usize];
            self.planned.push(Planned {
                on: pay_on,
                amount: total,
                method,
            });
        }
    }

    fn disputes_today(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        let mut k = 0;
        while k < self.disputes.len() {
            let d = self.disputes[k].clone();
            if d.next_on > date {
                k += 1;
                continue;
            }
            match d.stage {
                DisputeStage::Planned => {
                    let Some(inv) = self
                        .invoices
                        .iter_mut()
                        .find(|i| i.id == d.invoice && i.remaining > 0)
                    else {
                        // Paid before the customer got round to disputing it.
                        self.disputes.remove(k);
                        continue;
                    };
                    inv.disputed = true;
                    let amount = d.amount.min(inv.remaining);
                    let id = self.next_id();
                    let reason = [
                        "billing_error",
                        "service_quality",
                        "not_recognised",
                        "other",
                    ][self.rng.weighted(&[0.45, 0.3, 0.15, 0.1])];
                    let next_on = date
                        .checked_add_days(Days::new(self.rng.between(10, 45) as u64))
                        .unwrap_or(date);
                    let upheld = self.rng.chance(0.4);
                    self.disputes[k] = DisputeCase {
                        amount,
                        next_on,
                        stage: DisputeStage::Open { id, upheld },
                        ..d
                    };
                    // A disputed bill is not paid as planned.
                    self.planned.retain(|p| p.on < date);
                    out.push(Event::DisputeOpened {
                        dispute_id: id,
                        invoice_id: d.invoice,
                        amount,
                        on: date,
                        reason,
                    });
                    k += 1;
                }
                DisputeStage::Open { id, upheld } => {
                    self.disputes.remove(k);
                    if let Some(inv) = self.invoices.iter_mut().find(|i| i.id == d.invoice) {
                        inv.disputed = false;
                        if upheld {
                            inv.remaining -= d.amount.min(inv.remaining);
                        }
                    }
                    self.invoices.retain(|i| i.remaining > 0);
                    if !upheld {
                        // Rejected: the customer knows the bill stands.
                        self.boost += 0.3;
                    }
                    out.push(Event::DisputeResolved {
                        dispute_id: id,
                        upheld,
                        on: date,
                    });
                }
            }
        }
    }

    fn reversals_today(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        while let Some(pos) = self.reversals.iter().position(|r| r.0 <= date) {
            let (_, payment_id, amount) = self.reversals.remove(pos);
            // The money goes back onto the oldest open bill (or a re-opened one).
            if let Some(inv) = self.invoices.iter_mut().min_by_key(|i| i.due) {
                inv.remaining += amount;
            } else {
                let due = date.pred_opt().unwrap_or(date);
                self.invoices.push(OpenInvoice {
                    id: self.profile.id.get() * 1_000 + self.invoice_seq,
                    due,
                    remaining: amount,
                    disputed: false,
                });
            }
            self.forgot = true;
            out.push(Event::PaymentReversed {
                payment_id,
                on: date,
            });
        }
    }

    fn react(&mut self, date: NaiveDate, action: &Action, out: &mut Vec<Event>) {
        let in_hardship = self.in_hardship(date);
        match *action {
            Action::Contact { action, at } => {
                let view = self.view(date);
                let local = self.profile.zone.local(at);
                let last7 = self
                    .recent
                    .iter()
                    .filter(|c| (at - c.at).num_days() < 7)
                    .count();
                let t = &self.traits;
                let delivered = self.rng.chance(law::p_delivered(action.channel));
                let responded = delivered
                    && self
                        .rng
                        .chance(law::p_respond_if_delivered(t, action.channel, local));
                let conversation = responded && action.channel.is_call();
                let complaint = delivered
                    && self.rng.chance(law::p_complaint(
                        t,
                        in_hardship,
                        action.channel,
                        action.tone,
                        local,
                        last7,
                    ));
                let mut opted_out =
                    delivered && self.rng.chance(law::p_opt_out(action.channel, last7));
                if complaint {
                    self.complaints += 1;
                    opted_out |= action.channel.is_digital() && self.rng.chance(0.5);
                }
                if opted_out {
                    self.opted_out = self.opted_out.with(action.channel);
                }
                let mut promise_made = false;
                if responded {
                    self.boost += law::contact_boost(t, in_hardship, action.channel, action.tone);
                    if self.forgot && self.traits.reason != LatenessReason::WontPay {
                        // Reminded: the bill is no longer forgotten.
                        self.forgot = !self.rng.chance(law::P_REMEMBER_WHEN_REMINDED);
                    }
                    let p_declare = law::p_declare_hardship(action.channel, action.tone);
                    let p_declare = if self.self_service {
                        p_declare.max(0.25)
                    } else {
                        p_declare
                    };
                    if in_hardship && !view.hardship_declared && self.rng.chance(p_declare) {
                        self.declared_until = date.checked_add_days(Days::new(60));
                        out.push(Event::HardshipDeclared {
                            on: date,
                            reason: self.hardship_reason(),
                        });
                        if self.self_service && view.overdue > 0 {
                            // Asks for a plan that fits: three monthly parts.
                            self.agree_plan(date, view.overdue, 3, true, out);
                        }
                    }
                    if view.overdue > 0
                        && self.promises.is_empty()
                        && self.rng.chance(law::p_promise(
                            &self.traits,
                            in_hardship,
                            action.channel,
                            action.tone,
                        ))
                    {
                        promise_made = true;
                        self.make_promise(
                            date,
                            view.oldest_invoice,
                            view.overdue,
                            action.channel,
                            in_hardship,
                            out,
                        );
                    }
                }
                self.recent.push(PastContact {
                    conversation,
                    responded,
                    ..PastContact::sent(at, action.channel, Some(action.tone))
                });
                out.push(Event::Contacted(ContactOutcome {
                    action,
                    at,
                    invoice_id: view.oldest_invoice,
                    days_past_due: view.days_past_due,
                    balance: view.balance,
                    delivered,
                    responded,
                    conversation,
                    promise_made,
                    complaint,
                    opted_out,
                }));
            }
            Action::Bar => self.barred = true,
            Action::Unbar => self.barred = false,
            Action::OfferPlan { instalments } => {
                let view = self.view(date);
                let p = if in_hardship {
                    0.6
                } else if self.traits.reason == LatenessReason::CashFlow {
                    0.4
                } else {
                    0.15
                };
                if view.overdue > 0 && instalments > 0 && self.rng.chance(p) {
                    self.agree_plan(date, view.overdue, instalments, in_hardship, out);
                }
            }
        }
    }

    fn make_promise(
        &mut self,
        date: NaiveDate,
        invoice: Option<i64>,
        overdue: i64,
        channel: Channel,
        in_hardship: bool,
        out: &mut Vec<Event>,
    ) {
        let mut due = date
            .checked_add_days(Days::new(self.rng.between(2, 10) as u64))
            .unwrap_or(date);
        for d in 2..=14u64 {
            if let Some(day) = date.checked_add_days(Days::new(d))
                && law::is_payday(&self.traits, day)
            {
                due = day;
                break;
            }
        }
        let amount = if in_hardship {
            ((overdue as f64) * law::hardship_pay_share(&self.traits))
                .round()
                .max(1.0) as i64
        } else {
            overdue
        };
        let id = self.next_id();
        if self.rng.chance(law::p_keep(&self.traits, in_hardship)) {
            let on = due
                .checked_sub_days(Days::new(self.rng.below(2)))
                .unwrap_or(due)
                .max(date);
            self.planned.push(Planned {
                on,
                amount,
                method: "card",
            });
        }
        self.promises.push(OpenPromise {
            id,
            due,
            amount,
            paid: 0,
        });
        out.push(Event::PromiseMade {
            promise_id: id,
            invoice_id: invoice,
            amount,
            made_on: date,
            due_on: due,
            channel,
        });
    }

    fn pay_today(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        let balance: i64 = self
            .invoices
            .iter()
            .filter(|i| !i.disputed)
            .map(|i| i.remaining)
            .sum();
        if balance <= 0 {
            self.planned.retain(|p| p.on > date);
            return;
        }
        let mut amount = 0;
        let mut method = "card";
        let mut k = 0;
        while k < self.planned.len() {
            if self.planned[k].on <= date {
                let p = self.planned.swap_remove(k);
                amount += p.amount;
                method = p.method;
            } else {
                k += 1;
            }
        }
        let overdue: i64 = self
            .invoices
            .iter()
            .filter(|i| !i.disputed && i.due < date)
            .map(|i| i.remaining)
            .sum();
        if amount == 0 && overdue > 0 {
            let state = self.hazard_state(date);
            let h = law::hazard(law::base_hazard(&self.traits, state, date), self.boost);
            if self.rng.chance(h) {
                let share = if state.in_hardship {
                    law::hardship_pay_share(&self.traits)
                } else if self.rng.chance(law::P_PAY_IN_FULL) {
                    1.0
                } else {
                    self.rng.uniform(law::PARTIAL_SHARE.0, law::PARTIAL_SHARE.1)
                };
                amount = ((overdue as f64) * share).round().max(1.0) as i64;
                method = ["card", "bank_transfer", "cash"][self.rng.below(3) as usize];
                self.forgot = false;
            }
        }
        if amount <= 0 {
            return;
        }
        let amount = amount.min(balance);
        let at = self.local_instant(date, 7, 23);
        let id = self.next_id();
        // Allocate to the oldest open, undisputed bills first.
        let mut left = amount;
        let mut first_invoice = None;
        self.invoices.sort_by_key(|i| (i.due, i.id));
        for inv in self.invoices.iter_mut().filter(|i| !i.disputed) {
            if left == 0 {
                break;
            }
            let take = left.min(inv.remaining);
            if take > 0 {
                first_invoice.get_or_insert(inv.id);
                if inv.due < date {
                    self.late_invoices += u32::from(take == inv.remaining);
                }
                inv.remaining -= take;
                left -= take;
            }
        }
        self.invoices.retain(|i| i.remaining > 0);
        for p in &mut self.promises {
            p.paid += amount;
        }
        if method == "direct_debit" && self.rng.chance(0.015) {
            let on = date.checked_add_days(Days::new(3)).unwrap_or(date);
            self.reversals.push((on, id, amount));
        }
        out.push(Event::PaymentReceived {
            payment_id: id,
            invoice_id: first_invoice,
            at,
            amount,
            method,
        });
    }

    fn settle_promises(&mut self, date: NaiveDate, out: &mut Vec<Event>) {
        let mut k = 0;
        while k < self.promises.len() {
            let p = &self.promises[k];
            let balance_cleared = self.invoices.is_empty();
            if p.paid >= p.amount
                || balance_cleared
                || (date - p.due).num_days() >= law::PROMISE_GRACE_DAYS
            {
                let p = self.promises.swap_remove(k);
                out.push(Event::PromiseSettled {
                    promise_id: p.id,
                    kept: p.paid >= p.amount || balance_cleared,
                    paid: p.paid,
                });
            } else {
                k += 1;
            }
        }
    }
}
