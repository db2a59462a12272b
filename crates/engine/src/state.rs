//! An account's state: the fold of its event log.
//!
//! [`AccountState::replay`] sorts the events by [`Event::order_key`], drops repeated ids and
//! applies each with [`AccountState::apply`]; nothing else builds a state. The fold records facts
//! and never judges them: what is overdue, cured or held is computed from the facts at a given
//! day by [`AccountState::ledger`], so a payment seen before the invoice it settles simply waits
//! in the ledger's pool until the invoice is known.

use chrono::{DateTime, NaiveDate, Utc};
use forbear_core::rules::{ChannelSet, PastContact};
use forbear_core::{
    AccountId, Channel, Currency, DisputeId, InvoiceId, PaymentId, PromiseId, ServiceId, TimeZone,
};
use serde::Serialize;

use std::collections::{BTreeMap, BTreeSet};

use crate::action::{ActionKind, Measure};
use crate::event::{Event, EventBody, EventId, Grant, HoldKind, Instalment, RiskBand};
use crate::scenario::{SegmentFacts, TriggerEvent};

/// Who the customer is, from the latest `account_opened`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Segment attributes.
    pub segment: SegmentFacts,
    /// Time zone of the postal address.
    pub time_zone: TimeZone,
    /// Other candidate zones.
    pub other_zones: Vec<TimeZone>,
    /// Language of messages.
    pub language: String,
    /// The account's currency.
    pub currency: Currency,
    /// Name for messages.
    pub name: Option<String>,
    /// Age band, when known.
    pub age_band: Option<forbear_core::AgeBand>,
    /// Bills are collected by direct debit or card on file.
    pub autopay: bool,
    /// Credit limit, minor units, when there is one.
    pub credit_limit_minor: Option<i64>,
    /// Local date the account was opened.
    pub opened_on: NaiveDate,
}

/// An invoice as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The service billed.
    pub service: ServiceId,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: Currency,
    /// Due date.
    pub due_on: NaiveDate,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// A payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The invoice it names.
    pub invoice: Option<InvoiceId>,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Currency.
    pub currency: Currency,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// When it was reversed, if it was.
    pub reversed_at: Option<DateTime<Utc>>,
    /// Who collected it (`agency:<name>`), when not the customer directly.
    pub via: Option<String>,
}

/// A dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    /// The invoice disputed.
    pub invoice: InvoiceId,
    /// Amount disputed, minor units.
    pub amount_minor: i64,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Who opened it.
    pub by: Option<String>,
    /// Resolved: upheld or not, and when.
    pub resolved: Option<(bool, DateTime<Utc>)>,
    /// Who resolved it, and the note.
    pub resolution: Option<(Option<String>, Option<String>)>,
    /// The team it is assigned to and its due date.
    pub assigned: Option<(String, NaiveDate)>,
    /// The credit note issued (upheld), minor units.
    pub credited_minor: Option<i64>,
    /// Its work-queue item (the outbox key).
    pub item: Option<String>,
}

/// Where a request (promise, plan, grant, hold) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not yet looked at by the engine.
    Pending,
    /// Within policy: in force.
    Admitted,
    /// Outside policy: without effect.
    Refused,
}

/// A dispute's resolution seen before the dispute: upheld, when, and (who, note).
pub type EarlyResolution = (bool, DateTime<Utc>, (Option<String>, Option<String>));

/// A promise to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promise {
    /// Amount, minor units.
    pub amount_minor: i64,
    /// The date promised.
    pub due_on: NaiveDate,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// Who took it.
    pub by: Option<String>,
    /// The request's event.
    pub request: EventId,
    /// Admitted, refused or pending.
    pub standing: Standing,
    /// Kept (true) or broken (false), once known.
    pub outcome: Option<bool>,
    /// When it was found kept or broken.
    pub settled_at: Option<DateTime<Utc>>,
}

/// A payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Instalments, the down payment first.
    pub instalments: Vec<Instalment>,
    /// When it was agreed.
    pub agreed_at: DateTime<Utc>,
    /// Who agreed it.
    pub by: Option<String>,
    /// The request's event.
    pub request: EventId,
    /// Admitted, refused or pending.
    pub standing: Standing,
    /// Breached: the instalment's date.
    pub breached: Option<NaiveDate>,
    /// Every instalment paid.
    pub completed: bool,
    /// When it was found breached or completed.
    pub ended_at: Option<DateTime<Utc>>,
}

impl Plan {
    /// Whether the plan is in force and in good standing.
    pub fn in_good_standing(&self) -> bool {
        self.standing == Standing::Admitted && self.breached.is_none() && !self.completed
    }

