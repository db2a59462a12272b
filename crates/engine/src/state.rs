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

use std::collections::{BTreeMap, BTreeSet};

use crate::action::{ActionKind, Measure};
use crate::event::{Event, EventBody, RiskBand};
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
}

/// A dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// The invoice disputed.
    pub invoice: InvoiceId,
    /// Amount disputed, minor units.
    pub amount_minor: i64,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Resolved: upheld or not, and when.
    pub resolved: Option<(bool, DateTime<Utc>)>,
}

/// A promise to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    /// Amount, minor units.
    pub amount_minor: i64,
    /// The date promised.
    pub due_on: NaiveDate,
    /// When it was made.
    pub made_at: DateTime<Utc>,
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
    pub early_resolutions: BTreeMap<DisputeId, (bool, DateTime<Utc>)>,
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
    /// Hardship: reason and review date.
    pub hardship: Option<(String, NaiveDate)>,
    /// Statutory holds: kind and last day.
    pub holds: Vec<(String, NaiveDate)>,
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
            hardship: None,
            holds: Vec::new(),
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
            } => {
                let resolved = self.early_resolutions.remove(dispute);
                self.disputes.insert(
                    *dispute,
                    Dispute {
                        invoice: *invoice,
                        amount_minor: *amount_minor,
                        opened_at: e.at,
                        resolved,
                    },
                );
                self.triggers.push((TriggerEvent::DisputeOpened, e.at));
            }
            EventBody::DisputeResolved { dispute, upheld } => {
                match self.disputes.get_mut(dispute) {
                    Some(d) => d.resolved = Some((*upheld, e.at)),
                    None => {
                        self.early_resolutions.insert(*dispute, (*upheld, e.at));
                    }
                }
                self.triggers.push((TriggerEvent::DisputeResolved, e.at));
            }
            EventBody::PromiseMade {
                promise,
                amount_minor,
                due_on,
            } => {
                self.promises.insert(
                    *promise,
                    Promise {
                        amount_minor: *amount_minor,
                        due_on: *due_on,
                        made_at: e.at,
                    },
                );
            }
            EventBody::PlanInstalmentMissed { .. } => {
                self.triggers
                    .push((TriggerEvent::PlanInstalmentMissed, e.at));
            }
            EventBody::ContactMade { channel, .. } => self.contacts.push(PastContact {
                at: e.at,
                channel: *channel,
                conversation: false,
            }),
            EventBody::ContactOutcome {
                channel,
                conversation,
                opted_out,
                complaint,
            } => {
                if *opted_out {
                    self.opted_out = self.opted_out.with(*channel);
                }
                if *complaint {
                    self.complaints += 1;
                }
                if *conversation {
                    match self
                        .contacts
                        .iter_mut()
                        .filter(|c| c.channel == *channel && c.at <= e.at)
                        .max_by_key(|c| c.at)
                    {
                        Some(c) => c.conversation = true,
                        None => self.contacts.push(PastContact {
                            at: e.at,
                            channel: *channel,
                            conversation: true,
                        }),
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
            EventBody::HardshipDeclared { reason, review_on } => {
                self.hardship = Some((reason.clone(), *review_on));
            }
            EventBody::HardshipEnded => self.hardship = None,
            EventBody::StatutoryHold { kind, until } => self.holds.push((kind.clone(), *until)),
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
                    self.contacts.push(PastContact {
                        at: c.send_at,
                        channel: c.channel,
                        conversation: false,
                    });
                }
                let at = e.at;
                let Some(k) = self.case_mut(*case) else {
                    self.anomalies
                        .push(format!("{}: step {step} of unknown case {case}", e.id));
                    return;
                };
                k.done.insert(step.clone(), at);
                k.executed.push((step.clone(), at));
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
                if let Some(k) = self.case_mut(*case) {
                    k.measures.retain(|m| m != measure);
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
        }
    }

    /// The ledger on `today` (the customer's local date): invoices less upheld disputes, fees
    /// not waived, and payments not reversed — payments naming an invoice go to it first, the
    /// rest to the oldest items first.
    pub fn ledger(&self, today: NaiveDate) -> Ledger {
        let currency = self.profile.as_ref().map(|p| p.currency);
        let same = |c: Currency| currency.is_none_or(|a| a == c);
        let mut items: Vec<OpenItem> = Vec::new();
        let mut index: BTreeMap<InvoiceId, usize> = BTreeMap::new();
        let mut invoices: Vec<(&InvoiceId, &Invoice)> = self
            .invoices
            .iter()
            .filter(|(_, i)| same(i.currency))
            .collect();
        invoices.sort_by_key(|(id, i)| (i.due_on, **id));
        for (id, inv) in invoices {
            let upheld: i64 = self
                .disputes
                .values()
                .filter(|d| d.invoice == *id && d.resolved.is_some_and(|(u, _)| u))
                .map(|d| d.amount_minor)
                .sum();
            index.insert(*id, items.len());
            items.push(OpenItem {
                invoice: Some(*id),
                service: Some(inv.service),
                due_on: inv.due_on,
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
        let mut pool = 0i64;
        let mut paid = 0i64;
        for p in self.payments.values() {
            if p.reversed_at.is_some() || !same(p.currency) {
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
        for i in &mut items {
            let take = pool.min(i.open_minor);
            i.open_minor -= take;
            pool -= take;
        }
        for d in self.disputes.values() {
            if d.resolved.is_some() {
                continue;
            }
            if let Some(i) = items.iter_mut().find(|i| i.invoice == Some(d.invoice)) {
                i.disputed_minor = (i.disputed_minor + d.amount_minor).min(i.open_minor);
            }
        }
        items.retain(|i| i.open_minor > 0);
        Ledger {
            balance: billed - paid,
            open_items: items,
            fees,
        }
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
        }),
        ActionKind::LegalReferral => Some(Measure::Legal),
        ActionKind::WriteOff => Some(Measure::WriteOff),
        ActionKind::Notify | ActionKind::CallBack => match (contact, effect) {
            (Some(c), Some(key)) if c.send_at > at => Some(Measure::PendingContact {
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
