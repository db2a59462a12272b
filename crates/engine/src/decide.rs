//! The engine's decisions for one account at one instant — pure: a state, the scenarios, the
//! rules and a time in; events, effects and the next time to look out.
//!
//! In order: open a case when the overdue amount passes the threshold (or re-open the last one
//! where it was when a bounced payment brings the debt back); close it with every measure undone
//! when the account cures; otherwise run the scenario's due steps, unless a hold makes dunning
//! wait. Every decision is an event applied to a working copy of the state before the next is
//! made, so the events written are exactly those whose replay rebuilds the state.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{Channel, Money, Tone};
use serde_json::json;

use crate::action::{ActionKind, Measure};
use crate::effect::{Effect, Target};
use crate::event::{ContactRecord, Event, EventBody, EventId};
use crate::gate::{self, Holds};
use crate::port::{Ask, Recommender};
use crate::scenario::{ChannelChoice, Scenario, ScenarioSet, Step, Trigger, TriggerEvent};
use crate::state::{AccountState, Ledger};
use crate::template::Templates;

mod cases;
pub use cases::{Admitted, admission};

/// What a decision needs besides the account.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The scenarios in force.
    pub scenarios: &'a ScenarioSet,
    /// The contact rules.
    pub rules: &'a ContactRules,
    /// Message templates.
    pub templates: &'a Templates,
    /// Who picks channel, time and tone.
    pub recommender: &'a dyn Recommender,
    /// Where cases go: agencies and lawyers.
    pub desk: &'a crate::desk::Desk,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("scenarios", &self.scenarios.version)
            .finish_non_exhaustive()
    }
}

/// What was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// New engine events, in order.
    pub events: Vec<Event>,
    /// New effects.
    pub effects: Vec<Effect>,
    /// The next instant something may fall due (not counting events yet to arrive).
    pub next_wake: Option<DateTime<Utc>>,
    /// The state after the decision.
    pub state: AccountState,
}

struct Work<'a> {
    cx: Context<'a>,
    s: AccountState,
    now: DateTime<Utc>,
    today: NaiveDate,
    events: Vec<Event>,
    effects: Vec<Effect>,
    /// Variables a case contact sets for its template (the promised amount and date, …).
    extra_vars: Vec<(&'static str, String)>,
    /// A step that waits for capacity is tried again then.
    retry_at: Option<DateTime<Utc>>,
}

/// Decides what to do for an account at `now`; `state` must be the fold of its log up to `now`.
pub fn decide(state: &AccountState, now: DateTime<Utc>, cx: Context<'_>) -> Decision {
    let mut w = Work {
        cx,
        today: state.local_date(now),
        s: state.clone(),
        now,
        events: Vec::new(),
        effects: Vec::new(),
        extra_vars: Vec::new(),
        retry_at: None,
    };
    if w.s.profile.is_some() {
        w.run();
    }
    let next_wake = w.next_wake();
    Decision {
        events: w.events,
        effects: w.effects,
        next_wake,
        state: w.s,
    }
}

