//! Case work inside a decision: admitting or refusing requests (promises, plans, grants,
//! statutory holds) against the policy, assigning disputes and issuing credit notes, following
//! promises and plans to kept, broken, breached or completed, and the contacts and work items
//! these call for (a promise reminder, a rejected dispute's notice, a hardship review).
//!
//! [`admission`] is the one place a request is judged; the HTTP API calls it to answer 422
//! before storing, and the engine calls it again when it sees the request, so a request that
//! arrived any other way is judged by the same rules.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::{Money, PromiseId, Tone};
use serde_json::json;

use super::Work;
use crate::action::{ActionKind, Measure};
use crate::effect::Target;
use crate::event::{EventBody, EventId, Grant, HoldKind};
use crate::gate::Holds;
use crate::scenario::{ChannelChoice, Conditions, ScenarioSet, Step, Trigger};
use crate::state::{AccountState, Ledger, RequestRef, Standing};

/// Template variables a case contact sets.
type Vars = Vec<(&'static str, String)>;

/// A request found within policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// What is admitted, in words.
    pub detail: String,
    /// A hold's last day.
    pub until: Option<NaiveDate>,
}

/// Whether the request `request` (an event already applied to `state`) is within the policy
/// of `set`, judged on the customer's local date when it was made: what is admitted, or the
/// limit it breaks.
pub fn admission(
    state: &AccountState,
    set: &ScenarioSet,
    request: &EventId,
) -> Result<Admitted, String> {
    let Some(profile) = &state.profile else {
        return Err("the account is not known yet (no account_opened event)".into());
    };
    let money = |m: i64| Money::new(m, profile.currency).to_string();
    let policy = &set.cases;
    let limits = policy.limits(&profile.segment);
    let made = match state.requests.get(request) {
        Some(RequestRef::Promise(id)) => state.promises[id].made_at,
        Some(RequestRef::Plan(id)) => state.plans[id].agreed_at,
        Some(RequestRef::Grant(i)) => state.grants[*i].at,
        Some(RequestRef::Hold(i)) => state.holds[*i].at,
        None => return Err(format!("no request {request} on the account")),
    };
    let today = state.local_date(made);
    let ledger = state.ledger_as_of(today, Some(made));
    let (_, overdue) = ledger.exposure(today, 1);
    let admitted = |detail: String| {
        Ok(Admitted {
            detail,
            until: None,
        })
    };
    match state.requests.get(request) {
        None => Err(format!("no request {request} on the account")),
        Some(RequestRef::Promise(id)) => {
            let p = &state.promises[id];
            let latest = today + Duration::days(i64::from(limits.promise_max_days));
            if p.due_on < today {
                return Err(format!(
                    "the promised date {} is in the past (today is {today})",
                    p.due_on
                ));
            }
            if p.due_on > latest {
                return Err(format!(
                    "the promised date {} is more than {} days ahead (latest {latest}; limits {})",
                    p.due_on, limits.promise_max_days, limits.name
                ));
            }
            let min = share(overdue, limits.promise_min_share_pct);
            if p.amount_minor < min {
                return Err(format!(
                    "{} is less than {}% of the overdue {}: at least {} (limits {})",
                    money(p.amount_minor),
                    limits.promise_min_share_pct,
                    money(overdue),
                    money(min),
                    limits.name
                ));
            }
            // Promises admitted, or waiting to be judged and made before this one, count.
            let counts = |o: &crate::state::Promise| {
                o.standing == Standing::Admitted
                    || (o.standing == Standing::Pending
                        && (o.made_at, &o.request) < (p.made_at, &p.request))
            };
            if let Some((other, o)) = state
                .promises
                .iter()
                .find(|(k, o)| *k != id && counts(o) && o.outcome.is_none())
            {
                return Err(format!(
                    "promise {other} for {} by {} is still open",
                    money(o.amount_minor),
                    o.due_on
                ));
            }
            admitted(format!(
                "promise {id}: {} by {}; escalation paused until then (limits {})",
                money(p.amount_minor),
                p.due_on,
                limits.name
            ))
        }
        Some(RequestRef::Plan(name)) => {
            let p = &state.plans[name];
            let n = p.instalments.len();
            if n > limits.plan_max_instalments as usize {
                return Err(format!(
                    "{n} instalments, more than the {} allowed (limits {})",
                    limits.plan_max_instalments, limits.name
                ));
            }
            let (Some(first), Some(last)) = (p.instalments.first(), p.instalments.last()) else {
                return Err("a plan needs at least one instalment".into());
            };
            if first.due_on < today {
                return Err(format!(
                    "the first instalment's date {} is in the past (today is {today})",
                    first.due_on
                ));
            }
            let first_latest = today + Duration::days(i64::from(limits.promise_max_days));
            if first.due_on > first_latest {
                return Err(format!(
                    "the down payment is due {}, later than {first_latest} ({} days; limits {})",
                    first.due_on, limits.promise_max_days, limits.name
                ));
            }
            let last_latest = today + Duration::days(i64::from(limits.plan_max_days));
            if last.due_on > last_latest {
                return Err(format!(
                    "the last instalment is due {}, later than {last_latest} ({} days; limits {})",
                    last.due_on, limits.plan_max_days, limits.name
                ));
            }
            if let Some(min) = limits.plan_min_instalment.get(&profile.currency)
                && let Some((i, x)) = p.instalments[..n - 1]
                    .iter()
                    .enumerate()
                    .find(|(_, x)| x.amount_minor < *min)
            {
                return Err(format!(
                    "instalment {} of {} is under the minimum {} (limits {})",
                    i + 1,
                    money(x.amount_minor),
                    money(*min),
                    limits.name
                ));
            }
            let total = p.total_minor();
            let down = share(total, limits.plan_down_payment_pct);
            if first.amount_minor < down {
                return Err(format!(
                    "the down payment {} is under {}% of the plan's {}: at least {} (limits {})",
                    money(first.amount_minor),
                    limits.plan_down_payment_pct,
                    money(total),
                    money(down),
                    limits.name
                ));
            }
            if total < overdue {
                return Err(format!(
                    "the plan's {} does not cover the overdue {}",
                    money(total),
                    money(overdue)
                ));
            }
            let earlier_pending = |o: &crate::state::Plan| {
                o.standing == Standing::Pending
                    && (o.agreed_at, &o.request) < (p.agreed_at, &p.request)
            };
            if let Some((other, _)) = state
                .plans
                .iter()
                .find(|(k, o)| *k != name && (o.in_good_standing() || earlier_pending(o)))
            {
                return Err(format!("plan {other} is in good standing"));
            }
            let since = state.open_case().map(|c| c.opened_at);
            let earlier = state
                .plans
                .iter()
                .filter(|(k, o)| {
                    *k != name
                        && o.standing == Standing::Admitted
                        && since.is_some_and(|s| o.agreed_at >= s)
                })
                .count();
            if earlier > limits.plan_max_replans as usize {
                return Err(format!(
                    "{earlier} plans already in this case: at most {} re-plan(s) (limits {})",
                    limits.plan_max_replans, limits.name
                ));
            }
            admitted(format!(
                "plan {name}: {} in {n} instalments to {}; dunning paused while it is kept (limits {})",
                money(total),
                last.due_on,
                limits.name
            ))
        }
        Some(RequestRef::Grant(i)) => {
            let g = &state.grants[*i];
            let Some(lim) = policy.grant(&g.role, &profile.segment) else {
                return Err(format!(
                    "role {:?} may grant nothing on this account's segment",
                    g.role
                ));
            };
            match &g.grant {
                Grant::MoveDueDate { invoice, to } => {
                    let Some(inv) = state.invoices.get(invoice) else {
                        return Err(format!("no invoice {invoice} on the account"));
                    };
                    let current = state.due_on(*invoice, inv.due_on);
                    if *to <= current {
                        return Err(format!(
                            "the new due date {to} is not after the current {current}"
                        ));
                    }
                    let moved = (*to - inv.due_on).num_days();
                    if moved > i64::from(lim.move_due_date_days) {
                        return Err(format!(
                            "moves the due date {moved} days; role {} may move it {} days",
                            g.role, lim.move_due_date_days
                        ));
                    }
                    admitted(format!(
                        "due date of invoice {invoice} moved to {to} by {} ({})",
                        g.by, g.role
                    ))
                }
                Grant::WaiveFee { case, step } => {
                    let fee = state
                        .cases
                        .iter()
                        .find(|c| c.number == *case)
                        .and_then(|c| {
                            c.measures.iter().find_map(|m| match m {
                                Measure::Fee {
                                    step: s,
                                    amount_minor,
                                } if s == step => Some(*amount_minor),
                                _ => None,
                            })
                        });
                    let Some(fee) = fee else {
                        return Err(format!("no fee of step {step} in force in case {case}"));
                    };
                    let max = lim.waive_fee.get(&profile.currency).copied().unwrap_or(0);
                    if fee > max {
                        return Err(format!(
                            "the fee {} is over what role {} may waive ({})",
                            money(fee),
                            g.role,
                            money(max)
                        ));
                    }
                    admitted(format!(
                        "fee of step {step} ({}) waived by {} ({})",
                        money(fee),
                        g.by,
                        g.role
                    ))
                }
                Grant::GoodwillCredit { amount_minor } => {
                    let max = lim
                        .goodwill_credit
                        .get(&profile.currency)
                        .copied()
                        .unwrap_or(0);
                    if *amount_minor > max {
                        return Err(format!(
                            "a goodwill credit of {} is over what role {} may grant ({})",
                            money(*amount_minor),
                            g.role,
                            money(max)
                        ));
                    }
                    admitted(format!(
                        "goodwill credit of {} by {} ({})",
                        money(*amount_minor),
                        g.by,
                        g.role
                    ))
                }
            }
        }
        Some(RequestRef::Hold(i)) => {
            let h = &state.holds[*i];
            let start = state.local_date(h.at);
            let until = match h.kind {
                HoldKind::BreathingSpace => {
                    let every = i64::from(policy.holds.breathing_space_every_days);
                    if let Some(prev) = state.holds.iter().enumerate().find(|(j, o)| {
                        *j != *i
                            && o.kind == HoldKind::BreathingSpace
                            && (o.standing == Standing::Admitted
                                || (o.standing == Standing::Pending && *j < *i))
                            && (start - state.local_date(o.at)).num_days().abs() < every
                    }) {
                        return Err(format!(
                            "a breathing space started on {}: at most one every {every} days",
                            state.local_date(prev.1.at)
                        ));
                    }
                    start
                        .checked_add_days(chrono::Days::new(
                            u64::from(policy.holds.breathing_space_days).saturating_sub(1),
                        ))
                        .ok_or_else(|| format!("{start} is out of range"))?
                }
                HoldKind::Other => h.declared_until.filter(|t| *t >= start).ok_or_else(|| {
                    "a hold of another kind names its last day (until)".to_string()
                })?,
                HoldKind::Crisis => {
                    let Some(t) = h.declared_until else {
                        return Err(
                            "a crisis hold names the last day of the treatment (until)".into()
                        );
                    };
                    if t < start {
                        return Err(format!("the treatment's last day {t} is before {start}"));
                    }
                    t.checked_add_days(chrono::Days::new(u64::from(policy.holds.crisis_extra_days)))
                        .ok_or_else(|| format!("the treatment's last day {t} is out of range"))?
                }
            };
            Ok(Admitted {
                detail: format!(
                    "{} from {start} to {until}: no contact asking for payment, fees frozen",
                    h.kind.as_str().replace('_', " ")
                ),
                until: Some(until),
            })
        }
    }
}