    /// The plan's total, minor units.
    pub fn total_minor(&self) -> i64 {
        self.instalments
            .iter()
            .fold(0i64, |t, i| t.saturating_add(i.amount_minor))
    }
}

/// A grant by an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantRecord {
    /// What.
    pub grant: Grant,
    /// Who.
    pub by: String,
    /// Their role.
    pub role: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The request's event.
    pub request: EventId,
    /// Admitted, refused or pending.
    pub standing: Standing,
}

/// A statutory hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// Kind.
    pub kind: HoldKind,
    /// When it was declared.
    pub at: DateTime<Utc>,
    /// The crisis treatment's last day, as declared.
    pub declared_until: Option<NaiveDate>,
    /// The hold's last day, fixed when admitted.
    pub until: Option<NaiveDate>,
    /// The request's event.
    pub request: EventId,
    /// Admitted, refused or pending.
    pub standing: Standing,
}

/// A hardship episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hardship {
    /// Why.
    pub reason: String,
    /// The review date declared (None: the policy's period).
    pub review_on: Option<NaiveDate>,
    /// Who declared it.
    pub by: Option<String>,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Ended (after review), if it has.
    pub ended_at: Option<DateTime<Utc>>,
}

/// What a request event refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRef {
    /// A promise.
    Promise(PromiseId),
    /// A plan.
    Plan(String),
    /// A grant (index in `grants`).
    Grant(usize),
    /// A statutory hold (index in `holds`).
    Hold(usize),
}

/// A case: one episode of delinquency, from opening to cure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Number on the account (1, 2, …).
    pub number: u32,
    /// The scenario in force.
    pub scenario: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Closed (cured), if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// Steps executed or skipped, with when.
    pub done: BTreeMap<String, DateTime<Utc>>,
    /// Steps executed, in order, with when (what `after_days` counts from).
    pub executed: Vec<(String, DateTime<Utc>)>,
    /// Measures in force.
    pub measures: Vec<Measure>,
    /// When the debt was written off.
    pub written_off_at: Option<DateTime<Utc>>,
}

impl Case {
    /// Whether the case is open.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// Everything the engine knows about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    /// The account.
    pub account: AccountId,
    /// Attributes (None until `account_opened` is seen).
    pub profile: Option<Profile>,
    /// Risk band.
    pub risk_band: Option<RiskBand>,
    /// Invoices.
    pub invoices: BTreeMap<InvoiceId, Invoice>,
    /// Payments.
    pub payments: BTreeMap<PaymentId, Payment>,
    /// Payment reversals seen before their payment: applied when it arrives.
    pub early_reversals: BTreeMap<PaymentId, DateTime<Utc>>,
    /// Disputes.
    pub disputes: BTreeMap<DisputeId, Dispute>,
    /// Dispute resolutions seen before their dispute.
    pub early_resolutions: BTreeMap<DisputeId, EarlyResolution>,
    /// Promises.
    pub promises: BTreeMap<PromiseId, Promise>,
    /// Contacts made (and scheduled), as the contact rules need them.
    pub contacts: Vec<PastContact>,
    /// Complaints received.
    pub complaints: u32,
    /// Consented channels.
    pub consent: ChannelSet,
    /// Opted-out channels.
    pub opted_out: ChannelSet,
    /// Payment plans.
    pub plans: BTreeMap<String, Plan>,
    /// Agents' grants.
    pub grants: Vec<GrantRecord>,
    /// Requests by their event: what each refers to.
    pub requests: BTreeMap<EventId, RequestRef>,
    /// Hardship in force.
    pub hardship: Option<Hardship>,
    /// Hardship episodes, oldest first (the one in force included).
    pub hardships: Vec<Hardship>,
    /// Statutory holds.
    pub holds: Vec<Hold>,
    /// Agencies' reports: when, agency, status.
    pub agency_reports: Vec<(DateTime<Utc>, String, crate::event::AgencyStatus)>,
    /// Legal stages recorded: when, lawyer, stage, cost.
    pub legal_stages: Vec<(DateTime<Utc>, String, crate::event::LegalStage, i64)>,
    /// Work items queued for agents: key → (team, due, outbox key).
    pub work: BTreeMap<String, (String, DateTime<Utc>, Option<String>)>,
    /// Paused by an agent: who and why.
    pub paused: Option<(String, String)>,
    /// Scenario assigned by an agent.
    pub assigned: Option<String>,
    /// Trigger events, with when.
    pub triggers: Vec<(TriggerEvent, DateTime<Utc>)>,
    /// Cases, oldest first.
    pub cases: Vec<Case>,
    /// Distinct events applied.
    pub events: usize,
    /// Engine events applied (numbers the next one).
    pub engine_events: usize,
    /// The latest event time applied.
    pub last_at: Option<DateTime<Utc>>,
    /// Facts that did not fit (a payment in another currency, …), for the timeline.
    pub anomalies: Vec<String>,
}