impl Work<'_> {
    fn next_id(&self) -> String {
        format!("{}.{}", self.s.account, self.s.engine_events + 1)
    }

    fn emit(&mut self, body: EventBody) {
        let id = EventId(self.next_id());
        let e = Event {
            id,
            account: self.s.account,
            at: self.now,
            body,
        };
        self.s.apply(&e);
        self.events.push(e);
    }

    fn effect(
        &mut self,
        key: &str,
        target: Target,
        kind: &str,
        at: DateTime<Utc>,
        payload: serde_json::Value,
    ) {
        self.effects.push(Effect {
            key: key.to_string(),
            account: self.s.account,
            target,
            kind: kind.into(),
            deliver_after: at,
            payload,
            cancels: None,
        });
    }

    fn set(&self) -> &ScenarioSet {
        self.cx.scenarios
    }

    fn threshold(&self) -> i64 {
        self.s
            .profile
            .as_ref()
            .map_or(0, |p| self.set().threshold(p.currency))
    }

    fn money(&self, minor: i64) -> String {
        self.s.profile.as_ref().map_or(minor.to_string(), |p| {
            Money::new(minor, p.currency).to_string()
        })
    }

    fn midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        match &self.s.profile {
            Some(p) => p.time_zone.at(date, NaiveTime::MIN),
            None => date.and_time(NaiveTime::MIN).and_utc(),
        }
    }

    /// The scenario a new case would get, and why.
    fn selected(&self) -> (&Scenario, String) {
        let Some(p) = &self.s.profile else {
            return (&self.set().scenarios[0], "no profile".into());
        };
        // Hardship does not pick the case's scenario: `effective` swaps in the forbearance
        // scenario while it lasts, and the case returns to its own when it ends.
        self.set()
            .select(&p.segment, self.s.assigned.as_deref(), false)
    }

    /// The scenario whose steps run now: the case's, or the forbearance scenario under hardship.
    fn effective(&self) -> Option<&Scenario> {
        let case = self.s.open_case()?;
        if self.s.hardship.is_some()
            && let Some(f) = self.set().scenarios.iter().find(|s| s.forbearance)
        {
            return Some(f);
        }
        self.set()
            .get(&case.scenario)
            .or_else(|| Some(self.selected().0))
    }

    fn opens_at(&self) -> i32 {
        match self.s.open_case().and_then(|c| self.set().get(&c.scenario)) {
            Some(s) => s.opens_at_dpd(self.s.risk_band),
            None => self.selected().0.opens_at_dpd(self.s.risk_band),
        }
    }

    fn exposure(&self, ledger: &Ledger) -> (i64, i64) {
        ledger.exposure(self.today, self.opens_at())
    }

    /// Amount due under the case, fees set aside when the policy waives them on cure.
    fn cure_exposure(&self, ledger: &Ledger) -> i64 {
        let min = i64::from(self.opens_at());
        ledger
            .open_items
            .iter()
            .filter(|i| (self.today - i.due_on).num_days() >= min)
            .filter(|i| i.invoice.is_some() || !self.set().policy.waive_fees_on_cure)
            .map(|i| i.open_minor)
            .sum()
    }

    fn holds(&self, ledger: &Ledger) -> Holds {
        let (gross, net) = self.exposure(ledger);
        let t = self.threshold();
        let open_promise = self
            .watched_promises()
            .into_iter()
            .filter(|w| w.paid < w.amount && w.deadline >= self.today)
            .map(|w| w.deadline)
            .max();
        Holds {
            dispute: gross > t && net <= t,
            statutory: self
                .s
                .on_hold(self.today)
                .map(|h| h.kind.as_str().to_string()),
            hardship: self.s.hardship.as_ref().map(|h| h.reason.clone()),
            paused: self.s.paused.as_ref().map(|(by, _)| by.clone()),
            promise: open_promise,
            plan: self.plan_in_force(),
        }
    }

    fn run(&mut self) {
        self.case_work();
        let ledger = self.s.ledger(self.today);
        let threshold = self.threshold();
        if let Some(case) = self.s.open_case().map(|c| c.number) {
            let owed = self.cure_exposure(&ledger);
            if owed <= threshold {
                let why = if ledger.balance <= 0 {
                    "paid in full".to_string()
                } else {
                    format!(
                        "overdue amount {} is at or under the threshold {}",
                        self.money(owed),
                        self.money(threshold)
                    )
                };
                self.cure(case, &why);
                return;
            }
        } else {
            let (gross, _) = self.exposure(&ledger);
            if gross <= threshold {
                return;
            }
            let last = self.s.cases.last();
            let reopen = last.and_then(|c| {
                let closed = c.closed_at?;
                let window = Duration::days(i64::from(self.set().settings.reopen_days));
                let bounced = self.s.triggers.iter().any(|(t, at)| {
                    *t == TriggerEvent::PaymentReversed && *at > closed && *at <= closed + window
                });
                bounced.then_some(c.number)
            });
            if let Some(number) = reopen {
                self.emit(EventBody::CaseReopened {
                    case: number,
                    reason:
                        "a payment was reversed: the debt is back, the case resumes where it was"
                            .into(),
                });
            } else {
                let number = last.map_or(1, |c| c.number + 1);
                let (scenario, reason) = self.selected();
                let (name, reason) = (scenario.name.clone(), reason);
                self.emit(EventBody::CaseOpened {
                    case: number,
                    scenario: name,
                    reason: format!(
                        "{} overdue (threshold {}); {reason}",
                        self.money(gross),
                        self.money(threshold)
                    ),
                });
            }
        }
        if let Some(case) = self.s.open_case().map(|c| c.number) {
            let holds = self.holds(&ledger);
            self.revise(case, &ledger, &holds);
            self.steps(&ledger, &holds);
            self.case_contacts(&ledger, &holds);
        }
    }

    fn cure(&mut self, case: u32, why: &str) {
        let policy = self.set().policy.clone();
        let measures: Vec<Measure> = self
            .s
            .open_case()
            .map(|c| c.measures.iter().rev().cloned().collect())
            .unwrap_or_default();
        for m in measures {
            let undo = match &m {
                Measure::Fee { .. } => policy.waive_fees_on_cure,
                Measure::Blacklist => policy.lift_blacklist_on_cure,
                Measure::Legal { .. } => policy.withdraw_legal_on_cure,
                Measure::PendingContact { send_at, .. } => *send_at > self.now,
                _ => true,
            };
            if undo {
                self.undo(
                    case,
                    m,
                    &format!("{CURED}{why}"),
                    &format!("account cured: {why}"),
                );
            }
        }
        self.emit(EventBody::CaseClosed {
            case,
            reason: format!("cured: {why}"),
        });
    }

    /// Undoes one measure: its reversal effect (or, for a scheduled contact, its withdrawal
    /// from the outbox) and the event saying why.
    fn undo(&mut self, case: u32, m: Measure, why: &str, reason: &str) {
        let key = self.next_id();
        let (target, payload, cancels) = match &m {
            Measure::Barring { service, level } => (
                Target::Billing,
                json!({"service": service.get(), "was": level.as_str()}),
                None,
            ),
            Measure::Fee { step, amount_minor } => (
                Target::Billing,
                json!({"step": step, "amount_minor": amount_minor}),
                None,
            ),
            Measure::Blacklist => (Target::Crm, json!({}), None),
            Measure::Agency { agency, since } => {
                let recovered = since.map_or(0, |s| self.paid_between(s, self.now));
                self.cx.desk.recalled(agency, why.starts_with(CURED));
                (
                    Target::Agency,
                    json!({"agency": agency, "placed_at": since, "recovered_minor": recovered, "cured": why.starts_with(CURED)}),
                    None,
                )
            }
            Measure::Legal { lawyer } => {
                if let Some(l) = lawyer {
                    self.cx.desk.release_lawyer(l);
                }
                (Target::Legal, json!({"lawyer": lawyer}), None)
            }
            Measure::WriteOff => (Target::Billing, json!({}), None),
            Measure::PendingContact { effect, .. } => (
                Target::Channel,
                json!({"cancels": effect}),
                Some(effect.clone()),
            ),
        };
        let mut payload = payload;
        payload["account"] = json!(self.s.account.get());
        payload["action"] = json!(m.reversal());
        payload["reason"] = json!(why);
        self.effects.push(Effect {
            key: key.clone(),
            account: self.s.account,
            target,
            kind: m.reversal().into(),
            deliver_after: self.now,
            payload,
            cancels,
        });
        self.emit(EventBody::MeasureReversed {
            case,
            measure: m,
            reason: reason.to_string(),
            effect: Some(key),
        });
    }

    /// While a case stays open: lift barring from services whose debt is settled, and
    /// withdraw scheduled contacts that are no longer allowed (an opt-out, a hold, a
    /// conversation, a dispute since they were planned).
    fn revise(&mut self, case: u32, ledger: &Ledger, holds: &Holds) {
        let overdue = ledger.overdue_services(self.today);
        let measures: Vec<Measure> = self
            .s
            .open_case()
            .map(|c| c.measures.clone())
            .unwrap_or_default();
        for m in measures {
            match &m {
                Measure::Barring { service, .. } if !overdue.contains(service) => {
                    let why = format!("service {service} has no overdue debt left");
                    self.undo(case, m.clone(), &why, &why);
                }
                Measure::Agency {
                    agency,
                    since: Some(since),
                } if self
                    .s
                    .agency_reports
                    .iter()
                    .any(|(at, a, st)| at >= since && a == agency && st.returns()) =>
                {
                    let why = format!("returned by agency {agency}");
                    self.undo(case, m.clone(), &why, &why);
                }
                Measure::Legal { lawyer } => {
                    let opened = self.s.open_case().map_or(self.now, |c| c.opened_at);
                    let closed = self.s.legal_stages.iter().any(|(at, l, st, _)| {
                        *at >= opened
                            && *st == crate::event::LegalStage::Closed
                            && lawyer.as_ref().is_none_or(|x| x == l)
                    });
                    if closed {
                        let why = "the legal case was closed".to_string();
                        self.undo(case, m.clone(), &why, &why);
                    }
                }
                Measure::Agency {
                    agency,
                    since: Some(since),
                } => {
                    let days = self
                        .set()
                        .cases
                        .agencies
                        .iter()
                        .find(|a| a.name == *agency)
                        .map(|a| a.placement_days);
                    if let Some(days) = days
                        && self.now >= *since + Duration::days(i64::from(days))
                    {
                        let why = format!("placement period of {days} days with {agency} ended");
                        self.undo(case, m.clone(), &why, &why);
                    }
                }
                Measure::PendingContact {
                    send_at,
                    channel,
                    tone,
                    purpose,
                    ..
                } if *send_at > self.now => {
                    // A case's own contact (a promise reminder, a dispute's notice) is what a
                    // promise or a plan calls for: only a pause and the contact rules stop it.
                    let waiting = match purpose {
                        Some(_) => holds.paused.as_ref().map(|by| format!("paused by {by}")),
                        None => holds.waiting(),
                    };
                    let broken = match waiting {
                        Some(w) => vec![w],
                        None => self.rules_broken_by_scheduled(*send_at, *channel, *tone, holds),
                    };
                    if !broken.is_empty() {
                        let why = format!(
                            "scheduled {channel} contact no longer allowed: {}",
                            broken.join("; ")
                        );
                        self.undo(case, m.clone(), &why, &why);
                    }
                }
                _ => {}
            }
        }
    }

    /// The rules a contact already scheduled would break at its send time, judged without
    /// itself.
    fn rules_broken_by_scheduled(
        &self,
        at: DateTime<Utc>,
        channel: Channel,
        tone: Tone,
        holds: &Holds,
    ) -> Vec<String> {
        let Some(p) = &self.s.profile else {
            return Vec::new();
        };
        let mut recent = self.s.contacts.clone();
        if let Some(k) = recent
            .iter()
            .position(|c| c.at == at && c.channel == channel && !c.conversation)
        {
            recent.remove(k);
        }
        let facts = forbear_core::rules::ContactFacts {
            time_zone: p.time_zone,
            other_zones: &p.other_zones,
            consent: self.s.consent,
            opted_out: self.s.opted_out,
            dispute_open: holds.dispute,
            statutory_hold: holds.statutory.is_some(),
            hardship: holds.hardship.is_some(),
            recent: &recent,
        };
        self.cx
            .rules
            .violations(&facts, channel, tone, at)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The agency for a placement: the step's, or the desk's choice.
    fn choose_agency(&self, step: &Step, overdue: i64) -> Result<String, String> {
        if let Some(a) = &step.agency {
            return Ok(a.clone());
        }
        let Some(p) = &self.s.profile else {
            return Err("no profile".into());
        };
        self.cx
            .desk
            .choose_agency(&self.set().cases, &p.segment, p.currency, overdue)
            .map(|a| a.name.clone())
    }

    /// When a step's trigger held (None: not yet).
    fn trigger_time(
        &self,
        sc: &Scenario,
        i: usize,
        ledger: &Ledger,
    ) -> Option<Result<DateTime<Utc>, String>> {
        let case = self.s.open_case()?;
        let step = &sc.steps[i];
        match step.trigger {
            Trigger::Dpd(d) => {
                let oldest = ledger.open_items.iter().map(|x| x.due_on).min()?;
                let at = self.midnight(oldest + Duration::days(i64::from(d)));
                // Days spent waiting (a hold, a promise, a plan) push escalation back.
                let shift = if at > case.opened_at {
                    self.suspended_since(case.opened_at)
                } else {
                    Duration::zero()
                };
                Some(Ok(at + shift))
            }
            Trigger::Event(TriggerEvent::PromiseBroken) => self
                .watched_promises()
                .into_iter()
                .filter(|w| w.paid < w.amount && w.end > case.opened_at)
                .map(|w| w.end)
                .min()
                .map(Ok),
            Trigger::Event(ev) => self
                .s
                .triggers
                .iter()
                .filter(|(t, at)| *t == ev && *at > case.opened_at)
                .map(|(_, at)| *at)
                .min()
                .map(Ok),
            Trigger::AfterDays(n) => {
                // A scenario file cannot start with such a step; one built in code might.
                let before = sc.steps.get(i.checked_sub(1)?)?;
                let prev = done_key(sc, before);
                let at = *case.done.get(&prev)?;
                if case.executed.iter().any(|(s, _)| *s == prev) {
                    Some(Ok(at + Duration::days(i64::from(n))))
                } else {
                    Some(Err(format!(
                        "the previous step {} was skipped",
                        before.name
                    )))
                }
            }
        }
    }

    fn steps(&mut self, ledger: &Ledger, holds: &Holds) {
        let Some(sc) = self.effective().cloned() else {
            return;
        };
        if holds.waiting().is_some() {
            return;
        }
        for i in 0..sc.steps.len() {
            let Some(case) = self.s.open_case() else {
                return;
            };
            let number = case.number;
            let key = done_key(&sc, &sc.steps[i]);
            if case.done.contains_key(&key) {
                continue;
            }
            let when = match self.trigger_time(&sc, i, ledger) {
                None => continue,
                Some(Err(why)) => {
                    self.emit(EventBody::StepSkipped {
                        case: number,
                        step: key,
                        reason: why,
                    });
                    continue;
                }
                Some(Ok(t)) if t > self.now => continue,
                Some(Ok(t)) => t,
            };
            let step = &sc.steps[i];
            if let Some(why) = self.unmet(step, ledger, when) {
                self.emit(EventBody::StepSkipped {
                    case: number,
                    step: key,
                    reason: why,
                });
                continue;
            }
            self.execute(number, &key, step, ledger, holds);
        }
    }

    /// Why a due step does not run, if it does not.
    fn unmet(&self, step: &Step, ledger: &Ledger, when: DateTime<Utc>) -> Option<String> {
        let (_, net) = self.exposure(ledger);
        if let Some(p) = &self.s.profile
            && let Some(min) = step.when.min_overdue.get(&p.currency)
            && net < *min
        {
            return Some(format!(
                "overdue {} is under the step's minimum {}",
                self.money(net),
                self.money(*min)
            ));
        }
        if let Some(bands) = &step.when.risk_band
            && !self.s.risk_band.is_some_and(|b| bands.contains(&b))
        {
            return Some(format!(
                "risk band {} is not one of the step's",
                self.s.risk_band.map_or("unknown", |b| b.as_str())
            ));
        }
        if step.when.no_open_dispute && self.s.disputes.values().any(|d| d.resolved.is_none()) {
            return Some("a dispute is open".into());
        }
        let stale = Duration::days(i64::from(self.set().settings.stale_contact_days));
        if step.action.is_contact() && self.now - when > stale {
            return Some(format!(
                "stale: due at {when}, more than {} days ago",
                stale.num_days()
            ));
        }
        None
    }

    fn vars(&self, ledger: &Ledger) -> Vec<(&'static str, String)> {
        let (_, net) = self.exposure(ledger);
        let dpd = ledger.dpd(self.today).unwrap_or(0);
        let oldest = ledger.open_items.iter().map(|i| i.due_on).min();
        let p = self.s.profile.as_ref();
        vec![
            (
                "name",
                p.and_then(|p| p.name.clone())
                    .unwrap_or_else(|| "customer".into()),
            ),
            ("amount", self.money(net)),
            ("balance", self.money(ledger.balance)),
            ("dpd", dpd.to_string()),
            ("due_date", oldest.map_or(String::new(), |d| d.to_string())),
            (
                "link",
                self.set()
                    .settings
                    .self_service_url
                    .replace("{account}", &self.s.account.to_string()),
            ),
            ("account", self.s.account.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| {
            let v = self
                .extra_vars
                .iter()
                .find(|(x, _)| *x == k)
                .map_or(v, |(_, e)| e.clone());
            (k, v)
        })
        .collect()
    }

    fn execute(&mut self, case: u32, key: &str, step: &Step, ledger: &Ledger, holds: &Holds) {
        if step.action.is_contact() {
            self.contact(case, key, step, ledger, holds);
            return;
        }
        let cuts = step.action.barring().is_some();
        if let Some(why) = gate::measure_refused(holds, cuts) {
            self.emit(EventBody::StepSkipped {
                case,
                step: key.into(),
                reason: why,
            });
            return;
        }
        let (_, net) = self.exposure(ledger);
        let dpd = ledger.dpd(self.today).unwrap_or(0);
        let id = self.next_id();
        let account = self.s.account.get();
        let mut services = Vec::new();
        let mut amount = None;
        let mut target_name = step.agency.clone();
        let (target, payload) = match step.action {
            ActionKind::SoftBar | ActionKind::HardBar | ActionKind::Disconnect => {
                let level = step.action.barring();
                let already = |s: &forbear_core::ServiceId| {
                    self.s.open_case().is_some_and(|c| {
                        c.measures.iter().any(|m| {
                            matches!(m, Measure::Barring { service, level: l } if service == s && Some(*l) >= level)
                        })
                    })
                };
                services = ledger
                    .overdue_services(self.today)
                    .into_iter()
                    .filter(|s| !already(s))
                    .collect();
                if services.is_empty() {
                    self.emit(EventBody::StepSkipped {
                        case,
                        step: key.into(),
                        reason:
                            "no overdue service left to act on (paid-up services are never barred)"
                                .into(),
                    });
                    return;
                }
                (
                    Target::Billing,
                    json!({"services": services.iter().map(|s| s.get()).collect::<Vec<_>>()}),
                )
            }
            ActionKind::LateFee => {
                let Some(p) = self.s.profile.as_ref() else {
                    return;
                };
                let Some(fee) = step.fee.get(&p.currency).copied() else {
                    self.emit(EventBody::StepSkipped {
                        case,
                        step: key.into(),
                        reason: format!("the step sets no fee in {}", p.currency),
                    });
                    return;
                };
                amount = Some(fee);
                (
                    Target::Billing,
                    json!({"amount_minor": fee, "currency": p.currency.as_str()}),
                )
            }
            ActionKind::Blacklist => (Target::Crm, json!({})),
            ActionKind::AgencyPlacement | ActionKind::LegalReferral | ActionKind::WriteOff => {
                let to = match step.action {
                    ActionKind::AgencyPlacement => self.choose_agency(step, net),
                    ActionKind::LegalReferral => self.cx.desk.assign_lawyer(&self.set().cases),
                    _ => Ok(String::new()),
                };
                let to = match to {
                    Ok(t) => t,
                    Err(why)
                        if step.action == ActionKind::LegalReferral && why.contains("capacity") =>
                    {
                        // Lawyers full: the referral waits (tried again tomorrow), and whoever
                        // runs legal hears of it once a day.
                        self.retry_at = Some(self.midnight(self.today + Duration::days(1)));
                        let item = format!("legal-capacity:{}", self.today);
                        if !self.s.work.contains_key(&item) {
                            let key = self.next_id();
                            let detail = format!(
                                "legal referral of case {case} waits: {why}; {} overdue",
                                self.money(net)
                            );
                            self.effect(
                                &key,
                                Target::Queue,
                                "legal_capacity",
                                self.now,
                                json!({"account": self.s.account.get(), "team": "legal", "due_at_utc": self.now, "talking_points": [detail.clone()]}),
                            );
                            self.emit(EventBody::WorkQueued {
                                item,
                                team: "legal".into(),
                                due_at: self.now,
                                detail,
                                effect: Some(key),
                            });
                        }
                        return;
                    }
                    Err(why) => {
                        self.emit(EventBody::StepSkipped {
                            case,
                            step: key.into(),
                            reason: why,
                        });
                        return;
                    }
                };
                if !to.is_empty() {
                    target_name = Some(to.clone());
                }
                let invoices: Vec<_> = ledger
                    .open_items
                    .iter()
                    .map(|i| {
                        json!({"invoice": i.invoice.map(|x| x.get()), "due_on": i.due_on, "open_minor": i.open_minor, "disputed_minor": i.disputed_minor})
                    })
                    .collect();
                let target = match step.action {
                    ActionKind::AgencyPlacement => Target::Agency,
                    ActionKind::LegalReferral => Target::Legal,
                    _ => Target::Billing,
                };
                let mut payload = json!({"overdue_minor": net, "balance_minor": ledger.balance, "dpd": dpd, "open_items": invoices});
                match step.action {
                    ActionKind::AgencyPlacement => {
                        self.cx.desk.placed(&to);
                        let a = self.set().cases.agencies.iter().find(|a| a.name == to);
                        payload["agency"] = json!(to);
                        payload["commission_bp"] = json!(a.map(|a| a.commission_bp));
                        payload["placement_days"] = json!(a.map(|a| a.placement_days));
                        payload["case_file"] = json!(crate::casefile::of_state(&self.s, self.now));
                    }
                    ActionKind::LegalReferral => {
                        payload["lawyer"] = json!(to);
                        payload["case_file"] = json!(crate::casefile::of_state(&self.s, self.now));
                    }
                    _ => {}
                }
                (target, payload)
            }
            ActionKind::Notify | ActionKind::CallBack => return,
        };
        let mut payload = payload;
        payload["account"] = json!(account);
        payload["action"] = json!(step.action.as_str());
        payload["step"] = json!(key);
        self.effect(&id, target, step.action.as_str(), self.now, payload);
        self.emit(EventBody::StepExecuted {
            case,
            step: key.into(),
            action: step.action,
            services,
            contact: None,
            amount_minor: amount,
            target: target_name,
            reason: format!("{} days past due, {} overdue", dpd, self.money(net)),
            effect: Some(id),
        });
    }

    fn contact(&mut self, case: u32, key: &str, step: &Step, ledger: &Ledger, holds: &Holds) {
        let dpd = ledger.dpd(self.today).unwrap_or(0);
        let forced_tone = if holds.hardship.is_some() {
            Some(Tone::Empathetic)
        } else {
            step.tone
        };
        let mut not_before = self.now;
        let (first, tone, propensity, model) = match step.channel {
            ChannelChoice::Fixed(c) => (c, forced_tone.unwrap_or(Tone::Neutral), None, None),
            ChannelChoice::Recommend => {
                let ask = Ask {
                    state: &self.s,
                    ledger,
                    dpd,
                    now: self.now,
                    tone: forced_tone,
                    rules: self.cx.rules,
                };
                match self.cx.recommender.suggest(&ask) {
                    Ok(Some(s)) => {
                        // The recommender's send time (its best window today), never earlier
                        // than now; the gate still has the last word.
                        not_before = s.send_at.max(self.now);
                        (
                            s.channel,
                            forced_tone.unwrap_or(s.tone),
                            Some(s.propensity),
                            Some(s.model),
                        )
                    }
                    Ok(None) => {
                        self.emit(EventBody::StepSkipped {
                            case,
                            step: key.into(),
                            reason: "the recommender advises no contact today".into(),
                        });
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(account = %self.s.account, error = %e, "recommender failed; rule of thumb used");
                        let fallback = crate::port::RuleOfThumb.suggest(&ask).ok().flatten();
                        match fallback {
                            Some(s) => (
                                s.channel,
                                forced_tone.unwrap_or(s.tone),
                                Some(1.0),
                                Some(format!("rule-of-thumb (recommender failed: {e})")),
                            ),
                            None => {
                                self.emit(EventBody::StepSkipped {
                                    case,
                                    step: key.into(),
                                    reason: format!(
                                        "recommender failed ({e}) and no channel is consented"
                                    ),
                                });
                                return;
                            }
                        }
                    }
                }
            }
        };
        if let (Some(t), Some(p)) = (step.send_time, &self.s.profile) {
            // The step fixes the local send time: today's, or tomorrow's once it has passed.
            let today = p.time_zone.at(self.today, t);
            not_before = if today >= self.now {
                today
            } else {
                p.time_zone.at(self.today + Duration::days(1), t)
            };
        }
        let mut channels = vec![first];
        if step.action == ActionKind::Notify {
            channels.extend(step.fallback.iter().copied().filter(|c| *c != first));
        }
        let placement = gate::place_contact(
            self.cx.rules,
            &self.s,
            holds,
            &channels,
            tone,
            not_before,
            self.set().settings.postpone_horizon_days,
        );
        for r in &placement.refused {
            self.emit(EventBody::ContactBlocked {
                case,
                step: key.into(),
                channel: r.channel,
                rule: r.rule.clone(),
                postponed_to: r.postponed_to,
            });
        }
        let Some((channel, at)) = placement.slot else {
            let rules: Vec<String> = placement
                .refused
                .iter()
                .map(|r| format!("{}: {}", r.channel, r.rule))
                .collect();
            self.emit(EventBody::StepSkipped {
                case,
                step: key.into(),
                reason: format!("no allowed channel ({})", rules.join("; ")),
            });
            return;
        };
        let language = self
            .s
            .profile
            .as_ref()
            .map_or("en".to_string(), |p| p.language.clone());
        let vars = self.vars(ledger);
        let msg = match &step.purpose {
            Some(p) => self
                .cx
                .templates
                .render_purpose(p, channel, tone, &language, &vars),
            None => self.cx.templates.render(channel, tone, &language, &vars),
        };
        let id = self.next_id();
        let (target, kind) = if step.action == ActionKind::CallBack || channel == Channel::AgentCall
        {
            (Target::Queue, "call_back")
        } else {
            (Target::Channel, "message")
        };
        let local = self
            .s
            .profile
            .as_ref()
            .map(|p| p.time_zone.local(at).to_string());
        let points = if target == Target::Queue {
            self.talking_points(ledger)
        } else {
            Vec::new()
        };
        self.effect(
            &id,
            target,
            kind,
            at,
            json!({
                "account": self.s.account.get(),
                "due_at_utc": at,
                "due_at_local": local,
                "talking_points": points,
                "channel": channel.as_str(),
                "tone": tone.as_str(),
                "template": msg.template,
                "language": language,
                "subject": msg.subject,
                "text": msg.text,
                "send_at_utc": at,
                "send_at_local": local,
                "team": step.team,
                "step": key,
                "propensity": propensity,
                "model": model,
            }),
        );
        let reason = match &model {
            Some(m) => format!("{dpd} days past due; channel, time and tone by {m}"),
            None => format!("{dpd} days past due; channel fixed by the step"),
        };
        self.emit(EventBody::StepExecuted {
            case,
            step: key.into(),
            action: step.action,
            services: Vec::new(),
            contact: Some(ContactRecord {
                channel,
                tone,
                send_at: at,
                template: msg.template,
                recommended: model.is_some(),
                propensity,
            }),
            amount_minor: None,
            target: step.team.clone(),
            reason,
            effect: Some(id),
        });
    }

    /// The next instant a step, a promise or a hold may change what is decided.
    fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.s.profile.as_ref()?;
        let ledger = self.s.ledger(self.today);
        let mut wakes: Vec<DateTime<Utc>> = self.retry_at.into_iter().collect();
        self.case_wakes(&mut wakes);
        match self.effective() {
            Some(sc) => {
                let case = self.s.open_case();
                for i in 0..sc.steps.len() {
                    let done =
                        case.is_some_and(|c| c.done.contains_key(&done_key(sc, &sc.steps[i])));
                    if done {
                        continue;
                    }
                    if let Some(Ok(t)) = self.trigger_time(sc, i, &ledger) {
                        wakes.push(t);
                    }
                }
                // A placement ends after the agency's period.
                for m in case.iter().flat_map(|c| &c.measures) {
                    if let Measure::Agency {
                        agency,
                        since: Some(since),
                    } = m
                        && let Some(a) =
                            self.set().cases.agencies.iter().find(|a| a.name == *agency)
                    {
                        wakes.push(*since + Duration::days(i64::from(a.placement_days)));
                    }
                }
                // An item falling due changes what is overdue (and may lift a dispute hold);
                // a scheduled contact's time is when it could still be withdrawn.
                for item in &ledger.open_items {
                    wakes.push(self.midnight(item.due_on + Duration::days(1)));
                }
            }
            None => {
                let opens = self.selected().0.opens_at_dpd(self.s.risk_band);
                for item in &ledger.open_items {
                    wakes.push(self.midnight(item.due_on + Duration::days(i64::from(opens))));
                }
            }
        }
        wakes.into_iter().filter(|t| *t > self.now).min()
    }
}

/// How the reason of a reversal on cure starts (an agency recall says whether it recovered).
const CURED: &str = "cured: ";

/// The key a step is recorded under in a case: `scenario/step`.
pub fn done_key(sc: &Scenario, step: &Step) -> String {
    format!("{}/{}", sc.name, step.name)
}