/// `pct` percent of `amount`, rounded up.
fn share(amount: i64, pct: u32) -> i64 {
    let x = i128::from(amount.max(0)) * i128::from(pct);
    i64::try_from((x + 99) / 100).unwrap_or(i64::MAX)
}

/// A promise's window and what was paid in it.
pub(super) struct PromiseWatch {
    pub(super) id: PromiseId,
    /// The last day before it counts as broken.
    pub(super) deadline: NaiveDate,
    /// The instant it counts as broken.
    pub(super) end: DateTime<Utc>,
    /// Paid since it was made and before `end`.
    pub(super) paid: i64,
    /// Promised.
    pub(super) amount: i64,
}

impl Work<'_> {
    /// Payments in the account's currency between `from` and `to`, not reversed before `to`.
    pub(super) fn paid_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let currency = self.s.profile.as_ref().map(|p| p.currency);
        self.s
            .payments
            .values()
            .filter(|x| {
                Some(x.currency) == currency
                    && x.at >= from
                    && x.at < to
                    && x.reversed_at.is_none_or(|r| r >= to)
            })
            .map(|x| x.amount_minor)
            .sum()
    }

    /// Admitted promises still running, with their windows.
    pub(super) fn watched_promises(&self) -> Vec<PromiseWatch> {
        let grace = Duration::days(i64::from(self.set().settings.promise_grace_days));
        self.s
            .promises
            .iter()
            .filter(|(_, p)| p.standing == Standing::Admitted)
            .map(|(id, p)| {
                let deadline = p.due_on + grace;
                let end = self.midnight(deadline + Duration::days(1));
                PromiseWatch {
                    id: *id,
                    deadline,
                    end,
                    paid: self.paid_between(p.made_at, end),
                    amount: p.amount_minor,
                }
            })
            .collect()
    }

    /// How long escalation has waited since `from` (the case's opening): the union of the
    /// statutory holds, open promises and plans in good standing admitted since. Steps
    /// triggered by days past due move by it, so escalation resumes where it stopped instead
    /// of catching up at once.
    pub(super) fn suspended_since(&self, from: DateTime<Utc>) -> Duration {
        let grace = Duration::days(i64::from(self.set().settings.promise_grace_days));
        let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for h in &self.s.holds {
            if let (Standing::Admitted, Some(u)) = (h.standing, h.until) {
                let start = self.midnight(self.s.local_date(h.at));
                spans.push((
                    start.max(h.at.min(start)),
                    self.midnight(u + Duration::days(1)),
                ));
            }
        }
        for p in self.s.promises.values() {
            if p.standing == Standing::Admitted {
                let end = self.midnight(p.due_on + grace + Duration::days(1));
                spans.push((p.made_at, p.settled_at.unwrap_or(end).min(end)));
            }
        }
        for p in self.s.plans.values() {
            if p.standing == Standing::Admitted {
                spans.push((p.agreed_at, p.ended_at.unwrap_or(self.now)));
            }
        }
        let mut total = Duration::zero();
        let mut reach = from;
        spans.sort();
        for (a, b) in spans {
            let (a, b) = (a.max(reach), b.min(self.now));
            if b > a {
                total += b - a;
                reach = b;
            }
        }
        total
    }

    /// The plan in good standing, if any.
    pub(super) fn plan_in_force(&self) -> Option<String> {
        self.s
            .plans
            .iter()
            .find(|(_, p)| p.in_good_standing())
            .map(|(k, _)| k.clone())
    }

    /// Case work before dunning: requests judged, disputes assigned and credited, promises and
    /// plans followed.
    pub(super) fn case_work(&mut self) {
        // Promises and plans are settled first: a request is judged with them up to date.
        self.follow_promises();
        self.follow_plans();
        self.admit_requests();
        self.disputes();
        self.hardship_review();
        self.close_legal();
    }

    /// A referral kept on a cured case (the policy does not withdraw legal on cure) ends when
    /// its lawyer closes it (open cases do this in `revise`).
    fn close_legal(&mut self) {
        let stages = &self.s.legal_stages;
        let mut done: Vec<(u32, Measure)> = Vec::new();
        for c in self.s.cases.iter().filter(|c| !c.is_open()) {
            for m in &c.measures {
                if let Measure::Legal { lawyer } = m
                    && stages.iter().any(|(at, l, st, _)| {
                        *at >= c.opened_at
                            && *st == crate::event::LegalStage::Closed
                            && lawyer.as_ref().is_none_or(|x| x == l)
                    })
                {
                    done.push((c.number, m.clone()));
                }
            }
        }
        for (case, m) in done {
            let why = "the legal case was closed".to_string();
            self.undo(case, m, &why, &why);
        }
    }

    fn admit_requests(&mut self) {
        let mut pending: Vec<(DateTime<Utc>, EventId)> = Vec::new();
        for p in self.s.promises.values() {
            if p.standing == Standing::Pending {
                pending.push((p.made_at, p.request.clone()));
            }
        }
        for p in self.s.plans.values() {
            if p.standing == Standing::Pending {
                pending.push((p.agreed_at, p.request.clone()));
            }
        }
        for g in &self.s.grants {
            if g.standing == Standing::Pending {
                pending.push((g.at, g.request.clone()));
            }
        }
        for h in &self.s.holds {
            if h.standing == Standing::Pending {
                pending.push((h.at, h.request.clone()));
            }
        }
        pending.sort();
        for (_, request) in pending {
            match admission(&self.s, self.cx.scenarios, &request) {
                Err(reason) => self.emit(EventBody::RequestRefused { request, reason }),
                Ok(a) => self.admit(request, a),
            }
        }
    }

    fn admit(&mut self, request: EventId, a: Admitted) {
        let Some(kind) = self.s.requests.get(&request).cloned() else {
            return;
        };
        let limits = self
            .s
            .profile
            .as_ref()
            .map(|p| self.set().cases.limits(&p.segment).clone())
            .unwrap_or_default();
        let mut effect = None;
        if let RequestRef::Grant(i) = &kind {
            let g = self.s.grants[*i].clone();
            let payload = match &g.grant {
                Grant::MoveDueDate { invoice, to } => {
                    Some(json!({"invoice": invoice.get(), "due_on": to}))
                }
                Grant::GoodwillCredit { amount_minor } => Some(json!({
                    "amount_minor": amount_minor,
                    "currency": self.s.profile.as_ref().map(|p| p.currency.as_str()),
                })),
                Grant::WaiveFee { .. } => None,
            };
            if let Some(mut payload) = payload {
                let key = self.next_id();
                payload["account"] = json!(self.s.account.get());
                payload["action"] = json!(g.grant.kind());
                payload["by"] = json!(g.by);
                payload["role"] = json!(g.role);
                payload["reason"] = json!(g.reason);
                self.effect(&key, Target::Billing, g.grant.kind(), self.now, payload);
                effect = Some(key);
            }
        }
        self.emit(EventBody::RequestAdmitted {
            request,
            detail: a.detail.clone(),
            until: a.until,
            effect,
        });
        let case = self.s.open_case().map(|c| c.number);
        match kind {
            RequestRef::Grant(i) => {
                let g = self.s.grants[i].clone();
                if let Grant::WaiveFee { case, step } = &g.grant {
                    let fee = self
                        .s
                        .cases
                        .iter()
                        .find(|c| c.number == *case)
                        .and_then(|c| {
                            c.measures
                                .iter()
                                .find(|m| matches!(m, Measure::Fee { step: s, .. } if s == step))
                                .cloned()
                        });
                    if let Some(m) = fee {
                        let why = format!("waived by {} ({}): {}", g.by, g.role, g.reason);
                        self.undo(*case, m, &why, &why);
                    }
                }
            }
            RequestRef::Plan(name) if limits.restore_service_on_plan => {
                if let Some(case) = case {
                    self.restore_service(case, &format!("payment plan {name} started"));
                }
            }
            RequestRef::Promise(id) if limits.restore_service_on_promise => {
                if let Some(case) = case {
                    self.restore_service(case, &format!("promise {id} accepted"));
                }
            }
            _ => {}
        }
    }

    /// Lifts every barring of the open case (reversal is not only for cash).
    fn restore_service(&mut self, case: u32, why: &str) {
        let bars: Vec<Measure> = self
            .s
            .open_case()
            .map(|c| {
                c.measures
                    .iter()
                    .filter(|m| matches!(m, Measure::Barring { .. }))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for m in bars {
            self.undo(case, m, why, &format!("service restored: {why}"));
        }
    }

    fn disputes(&mut self) {
        let policy = self.set().cases.disputes.clone();
        let ids: Vec<_> = self.s.disputes.keys().copied().collect();
        for id in ids {
            let d = self.s.disputes[&id].clone();
            if d.assigned.is_none() && d.resolved.is_none() {
                let due_on =
                    self.s.local_date(d.opened_at) + Duration::days(i64::from(policy.due_days));
                let key = self.next_id();
                let local = self
                    .s
                    .profile
                    .as_ref()
                    .map(|p| p.time_zone.local(self.now).to_string());
                self.effect(
                    &key,
                    Target::Queue,
                    "dispute",
                    self.now,
                    json!({
                        "account": self.s.account.get(),
                        "team": policy.team,
                        "due_at_utc": self.now,
                        "due_at_local": local,
                        "tone": Tone::Neutral.as_str(),
                        "talking_points": [format!("resolve by {due_on}: uphold (credit note) or reject (dunning resumes with a notice)")],
                        "dispute": id.get(),
                        "invoice": d.invoice.get(),
                        "amount_minor": d.amount_minor,
                        "opened_by": d.by,
                        "due_on": due_on,
                    }),
                );
                self.emit(EventBody::DisputeAssigned {
                    dispute: id,
                    team: policy.team.clone(),
                    due_on,
                    effect: Some(key),
                });
            }
            // Credit notes never exceed the invoice: what other upheld disputes of it credited
            // already is left out.
            let credit = self.s.invoices.get(&d.invoice).map(|inv| {
                let credited: i64 = self
                    .s
                    .disputes
                    .iter()
                    .filter(|(k, o)| **k != id && o.invoice == d.invoice)
                    .filter_map(|(_, o)| o.credited_minor)
                    .sum();
                d.amount_minor.min(inv.amount_minor - credited).max(0)
            });
            if let (Some((true, _)), None, Some(credit)) = (d.resolved, d.credited_minor, credit) {
                let key = self.next_id();
                self.effect(
                    &key,
                    Target::Billing,
                    "credit_note",
                    self.now,
                    json!({
                        "account": self.s.account.get(),
                        "action": "credit_note",
                        "dispute": id.get(),
                        "invoice": d.invoice.get(),
                        "amount_minor": credit,
                        "currency": self.s.profile.as_ref().map(|p| p.currency.as_str()),
                    }),
                );
                self.emit(EventBody::CreditNoteIssued {
                    dispute: id,
                    amount_minor: credit,
                    effect: Some(key),
                });
            }
        }
    }

    fn follow_promises(&mut self) {
        for w in self.watched_promises() {
            if self.s.promises[&w.id].outcome.is_some() {
                continue;
            }
            if w.paid >= w.amount {
                self.emit(EventBody::PromiseKept { promise: w.id });
            } else if self.now >= w.end {
                self.emit(EventBody::PromiseBroken {
                    promise: w.id,
                    paid_minor: w.paid,
                });
            }
        }
    }

    /// Each instalment's deadline (its date plus grace), the amount owed by then and paid by
    /// then, for the plan in good standing.
    pub(super) fn plan_schedule(&self, name: &str) -> Vec<(NaiveDate, DateTime<Utc>, i64, i64)> {
        let Some(plan) = self.s.plans.get(name) else {
            return Vec::new();
        };
        let grace = self
            .s
            .profile
            .as_ref()
            .map_or(0, |p| self.set().cases.limits(&p.segment).plan_grace_days);
        let mut owed = 0;
        plan.instalments
            .iter()
            .map(|i| {
                owed += i.amount_minor;
                let end = self.midnight(i.due_on + Duration::days(i64::from(grace) + 1));
                (i.due_on, end, owed, self.paid_between(plan.agreed_at, end))
            })
            .collect()
    }

    fn follow_plans(&mut self) {
        let Some(name) = self.plan_in_force() else {
            return;
        };
        let total = self.s.plans[&name].total_minor();
        let agreed = self.s.plans[&name].agreed_at;
        if self.paid_between(agreed, self.now + Duration::microseconds(1)) >= total {
            self.emit(EventBody::PlanCompleted { plan: name });
            return;
        }
        if let Some((due_on, _, owed, paid)) = self
            .plan_schedule(&name)
            .into_iter()
            .find(|(_, end, owed, paid)| *end <= self.now && paid < owed)
        {
            self.emit(EventBody::PlanBreached {
                plan: name,
                due_on,
                owed_minor: owed,
                paid_minor: paid,
            });
        }
    }

    /// What an agent should know and offer: why the customer is late and what the policy
    /// allows — shown with every work-queue item.
    pub(super) fn talking_points(&self, ledger: &Ledger) -> Vec<String> {
        let mut out = Vec::new();
        let (_, overdue) = ledger.exposure(self.today, 1);
        let dpd = ledger.dpd(self.today).unwrap_or(0);
        out.push(format!(
            "{dpd} days past due: {} overdue, balance {}",
            self.money(overdue),
            self.money(ledger.balance)
        ));
        let since = self.s.open_case().map(|c| c.opened_at);
        let last = self
            .s
            .payments
            .values()
            .filter(|p| p.reversed_at.is_none())
            .max_by_key(|p| p.at);
        match last {
            Some(p) => out.push(format!(
                "last payment {} on {}{}",
                self.money(p.amount_minor),
                self.s.local_date(p.at),
                if since.is_some_and(|s| p.at >= s) {
                    " (during this case)"
                } else {
                    ""
                }
            )),
            None => out.push("no payment on record".into()),
        }
        let bounced = self
            .s
            .payments
            .values()
            .filter(|p| p.reversed_at.is_some())
            .count();
        if bounced > 0 {
            out.push(format!("{bounced} payment(s) bounced"));
        }
        let broken = self.s.broken_promises();
        if broken > 0 {
            out.push(format!("{broken} broken promise(s)"));
        }
        for (id, d) in &self.s.disputes {
            if d.resolved.is_none() {
                out.push(format!(
                    "dispute {id} open on invoice {} for {}",
                    d.invoice,
                    self.money(d.amount_minor)
                ));
            }
        }
        if let Some(h) = &self.s.hardship {
            out.push(format!(
                "hardship declared ({}): empathetic tone, no service cut, offer a reduced plan",
                h.reason
            ));
        }
        if let Some(c) = self.s.open_case() {
            for m in &c.measures {
                if let Measure::Barring { service, level } = m {
                    out.push(format!("service {service}: {} in force", level.as_str()));
                }
            }
        }
        if let Some(p) = &self.s.profile {
            let l = self.set().cases.limits(&p.segment);
            out.push(format!(
                "offer: a promise within {} days of at least {}% ({})",
                l.promise_max_days,
                l.promise_min_share_pct,
                self.money(share(overdue, l.promise_min_share_pct))
            ));
            out.push(format!(
                "offer: a plan of up to {} instalments over {} days, {}% down{}",
                l.plan_max_instalments,
                l.plan_max_days,
                l.plan_down_payment_pct,
                if l.restore_service_on_plan {
                    "; service is restored when it starts"
                } else {
                    ""
                }
            ));
        }
        out
    }

    /// When the hardship in force is to be reviewed (09:00 local on the review date).
    pub(super) fn hardship_review_at(&self) -> Option<(String, DateTime<Utc>)> {
        let h = self.s.hardship.as_ref()?;
        let policy = &self.set().cases.hardship;
        let on = h
            .review_on
            .unwrap_or(self.s.local_date(h.since) + Duration::days(i64::from(policy.review_days)));
        let at = match &self.s.profile {
            Some(p) => p.time_zone.at(
                on,
                NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            ),
            None => self.midnight(on),
        };
        let item = format!("hardship-review:{}:{on}", h.since.timestamp_micros());
        Some((item, at))
    }

    fn hardship_review(&mut self) {
        let Some((item, at)) = self.hardship_review_at() else {
            return;
        };
        if at > self.now || self.s.work.contains_key(&item) {
            return;
        }
        let Some(h) = self.s.hardship.clone() else {
            return;
        };
        let team = self.set().cases.hardship.team.clone();
        let local = self
            .s
            .profile
            .as_ref()
            .map(|p| p.time_zone.local(at).to_string());
        let ledger = self.s.ledger(self.today);
        let detail = format!(
            "review hardship ({}) declared {}: balance {}, end forbearance or extend it",
            h.reason,
            self.s.local_date(h.since),
            self.money(ledger.balance)
        );
        let key = self.next_id();
        let mut points = vec![detail.clone()];
        points.extend(self.talking_points(&ledger));
        self.effect(
            &key,
            Target::Queue,
            "hardship_review",
            at,
            json!({
                "account": self.s.account.get(),
                "team": team,
                "due_at_utc": at,
                "due_at_local": local,
                "tone": Tone::Empathetic.as_str(),
                "talking_points": points,
            }),
        );
        self.emit(EventBody::WorkQueued {
            item,
            team,
            due_at: at,
            detail,
            effect: Some(key),
        });
    }

    /// Contacts the case calls for, in an open case after its steps: the promise reminder and
    /// the notice of a rejected dispute. Each is a step of the case (keyed once), through the
    /// same gate as the scenario's steps.
    pub(super) fn case_contacts(&mut self, ledger: &Ledger, holds: &Holds) {
        let Some(case) = self.s.open_case() else {
            return;
        };
        if holds.paused.is_some() {
            return;
        }
        let (number, opened) = (case.number, case.opened_at);
        let limits = self
            .s
            .profile
            .as_ref()
            .map(|p| self.set().cases.limits(&p.segment).clone())
            .unwrap_or_default();
        let stale = Duration::days(i64::from(self.set().settings.stale_contact_days));
        let mut due: Vec<(String, Step, Vars)> = Vec::new();
        if limits.promise_reminder_days > 0 {
            for (id, p) in &self.s.promises {
                if p.standing != Standing::Admitted || p.outcome.is_some() {
                    continue;
                }
                let on = p.due_on - Duration::days(i64::from(limits.promise_reminder_days));
                let at = self.midnight(on);
                if at > self.now || self.now - at > stale || p.made_at >= at {
                    continue;
                }
                due.push((
                    format!("promise:{id}:reminder"),
                    case_step("promise_reminder", Tone::Friendly, Some((10, 0))),
                    vec![
                        ("amount", self.money(p.amount_minor)),
                        ("due_date", p.due_on.to_string()),
                    ],
                ));
            }
        }
        for (id, d) in &self.s.disputes {
            if let Some((false, at)) = d.resolved
                && at >= opened
                && self.now - at <= stale
            {
                due.push((
                    format!("dispute:{id}:rejected"),
                    case_step("dispute_rejected", Tone::Neutral, None),
                    vec![("amount", self.money(d.amount_minor))],
                ));
            }
        }
        for (key, step, vars) in due {
            let done = self
                .s
                .open_case()
                .is_some_and(|c| c.done.contains_key(&key));
            if done {
                continue;
            }
            self.extra_vars = vars;
            self.contact(number, &key, &step, ledger, holds);
            self.extra_vars.clear();
        }
    }

    /// When the case's contacts and plan deadlines may next fall due.
    pub(super) fn case_wakes(&self, wakes: &mut Vec<DateTime<Utc>>) {
        for w in self.watched_promises() {
            if self.s.promises[&w.id].outcome.is_none() {
                wakes.push(w.end);
            }
        }
        if let Some(p) = self.s.profile.as_ref() {
            let days = self.set().cases.limits(&p.segment).promise_reminder_days;
            if days > 0 {
                for p in self.s.promises.values() {
                    if p.standing == Standing::Admitted && p.outcome.is_none() {
                        wakes.push(self.midnight(p.due_on - Duration::days(i64::from(days))));
                    }
                }
            }
        }
        if let Some(name) = self.plan_in_force() {
            for (_, end, _, _) in self.plan_schedule(&name) {
                wakes.push(end);
            }
        }
        for h in &self.s.holds {
            if let Some(u) = h.until {
                wakes.push(self.midnight(u + Duration::days(1)));
            }
        }
        if let Some((item, at)) = self.hardship_review_at()
            && !self.s.work.contains_key(&item)
        {
            wakes.push(at);
        }
    }
}

/// A contact the case itself calls for, shaped as a step so it passes the same gate.
fn case_step(purpose: &str, tone: Tone, at: Option<(u32, u32)>) -> Step {
    Step {
        name: purpose.into(),
        trigger: Trigger::Dpd(0),
        when: Conditions::default(),
        action: ActionKind::Notify,
        channel: ChannelChoice::Recommend,
        tone: Some(tone),
        fallback: Vec::new(),
        send_time: at.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
        fee: Default::default(),
        agency: None,
        team: None,
        purpose: Some(purpose.into()),
    }
}