/// The money position of an account on a day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Everything owed minus everything paid (minor units; negative: in credit).
    pub balance: i64,
    /// Open amount per item due at or before each day offset is computed from `open_items`.
    pub open_items: Vec<OpenItem>,
    /// Late fees charged and not waived.
    pub fees: i64,
}

/// An amount still owed on one invoice or fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// The invoice (None: a fee).
    pub invoice: Option<InvoiceId>,
    /// The service (None: a fee).
    pub service: Option<ServiceId>,
    /// Due date.
    pub due_on: NaiveDate,
    /// Still owed, minor units.
    pub open_minor: i64,
    /// Of which under an open dispute.
    pub disputed_minor: i64,
}

impl Ledger {
    /// Days past due on `today`: since the oldest open item's due date (negative: days until
    /// the next one is due); `None` when nothing is owed.
    pub fn dpd(&self, today: NaiveDate) -> Option<i32> {
        self.open_items
            .iter()
            .filter(|i| i.open_minor > 0)
            .map(|i| i.due_on)
            .min()
            .map(|d| i32::try_from((today - d).num_days()).unwrap_or(i32::MAX))
    }

    /// Open amount of items at least `min_dpd` days past due on `today`, with and without the
    /// disputed part.
    pub fn exposure(&self, today: NaiveDate, min_dpd: i32) -> (i64, i64) {
        let mut gross = 0;
        let mut net = 0;
        for i in &self.open_items {
            if (today - i.due_on).num_days() >= i64::from(min_dpd) {
                gross += i.open_minor;
                net += (i.open_minor - i.disputed_minor).max(0);
            }
        }
        (gross, net)
    }

    /// Services with an overdue amount not under dispute on `today`.
    pub fn overdue_services(&self, today: NaiveDate) -> BTreeSet<ServiceId> {
        self.open_items
            .iter()
            .filter(|i| i.due_on < today && i.open_minor > i.disputed_minor)
            .filter_map(|i| i.service)
            .collect()
    }
}

impl AccountState {
    /// An account with no events.
    pub fn new(account: AccountId) -> Self {
        AccountState {
            account,
            profile: None,
            risk_band: None,
            invoices: BTreeMap::new(),
            payments: BTreeMap::new(),
            early_reversals: BTreeMap::new(),
            disputes: BTreeMap::new(),
            early_resolutions: BTreeMap::new(),
            promises: BTreeMap::new(),
            contacts: Vec::new(),
            complaints: 0,
            consent: ChannelSet::EMPTY,
            opted_out: ChannelSet::EMPTY,
            plans: BTreeMap::new(),
            grants: Vec::new(),
            requests: BTreeMap::new(),
            hardship: None,
            hardships: Vec::new(),
            holds: Vec::new(),
            work: BTreeMap::new(),
            agency_reports: Vec::new(),
            legal_stages: Vec::new(),
            paused: None,
            assigned: None,
            triggers: Vec::new(),
            cases: Vec::new(),
            events: 0,
            engine_events: 0,
            last_at: None,
            anomalies: Vec::new(),
        }
    }

    /// Folds a log (any order, repeats allowed) up to and including `until`.
    pub fn replay<'a>(
        account: AccountId,
        events: impl IntoIterator<Item = &'a Event>,
        until: Option<DateTime<Utc>>,
    ) -> AccountState {
        let mut log: Vec<&Event> = events
            .into_iter()
            .filter(|e| e.account == account && until.is_none_or(|u| e.at <= u))
            .collect();
        log.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        log.dedup_by(|a, b| a.id == b.id);
        let mut s = AccountState::new(account);
        for e in log {
            s.apply(e);
        }
        s
    }

    /// The open case, if any.
    pub fn open_case(&self) -> Option<&Case> {
        self.cases.last().filter(|c| c.is_open())
    }

    fn case_mut(&mut self, number: u32) -> Option<&mut Case> {
        self.cases.iter_mut().rev().find(|c| c.number == number)
    }

    /// Applies one event (in log order).
    pub fn apply(&mut self, e: &Event) {
        self.events += 1;
        self.last_at = Some(self.last_at.map_or(e.at, |l| l.max(e.at)));
        if e.is_engine() {
            self.engine_events += 1;
        }
        match &e.body {
            EventBody::AccountOpened {
                customer_type,
                subscription_type,
                service_level,
                product,
                parent,
                time_zone,
                other_zones,
                language,
                currency,
                consent,
                name,
                age_band,
                autopay,
                credit_limit_minor,
            } => {
                self.profile = Some(Profile {
                    segment: SegmentFacts {
                        customer_type: *customer_type,
                        subscription_type: *subscription_type,
                        service_level: *service_level,
                        product: *product,
                        risk_band: self.risk_band,
                        parent: *parent,
                    },
                    time_zone: *time_zone,
                    other_zones: other_zones.clone(),
                    language: language.clone(),
                    currency: *currency,
                    name: name.clone(),
                    age_band: *age_band,
                    autopay: *autopay,
                    credit_limit_minor: *credit_limit_minor,
                    opened_on: self
                        .profile
                        .as_ref()
                        .map_or(time_zone.local(e.at).date(), |p| p.opened_on),
                });
                self.consent = consent.iter().copied().collect();
            }
            EventBody::RiskAssessed { band } => {
                self.risk_band = Some(*band);
                if let Some(p) = &mut self.profile {
                    p.segment.risk_band = Some(*band);
                }
            }
            EventBody::InvoiceIssued {
                invoice,
                service,
                amount_minor,
                currency,
                due_on,
            } => {
                self.invoices.insert(
                    *invoice,
                    Invoice {
                        service: *service,
                        amount_minor: *amount_minor,
                        currency: *currency,
                        due_on: *due_on,
                        issued_at: e.at,
                    },
                );
                self.triggers.push((TriggerEvent::InvoiceIssued, e.at));
            }
            EventBody::PaymentReceived {
                payment,
                invoice,
                amount_minor,
                currency,
                via,
            } => {
                let reversed_at = self.early_reversals.remove(payment);
                self.payments.insert(
                    *payment,
                    Payment {
                        invoice: *invoice,
                        amount_minor: *amount_minor,
                        currency: *currency,
                        at: e.at,
                        reversed_at,
                        via: via.clone(),
                    },
                );
                self.triggers.push((TriggerEvent::PaymentReceived, e.at));
            }
            EventBody::PaymentReversed { payment } => {
                match self.payments.get_mut(payment) {
                    Some(p) => p.reversed_at = Some(e.at),
                    None => {
                        self.early_reversals.insert(*payment, e.at);
                    }
                }
                self.triggers.push((TriggerEvent::PaymentReversed, e.at));
            }
            EventBody::DisputeOpened {
                dispute,
                invoice,
                amount_minor,
                by,
            } => {
                let early = self.early_resolutions.remove(dispute);
                self.disputes.insert(
                    *dispute,
                    Dispute {
                        invoice: *invoice,
                        amount_minor: *amount_minor,
                        opened_at: e.at,
                        by: by.clone(),
                        resolved: early.as_ref().map(|(u, at, _)| (*u, *at)),
                        resolution: early.map(|(_, _, r)| r),
                        assigned: None,
                        credited_minor: None,
                        item: None,
                    },
                );
                self.triggers.push((TriggerEvent::DisputeOpened, e.at));
            }
            EventBody::DisputeResolved {
                dispute,
                upheld,
                by,
                note,
            } => {
                let resolution = (by.clone(), note.clone());
                match self.disputes.get_mut(dispute) {
                    Some(d) => {
                        d.resolved = Some((*upheld, e.at));
                        d.resolution = Some(resolution);
                    }
                    None => {
                        self.early_resolutions
                            .insert(*dispute, (*upheld, e.at, resolution));
                    }
                }
                self.triggers.push((TriggerEvent::DisputeResolved, e.at));
            }
            EventBody::PromiseMade {
                promise,
                amount_minor,
                due_on,
                by,
            } => {
                self.promises.insert(
                    *promise,
                    Promise {
                        amount_minor: *amount_minor,
                        due_on: *due_on,
                        made_at: e.at,
                        by: by.clone(),
                        request: e.id.clone(),
                        standing: Standing::Pending,
                        outcome: None,
                        settled_at: None,
                    },
                );
                self.requests
                    .insert(e.id.clone(), RequestRef::Promise(*promise));
            }
            EventBody::PlanAgreed {
                plan,
                instalments,
                by,
            } => {
                self.plans.insert(
                    plan.clone(),
                    Plan {
                        instalments: instalments.clone(),
                        agreed_at: e.at,
                        by: by.clone(),
                        request: e.id.clone(),
                        standing: Standing::Pending,
                        breached: None,
                        completed: false,
                        ended_at: None,
                    },
                );
                self.requests
                    .insert(e.id.clone(), RequestRef::Plan(plan.clone()));
            }
            EventBody::GrantApplied {
                grant,
                by,
                role,
                reason,
            } => {
                self.requests
                    .insert(e.id.clone(), RequestRef::Grant(self.grants.len()));
                self.grants.push(GrantRecord {
                    grant: grant.clone(),
                    by: by.clone(),
                    role: role.clone(),
                    reason: reason.clone(),
                    at: e.at,
                    request: e.id.clone(),
                    standing: Standing::Pending,
                });
            }
            EventBody::PlanInstalmentMissed { .. } => {
                self.triggers
                    .push((TriggerEvent::PlanInstalmentMissed, e.at));
            }
            EventBody::ContactMade { channel, tone } => {
                self.contacts.push(PastContact::sent(e.at, *channel, *tone));
            }
            EventBody::ContactOutcome {
                channel,
                conversation,
                responded,
                opted_out,
                complaint,
                ..
            } => {
                if *opted_out {
                    self.opted_out = self.opted_out.with(*channel);
                }
                if *complaint {
                    self.complaints += 1;
                }
                if *conversation || *responded {
                    // The contact it reports: the latest on the channel within the day before
                    // it (a call the engine cancelled, or made by someone else, is a
                    // conversation all the same: recorded at the outcome's time).
                    let reported = self
                        .contacts
                        .iter_mut()
                        .filter(|c| {
                            c.channel == *channel
                                && c.at <= e.at
                                && e.at - c.at <= chrono::Duration::days(1)
                        })
                        .max_by_key(|c| c.at);
                    match reported {
                        Some(c) => {
                            c.conversation |= *conversation;
                            c.responded |= *responded || *conversation;
                        }
                        None if *conversation => self.contacts.push(PastContact {
                            conversation: true,
                            responded: true,
                            ..PastContact::sent(e.at, *channel, None)
                        }),
                        None => {}
                    }
                }
            }
            EventBody::ConsentChanged { channel, consent } => {
                if *consent {
                    self.consent = self.consent.with(*channel);
                    self.opted_out = self.opted_out.without(*channel);
                } else {
                    self.consent = self.consent.without(*channel);
                }
            }
            EventBody::HardshipDeclared {
                reason,
                review_on,
                by,
            } => {
                let h = Hardship {
                    reason: reason.clone(),
                    review_on: *review_on,
                    by: by.clone(),
                    since: self.hardship.as_ref().map_or(e.at, |h| h.since),
                    ended_at: None,
                };
                if self.hardship.is_some()
                    && let Some(last) = self.hardships.last_mut()
                {
                    *last = h.clone();
                } else {
                    self.hardships.push(h.clone());
                }
                self.hardship = Some(h);
            }
            EventBody::HardshipEnded => {
                if self.hardship.take().is_some()
                    && let Some(last) = self.hardships.last_mut()
                {
                    last.ended_at = Some(e.at);
                }
            }
            EventBody::StatutoryHold { kind, until } => {
                self.requests
                    .insert(e.id.clone(), RequestRef::Hold(self.holds.len()));
                self.holds.push(Hold {
                    kind: *kind,
                    at: e.at,
                    declared_until: *until,
                    until: None,
                    request: e.id.clone(),
                    standing: Standing::Pending,
                });
            }
            EventBody::Paused { by, reason } => self.paused = Some((by.clone(), reason.clone())),
            EventBody::Resumed { .. } => self.paused = None,
            EventBody::ScenarioAssigned { scenario, .. } => self.assigned = scenario.clone(),
            EventBody::CaseOpened { case, scenario, .. } => self.cases.push(Case {
                number: *case,
                scenario: scenario.clone(),
                opened_at: e.at,
                closed_at: None,
                done: BTreeMap::new(),
                executed: Vec::new(),
                measures: Vec::new(),
                written_off_at: None,
            }),
            EventBody::StepExecuted {
                case,
                step,
                action,
                services,
                contact,
                amount_minor,
                target,
                effect,
                ..
            } => {
                if let Some(c) = contact {
                    self.contacts
                        .push(PastContact::sent(c.send_at, c.channel, Some(c.tone)));
                }
                let at = e.at;
                let Some(k) = self.case_mut(*case) else {
                    self.anomalies
                        .push(format!("{}: step {step} of unknown case {case}", e.id));
                    return;
                };
                k.done.insert(step.clone(), at);
                k.executed.push((step.clone(), at));
                if *action == ActionKind::WriteOff {
                    k.written_off_at = Some(at);
                }
                add_measures(
                    k,
                    *action,
                    services,
                    *amount_minor,
                    target,
                    step,
                    contact.as_ref(),
                    effect,
                    at,
                );
            }
            EventBody::StepSkipped { case, step, .. } => {
                let at = e.at;
                if let Some(k) = self.case_mut(*case) {
                    k.done.insert(step.clone(), at);
                }
            }
            EventBody::ContactBlocked { .. } => {}
            EventBody::MeasureReversed { case, measure, .. } => {
                if let Some(k) = self.case_mut(*case)
                    && let Some(i) = k.measures.iter().position(|m| m.is(measure))
                {
                    k.measures.remove(i);
                }
                if let Measure::PendingContact {
                    send_at, channel, ..
                } = measure
                {
                    // The cancelled contact never happens: it no longer counts for the rules.
                    if let Some(k) = self
                        .contacts
                        .iter()
                        .position(|c| c.at == *send_at && c.channel == *channel && !c.conversation)
                    {
                        self.contacts.remove(k);
                    }
                }
            }
            EventBody::CaseClosed { case, .. } => {
                let at = e.at;
                if let Some(k) = self.case_mut(*case) {
                    k.closed_at = Some(at);
                    // Contacts still scheduled were cancelled before the close; the rest were sent.
                    k.measures
                        .retain(|m| !matches!(m, Measure::PendingContact { .. }));
                }
            }
            EventBody::CaseReopened { case, .. } => {
                if let Some(k) = self.case_mut(*case) {
                    k.closed_at = None;
                }
            }
            EventBody::RequestAdmitted { request, until, .. } => {
                self.set_standing(request, Standing::Admitted, *until);
            }
            EventBody::RequestRefused { request, .. } => {
                self.set_standing(request, Standing::Refused, None);
            }
            EventBody::DisputeAssigned {
                dispute,
                team,
                due_on,
                effect,
            } => {
                if let Some(d) = self.disputes.get_mut(dispute) {
                    d.assigned = Some((team.clone(), *due_on));
                    d.item.clone_from(effect);
                }
            }
            EventBody::CreditNoteIssued {
                dispute,
                amount_minor,
                ..
            } => {
                if let Some(d) = self.disputes.get_mut(dispute) {
                    d.credited_minor = Some(*amount_minor);
                }
            }
            EventBody::PromiseKept { promise } => {
                if let Some(p) = self.promises.get_mut(promise) {
                    p.outcome = Some(true);
                    p.settled_at = Some(e.at);
                }
            }
            EventBody::PromiseBroken { promise, .. } => {
                if let Some(p) = self.promises.get_mut(promise) {
                    p.outcome = Some(false);
                    p.settled_at = Some(e.at);
                }
                self.triggers.push((TriggerEvent::PromiseBroken, e.at));
            }
            EventBody::PlanBreached { plan, due_on, .. } => {
                if let Some(p) = self.plans.get_mut(plan) {
                    p.breached = Some(*due_on);
                    p.ended_at = Some(e.at);
                }
                self.triggers
                    .push((TriggerEvent::PlanInstalmentMissed, e.at));
            }
            EventBody::PlanCompleted { plan } => {
                if let Some(p) = self.plans.get_mut(plan) {
                    p.completed = true;
                    p.ended_at = Some(e.at);
                }
            }
            EventBody::AgencyReported { agency, status, .. } => {
                self.agency_reports.push((e.at, agency.clone(), *status));
            }
            EventBody::LegalStageRecorded {
                lawyer,
                stage,
                cost_minor,
                ..
            } => {
                self.legal_stages
                    .push((e.at, lawyer.clone(), *stage, *cost_minor));
            }
            EventBody::WorkQueued {
                item,
                team,
                due_at,
                effect,
                ..
            } => {
                self.work
                    .insert(item.clone(), (team.clone(), *due_at, effect.clone()));
            }
        }
    }

    /// The ledger on `today` (the customer's local date): invoices less upheld disputes, fees
    /// not waived, and payments not reversed — payments naming an invoice go to it first, the
    /// rest to the oldest items' undisputed amounts first, then to disputed ones.
    pub fn ledger(&self, today: NaiveDate) -> Ledger {
        self.ledger_as_of(today, None)
    }

    /// The ledger on `today` from the facts known at `known` (None: all of them) — what a
    /// request made at `known` is judged on, whenever it is judged.
    pub fn ledger_as_of(&self, today: NaiveDate, known: Option<DateTime<Utc>>) -> Ledger {
        let by = |at: DateTime<Utc>| known.is_none_or(|k| at <= k);
        let currency = self.profile.as_ref().map(|p| p.currency);
        let same = |c: Currency| currency.is_none_or(|a| a == c);
        let mut items: Vec<OpenItem> = Vec::new();
        let mut index: BTreeMap<InvoiceId, usize> = BTreeMap::new();
        let mut invoices: Vec<(&InvoiceId, &Invoice)> = self
            .invoices
            .iter()
            .filter(|(_, i)| same(i.currency) && by(i.issued_at))
            .collect();
        invoices.sort_by_key(|(id, i)| (i.due_on, **id));
        for (id, inv) in invoices {
            let upheld: i64 = self
                .disputes
                .values()
                .filter(|d| d.invoice == *id && d.resolved.is_some_and(|(u, at)| u && by(at)))
                .map(|d| d.amount_minor)
                .sum();
            index.insert(*id, items.len());
            items.push(OpenItem {
                invoice: Some(*id),
                service: Some(inv.service),
                due_on: self.due_on(*id, inv.due_on),
                open_minor: (inv.amount_minor - upheld).max(0),
                disputed_minor: 0,
            });
        }
        let mut fees = 0;
        for c in &self.cases {
            for m in &c.measures {
                if let Measure::Fee { amount_minor, .. } = m {
                    fees += amount_minor;
                    let on = c
                        .executed
                        .iter()
                        .find(|(s, _)| matches!(m, Measure::Fee { step, .. } if step == s))
                        .map_or(today, |(_, at)| self.local_date(*at));
                    items.push(OpenItem {
                        invoice: None,
                        service: None,
                        due_on: on,
                        open_minor: *amount_minor,
                        disputed_minor: 0,
                    });
                }
            }
        }
        let billed: i64 = items.iter().map(|i| i.open_minor).sum();
        // Payments naming a known invoice settle it first; the rest goes to a pool.
        let goodwill = self.goodwill_minor();
        let mut pool = goodwill;
        let mut paid = goodwill;
        for p in self.payments.values() {
            if p.reversed_at.is_some_and(by) || !same(p.currency) || !by(p.at) {
                continue;
            }
            paid += p.amount_minor;
            let mut left = p.amount_minor;
            if let Some(i) = p.invoice.and_then(|id| index.get(&id)) {
                let take = left.min(items[*i].open_minor);
                items[*i].open_minor -= take;
                left -= take;
            }
            pool += left;
        }
        items.sort_by_key(|i| (i.due_on, i.invoice));
        // What open disputes hold back, per item.
        let mut held: Vec<i64> = vec![0; items.len()];
        for d in self.disputes.values() {
            if d.resolved.is_some_and(|(_, at)| by(at)) || !by(d.opened_at) {
                continue;
            }
            if let Some(k) = items.iter().position(|i| i.invoice == Some(d.invoice)) {
                held[k] += d.amount_minor;
            }
        }
        // The pool settles the undisputed part of the items, oldest first, before anything a
        // customer disputes: money paid without naming a bill is not taken as paying the
        // amount they contest.
        for (i, h) in items.iter_mut().zip(&held) {
            let take = pool.min((i.open_minor - h).max(0));
            i.open_minor -= take;
            pool -= take;
        }
        for i in &mut items {
            let take = pool.min(i.open_minor);
            i.open_minor -= take;
            pool -= take;
        }
        for (i, h) in items.iter_mut().zip(&held) {
            i.disputed_minor = (*h).min(i.open_minor);
        }
        items.retain(|i| i.open_minor > 0);
        Ledger {
            balance: billed - paid,
            open_items: items,
            fees,
        }
    }

    fn set_standing(&mut self, request: &EventId, standing: Standing, until: Option<NaiveDate>) {
        match self.requests.get(request) {
            Some(RequestRef::Promise(id)) => {
                if let Some(p) = self.promises.get_mut(id) {
                    p.standing = standing;
                }
            }
            Some(RequestRef::Plan(id)) => {
                if let Some(p) = self.plans.get_mut(id) {
                    p.standing = standing;
                }
            }
            Some(RequestRef::Grant(i)) => {
                if let Some(g) = self.grants.get_mut(*i) {
                    g.standing = standing;
                }
            }
            Some(RequestRef::Hold(i)) => {
                if let Some(h) = self.holds.get_mut(*i) {
                    h.standing = standing;
                    h.until = until;
                }
            }
            None => self
                .anomalies
                .push(format!("a decision on unknown request {request}")),
        }
    }

    /// The statutory hold in force on a local day, if any.
    pub fn on_hold(&self, day: NaiveDate) -> Option<&Hold> {
        self.holds.iter().find(|h| {
            h.standing == Standing::Admitted
                && self.local_date(h.at) <= day
                && h.until.is_some_and(|u| u >= day)
        })
    }

    /// The CRM flags the engine set: blacklisted (a blacklist measure in force in any case,
    /// closed ones included when the policy kept it), and days since a write-off still in force.
    pub fn crm_flags(&self, now: DateTime<Utc>) -> (bool, Option<u32>) {
        let blacklisted = self
            .cases
            .iter()
            .any(|c| c.measures.contains(&Measure::Blacklist));
        let written_off = self
            .cases
            .iter()
            .filter(|c| c.measures.contains(&Measure::WriteOff))
            .filter_map(|c| c.written_off_at)
            .max()
            .map(|at| u32::try_from((now - at).num_days().max(0)).unwrap_or(u32::MAX));
        (blacklisted, written_off)
    }

    /// Broken promises so far.
    pub fn broken_promises(&self) -> usize {
        self.promises
            .values()
            .filter(|p| p.outcome == Some(false))
            .count()
    }

    /// An invoice's due date with the admitted grants moving it applied.
    pub fn due_on(&self, invoice: InvoiceId, issued: NaiveDate) -> NaiveDate {
        self.grants
            .iter()
            .filter(|g| g.standing == Standing::Admitted)
            .filter_map(|g| match &g.grant {
                Grant::MoveDueDate { invoice: i, to } if *i == invoice => Some(*to),
                _ => None,
            })
            .next_back()
            .unwrap_or(issued)
    }

    /// Goodwill credits admitted, minor units.
    pub fn goodwill_minor(&self) -> i64 {
        self.grants
            .iter()
            .filter(|g| g.standing == Standing::Admitted)
            .filter_map(|g| match &g.grant {
                Grant::GoodwillCredit { amount_minor } => Some(*amount_minor),
                _ => None,
            })
            .sum()
    }

    /// Channels of contacts whose send time is after `now` (scheduled, not yet sent).
    pub fn scheduled_after(&self, now: DateTime<Utc>) -> impl Iterator<Item = &PastContact> {
        self.contacts.iter().filter(move |c| c.at > now)
    }

    /// The customer's local date at `at` (UTC date before the profile is known).
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.profile
            .as_ref()
            .map_or(at.date_naive(), |p| p.time_zone.local(at).date())
    }

    /// Whether a channel may be used at all (consented and not opted out).
    pub fn may_use(&self, c: Channel) -> bool {
        self.consent.contains(c) && !self.opted_out.contains(c)
    }
}

#[allow(clippy::too_many_arguments)]
fn add_measures(
    k: &mut Case,
    action: ActionKind,
    services: &[ServiceId],
    amount: Option<i64>,
    target: &Option<String>,
    step: &str,
    contact: Option<&crate::event::ContactRecord>,
    effect: &Option<String>,
    at: DateTime<Utc>,
) {
    if let Some(level) = action.barring() {
        for s in services {
            k.measures
                .retain(|m| !matches!(m, Measure::Barring { service, .. } if service == s));
            k.measures.push(Measure::Barring { service: *s, level });
        }
        return;
    }
    let m = match action {
        ActionKind::LateFee => amount.map(|a| Measure::Fee {
            step: step.into(),
            amount_minor: a,
        }),
        ActionKind::Blacklist => Some(Measure::Blacklist),
        ActionKind::AgencyPlacement => Some(Measure::Agency {
            agency: target.clone().unwrap_or_default(),
            since: Some(at),
        }),
        ActionKind::LegalReferral => Some(Measure::Legal {
            lawyer: target.clone(),
        }),
        ActionKind::WriteOff => Some(Measure::WriteOff),
        ActionKind::Notify | ActionKind::CallBack => match (contact, effect) {
            (Some(c), Some(key)) if c.send_at > at => Some(Measure::PendingContact {
                purpose: (!step.contains('/')).then(|| step.to_string()),
                effect: key.clone(),
                send_at: c.send_at,
                channel: c.channel,
                tone: c.tone,
            }),
            _ => None,
        },
        _ => None,
    };
    if let Some(m) = m
        && !k.measures.contains(&m)
    {
        k.measures.push(m);
    }
}
