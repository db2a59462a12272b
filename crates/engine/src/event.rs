//! Events: everything the engine knows about an account is an event in its log.
//!
//! External events (an invoice issued, a payment received or reversed, a dispute, a promise, a
//! contact's outcome, a hardship declaration, an agent's manual action) arrive from billing, the
//! channel providers and people; the engine's own events (a case opened, a step executed or
//! skipped, a contact postponed, an action reversed) are what it decided. An account's state is a
//! fold over its log sorted by [`Event::order_key`], so the state depends on the set of events,
//! not on the order or the number of times they arrived, and replaying the log rebuilds it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use forbear_core::{
    AccountId, Channel, Currency, CustomerType, DisputeId, InvoiceId, PaymentId, Product,
    PromiseId, ServiceId, ServiceLevel, SubscriptionType, TimeZone, Tone,
};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::action::{ActionKind, Measure};

/// The largest amount an event may carry, minor units (10^15: sums of any account's
/// amounts stay far from overflowing).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// How far from its own date an event's dates may lie (ten years).
pub const MAX_DAYS_AWAY: i64 = 3660;

/// The most instalments a plan may have.
pub const MAX_INSTALMENTS: usize = 120;

/// The longest event id accepted (ids are keys in the store).
pub const MAX_EVENT_ID: usize = 200;

/// An event's id: unique across the store, chosen by its source (`invoice:123`, a provider's
/// message id, a UUID). Re-sending an event with the same id changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(pub(crate) String);

impl EventId {
    /// Parses an id: 1 to [`MAX_EVENT_ID`] printable ASCII characters.
    pub fn new(id: impl Into<String>) -> Result<Self, String> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_EVENT_ID {
            return Err(format!(
                "an event id has 1 to {MAX_EVENT_ID} characters, got {}",
                id.len()
            ));
        }
        if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!(
                "an event id is printable ASCII without spaces, got {c:?} in {id:?}"
            ));
        }
        Ok(EventId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        EventId::new(s)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event of an account's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id (idempotency).
    pub id: EventId,
    /// The account it belongs to.
    pub account: AccountId,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// The position in the log: by time, then external facts before the engine's own decisions
    /// at the same instant (a payment at 09:00 is seen by a step due at 09:00), then by id.
    pub fn order_key(&self) -> (DateTime<Utc>, bool, u64, &str) {
        (
            self.at,
            self.body.is_engine(),
            self.sequence(),
            self.id.as_str(),
        )
    }

    /// An engine event's number on its account (`<account>.<n>`), 0 for other events: engine
    /// events of one instant apply in the order they were decided.
    pub fn sequence(&self) -> u64 {
        if !self.is_engine() {
            return 0;
        }
        self.id
            .as_str()
            .rsplit_once('.')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the engine wrote this event (rather than a source outside it).
    pub fn is_engine(&self) -> bool {
        self.body.is_engine()
    }
}

/// Risk bands, as the risk model's score bands (A best … E worst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskBand {
    /// Lowest risk.
    A,
    /// Low risk.
    B,
    /// Medium risk.
    C,
    /// High risk.
    D,
    /// Highest risk.
    E,
}

impl RiskBand {
    /// Every band, best first.
    pub const ALL: [RiskBand; 5] = [
        RiskBand::A,
        RiskBand::B,
        RiskBand::C,
        RiskBand::D,
        RiskBand::E,
    ];

    /// The band's letter.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskBand::A => "A",
            RiskBand::B => "B",
            RiskBand::C => "C",
            RiskBand::D => "D",
            RiskBand::E => "E",
        }
    }

    /// Parses a band letter.
    pub fn parse(s: &str) -> Option<RiskBand> {
        RiskBand::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// What an event says happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    // ---- from outside the engine --------------------------------------------------------
    /// The account exists (or its attributes changed: the latest such event wins).
    AccountOpened {
        /// Who the customer is.
        customer_type: CustomerType,
        /// Prepaid or postpaid.
        subscription_type: SubscriptionType,
        /// Service tier.
        service_level: ServiceLevel,
        /// Product line.
        product: Product,
        /// The corporate parent, for a child account.
        #[serde(default)]
        parent: Option<AccountId>,
        /// The customer's time zone (postal address).
        time_zone: TimeZone,
        /// Other zones the customer may be in (the phone's area code disagrees with the address).
        #[serde(default)]
        other_zones: Vec<TimeZone>,
        /// Language for messages (BCP 47).
        language: String,
        /// The account's currency.
        currency: Currency,
        /// Channels the customer consented to.
        consent: Vec<Channel>,
        /// The customer's name for messages.
        #[serde(default)]
        name: Option<String>,
        /// The customer's age band, when known (a consumer's): the response models read it.
        #[serde(default)]
        age_band: Option<forbear_core::AgeBand>,
        /// Bills are collected by direct debit or card on file.
        #[serde(default)]
        autopay: bool,
        /// The credit limit granted, minor units of `currency`, when there is one.
        #[serde(default)]
        credit_limit_minor: Option<i64>,
    },
    /// The risk model's band for the account changed.
    RiskAssessed {
        /// The new band.
        band: RiskBand,
    },
    /// An invoice was issued for a service.
    InvoiceIssued {
        /// Invoice id.
        invoice: InvoiceId,
        /// The service billed.
        service: ServiceId,
        /// Amount in minor units.
        amount_minor: i64,
        /// Its currency.
        currency: Currency,
        /// Due date.
        due_on: NaiveDate,
    },
    /// A payment arrived (possibly before the invoice it settles is known).
    PaymentReceived {
        /// Payment id.
        payment: PaymentId,
        /// The invoice it names, if any.
        #[serde(default)]
        invoice: Option<InvoiceId>,
        /// Amount in minor units.
        amount_minor: i64,
        /// Its currency.
        currency: Currency,
        /// Who collected it, when not the customer directly (`agency:<name>`).
        #[serde(default)]
        via: Option<String>,
    },
    /// A payment bounced or was charged back.
    PaymentReversed {
        /// The payment reversed.
        payment: PaymentId,
    },
    /// The customer disputes an invoice (all of it or an amount).
    DisputeOpened {
        /// Dispute id.
        dispute: DisputeId,
        /// The invoice disputed.
        invoice: InvoiceId,
        /// The amount disputed, minor units.
        amount_minor: i64,
        /// Who opened it: `customer` (self-service), `agent:<name>` or an API client.
        #[serde(default)]
        by: Option<String>,
    },
    /// A dispute was resolved.
    DisputeResolved {
        /// Dispute id.
        dispute: DisputeId,
        /// Upheld (the customer was right: the amount is credited) or rejected.
        upheld: bool,
        /// Who resolved it.
        #[serde(default)]
        by: Option<String>,
        /// The resolution's note (shown in the rejection notice and the case file).
        #[serde(default)]
        note: Option<String>,
    },
    /// The customer promised to pay an amount by a date.
    PromiseMade {
        /// Promise id.
        promise: PromiseId,
        /// Amount promised, minor units.
        amount_minor: i64,
        /// The date it is due.
        due_on: NaiveDate,
        /// Who took it (`customer`, `agent:<name>`).
        #[serde(default)]
        by: Option<String>,
    },
    /// A payment plan was agreed: the engine admits it within the segment's limits.
    PlanAgreed {
        /// The plan's reference (unique on the account).
        plan: String,
        /// The instalments, the down payment first.
        instalments: Vec<Instalment>,
        /// Who agreed it.
        #[serde(default)]
        by: Option<String>,
    },
    /// An agent granted something: admitted if the role may grant it in this segment.
    GrantApplied {
        /// What was granted.
        grant: Grant,
        /// Who.
        by: String,
        /// Their role.
        role: String,
        /// Why.
        reason: String,
    },
    /// An agency reports on a case placed with it.
    AgencyReported {
        /// The agency.
        agency: String,
        /// Where the case stands.
        status: AgencyStatus,
        /// Its note.
        #[serde(default)]
        note: Option<String>,
    },
    /// A lawyer records a stage of a legal case, with its cost.
    LegalStageRecorded {
        /// The lawyer.
        lawyer: String,
        /// The stage reached.
        stage: LegalStage,
        /// What the stage cost, minor units.
        #[serde(default)]
        cost_minor: i64,
        /// A note.
        #[serde(default)]
        note: Option<String>,
    },
    /// Billing reports a plan's instalment missed (the engine also detects misses itself).
    PlanInstalmentMissed {
        /// The plan's reference.
        plan: String,
    },
    /// A contact made outside the engine (another system, or the history before it): it
    /// counts for the contact rules' frequency limits.
    ContactMade {
        /// The channel.
        channel: Channel,
        /// The tone, when known.
        #[serde(default)]
        tone: Option<Tone>,
    },
    /// A channel provider reports what came of a contact.
    ContactOutcome {
        /// The channel.
        channel: Channel,
        /// A conversation about the debt took place (calls).
        #[serde(default)]
        conversation: bool,
        /// The contact was read or answered (a read receipt, an opened e-mail or push, an
        /// answered call): what the response models learn a customer's reachability from.
        #[serde(default)]
        responded: bool,
        /// The customer opted out of the channel.
        #[serde(default)]
        opted_out: bool,
        /// The customer complained.
        #[serde(default)]
        complaint: bool,
        /// What came of an agent's call, when one was made.
        #[serde(default)]
        result: Option<CallResult>,
        /// The work-queue item worked, when the call came from a queue.
        #[serde(default)]
        item: Option<String>,
    },
    /// Consent to a channel was given or withdrawn.
    ConsentChanged {
        /// The channel.
        channel: Channel,
        /// Given (true) or withdrawn.
        consent: bool,
    },
    /// Hardship or vulnerability declared: forbearance until the review date.
    HardshipDeclared {
        /// Why (job loss, illness, bereavement, …; the policy's list).
        reason: String,
        /// The review date (absent: the policy's review period).
        #[serde(default)]
        review_on: Option<NaiveDate>,
        /// Who declared it (`customer`, `agent:<name>`).
        #[serde(default)]
        by: Option<String>,
    },
    /// The hardship flag was lifted after review.
    HardshipEnded,
    /// A statutory hold starts at `at`: a breathing space (the policy's length, at most one
    /// per period) or a crisis hold (the treatment's end plus the policy's extra days).
    StatutoryHold {
        /// Kind of hold.
        kind: HoldKind,
        /// Crisis: the last day of the treatment (ignored for a breathing space).
        #[serde(default)]
        until: Option<NaiveDate>,
    },
    /// An agent paused dunning.
    Paused {
        /// Who.
        by: String,
        /// Why.
        reason: String,
    },
    /// An agent resumed dunning.
    Resumed {
        /// Who.
        by: String,
    },
    /// An agent moved the account to a scenario (overrides segment matching until cleared).
    ScenarioAssigned {
        /// Who.
        by: String,
        /// The scenario, or `None` to return to segment matching.
        scenario: Option<String>,
    },

    // ---- the engine's own decisions --------------------------------------------------
    /// A case opened: the account became overdue.
    CaseOpened {
        /// The case's number on this account (1, 2, …).
        case: u32,
        /// The scenario in force.
        scenario: String,
        /// Why this scenario.
        reason: String,
    },
    /// A step ran its action.
    StepExecuted {
        /// Case number.
        case: u32,
        /// Step name.
        step: String,
        /// What was done.
        action: ActionKind,
        /// The services it applies to (service measures).
        #[serde(default)]
        services: Vec<ServiceId>,
        /// Contact details (notify and call-back).
        #[serde(default)]
        contact: Option<ContactRecord>,
        /// The amount (a fee), minor units.
        #[serde(default)]
        amount_minor: Option<i64>,
        /// The agency placed with, or the team's queue of a call-back.
        #[serde(default)]
        target: Option<String>,
        /// Why now.
        reason: String,
        /// The outbox key of its effect.
        effect: Option<String>,
    },
    /// A step's trigger held but it was not executed.
    StepSkipped {
        /// Case number.
        case: u32,
        /// Step name.
        step: String,
        /// Why.
        reason: String,
    },
    /// A contact was blocked by a rule and postponed or given up.
    ContactBlocked {
        /// Case number.
        case: u32,
        /// Step name.
        step: String,
        /// The channel that was blocked.
        channel: Channel,
        /// The rule that blocked it.
        rule: String,
        /// Postponed to (UTC), or `None` when no allowed time was found.
        postponed_to: Option<DateTime<Utc>>,
    },
    /// A measure in force was undone.
    MeasureReversed {
        /// Case number.
        case: u32,
        /// The measure undone.
        measure: Measure,
        /// Why.
        reason: String,
        /// The outbox key of its effect.
        effect: Option<String>,
    },
    /// The case closed: the account cured.
    CaseClosed {
        /// Case number.
        case: u32,
        /// Why.
        reason: String,
    },
    /// A closed case re-opened (a payment was reversed) where it was.
    CaseReopened {
        /// Case number.
        case: u32,
        /// Why.
        reason: String,
    },
    /// A request (promise, plan, grant, statutory hold) was admitted within policy.
    RequestAdmitted {
        /// The request's event.
        request: EventId,
        /// What was admitted, in words.
        detail: String,
        /// A hold's last day, fixed when admitted.
        #[serde(default)]
        until: Option<NaiveDate>,
        /// The outbox key of its effect (a grant booked in billing).
        #[serde(default)]
        effect: Option<String>,
    },
    /// A request was refused: outside policy. It has no effect.
    RequestRefused {
        /// The request's event.
        request: EventId,
        /// Which limit it broke.
        reason: String,
    },
    /// A dispute was assigned to a team with a due date.
    DisputeAssigned {
        /// The dispute.
        dispute: DisputeId,
        /// The team's queue.
        team: String,
        /// Resolve by.
        due_on: NaiveDate,
        /// The outbox key of the work item.
        #[serde(default)]
        effect: Option<String>,
    },
    /// A credit note was issued for an upheld dispute.
    CreditNoteIssued {
        /// The dispute.
        dispute: DisputeId,
        /// Amount credited, minor units.
        amount_minor: i64,
        /// The outbox key of its effect.
        effect: Option<String>,
    },
    /// A promise was kept (paid in full by its date plus grace).
    PromiseKept {
        /// The promise.
        promise: PromiseId,
    },
    /// A promise was broken.
    PromiseBroken {
        /// The promise.
        promise: PromiseId,
        /// Paid of the amount promised, minor units.
        paid_minor: i64,
    },
    /// A plan instalment was missed past its grace: the plan is breached, dunning resumes.
    PlanBreached {
        /// The plan.
        plan: String,
        /// The instalment's date.
        due_on: NaiveDate,
        /// Owed under the plan by then and paid, minor units.
        owed_minor: i64,
        /// Paid by then, minor units.
        paid_minor: i64,
    },
    /// Every instalment of a plan was paid.
    PlanCompleted {
        /// The plan.
        plan: String,
    },
    /// A work item was put in a team's queue (a hardship review, a follow-up).
    WorkQueued {
        /// The item's key on the account (it is queued once).
        item: String,
        /// The team.
        team: String,
        /// When it is due (UTC).
        due_at: DateTime<Utc>,
        /// What to do, in words.
        detail: String,
        /// The outbox key of the queue item.
        effect: Option<String>,
    },
}

/// One instalment of a payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instalment {
    /// Its date.
    pub due_on: NaiveDate,
    /// Amount, minor units of the account's currency.
    pub amount_minor: i64,
}

/// What an agent may grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Grant {
    /// An invoice's due date moved later.
    MoveDueDate {
        /// The invoice.
        invoice: InvoiceId,
        /// The new due date.
        to: NaiveDate,
    },
    /// A late fee charged by a step of a case waived.
    WaiveFee {
        /// The case.
        case: u32,
        /// The step that charged it (`scenario/step`).
        step: String,
    },
    /// A goodwill credit on the account.
    GoodwillCredit {
        /// Amount, minor units.
        amount_minor: i64,
    },
}

impl Grant {
    /// The grant's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Grant::MoveDueDate { .. } => "move_due_date",
            Grant::WaiveFee { .. } => "waive_fee",
            Grant::GoodwillCredit { .. } => "goodwill_credit",
        }
    }
}

/// What came of a work-queue call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// Spoke with the customer.
    Reached,
    /// Nobody answered.
    NoAnswer,
    /// The customer promised to pay (send the promise as its own action).
    Promise,
    /// The customer refused to pay.
    Refused,
    /// The number is not the customer's.
    WrongNumber,
    /// The customer declared hardship (send the declaration as its own action).
    HardshipDeclared,
}

/// Where a case placed with an agency stands, as the agency reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyStatus {
    /// The customer was reached.
    Contacted,
    /// An arrangement to pay was made.
    Arrangement,
    /// The customer disputes the debt.
    Disputed,
    /// The agency cannot collect: the case returns.
    Uncollectable,
    /// The agency returns the case.
    Returned,
}

impl AgencyStatus {
    /// Whether the case comes back from the agency.
    pub fn returns(self) -> bool {
        matches!(self, AgencyStatus::Uncollectable | AgencyStatus::Returned)
    }
}

/// The stages of a legal case, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStage {
    /// A formal notice was sent.
    NoticeSent,
    /// The claim was filed.
    Filed,
    /// Judgement obtained.
    Judgement,
    /// Enforcement.
    Enforcement,
    /// Closed (paid, settled or abandoned).
    Closed,
}

impl LegalStage {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LegalStage::NoticeSent => "notice_sent",
            LegalStage::Filed => "filed",
            LegalStage::Judgement => "judgement",
            LegalStage::Enforcement => "enforcement",
            LegalStage::Closed => "closed",
        }
    }
}

/// Kinds of statutory hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// A standard breathing space.
    BreathingSpace,
    /// A mental-health crisis hold.
    Crisis,
    /// Another kind (logs written before kinds were fixed): it lasts until its declared day.
    #[serde(other)]
    Other,
}

impl HoldKind {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::BreathingSpace => "breathing_space",
            HoldKind::Crisis => "crisis",
            HoldKind::Other => "other",
        }
    }
}

/// A contact as the engine recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// The channel.
    pub channel: Channel,
    /// The tone.
    pub tone: Tone,
    /// When it is sent (UTC).
    pub send_at: DateTime<Utc>,
    /// The template key.
    pub template: String,
    /// Whether the recommender chose it (rather than the step).
    pub recommended: bool,
    /// The probability with which the recommender chose it.
    pub propensity: Option<f64>,
}

impl EventBody {
    /// Whether the engine writes this kind of event.
    pub fn is_engine(&self) -> bool {
        matches!(
            self,
            EventBody::CaseOpened { .. }
                | EventBody::StepExecuted { .. }
                | EventBody::StepSkipped { .. }
                | EventBody::ContactBlocked { .. }
                | EventBody::MeasureReversed { .. }
                | EventBody::CaseClosed { .. }
                | EventBody::CaseReopened { .. }
                | EventBody::RequestAdmitted { .. }
                | EventBody::RequestRefused { .. }
                | EventBody::DisputeAssigned { .. }
                | EventBody::CreditNoteIssued { .. }
                | EventBody::PromiseKept { .. }
                | EventBody::PromiseBroken { .. }
                | EventBody::PlanBreached { .. }
                | EventBody::PlanCompleted { .. }
                | EventBody::WorkQueued { .. }
        )
    }

    /// The event's type name, as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::AccountOpened { .. } => "account_opened",
            EventBody::RiskAssessed { .. } => "risk_assessed",
            EventBody::InvoiceIssued { .. } => "invoice_issued",
            EventBody::PaymentReceived { .. } => "payment_received",
            EventBody::PaymentReversed { .. } => "payment_reversed",
            EventBody::DisputeOpened { .. } => "dispute_opened",
            EventBody::DisputeResolved { .. } => "dispute_resolved",
            EventBody::PromiseMade { .. } => "promise_made",
            EventBody::PlanAgreed { .. } => "plan_agreed",
            EventBody::AgencyReported { .. } => "agency_reported",
            EventBody::LegalStageRecorded { .. } => "legal_stage_recorded",
            EventBody::GrantApplied { .. } => "grant_applied",
            EventBody::PlanInstalmentMissed { .. } => "plan_instalment_missed",
            EventBody::ContactMade { .. } => "contact_made",
            EventBody::ContactOutcome { .. } => "contact_outcome",
            EventBody::ConsentChanged { .. } => "consent_changed",
            EventBody::HardshipDeclared { .. } => "hardship_declared",
            EventBody::HardshipEnded => "hardship_ended",
            EventBody::StatutoryHold { .. } => "statutory_hold",
            EventBody::Paused { .. } => "paused",
            EventBody::Resumed { .. } => "resumed",
            EventBody::ScenarioAssigned { .. } => "scenario_assigned",
            EventBody::CaseOpened { .. } => "case_opened",
            EventBody::StepExecuted { .. } => "step_executed",
            EventBody::StepSkipped { .. } => "step_skipped",
            EventBody::ContactBlocked { .. } => "contact_blocked",
            EventBody::MeasureReversed { .. } => "measure_reversed",
            EventBody::CaseClosed { .. } => "case_closed",
            EventBody::CaseReopened { .. } => "case_reopened",
            EventBody::RequestAdmitted { .. } => "request_admitted",
            EventBody::RequestRefused { .. } => "request_refused",
            EventBody::DisputeAssigned { .. } => "dispute_assigned",
            EventBody::CreditNoteIssued { .. } => "credit_note_issued",
            EventBody::PromiseKept { .. } => "promise_kept",
            EventBody::PromiseBroken { .. } => "promise_broken",
            EventBody::PlanBreached { .. } => "plan_breached",
            EventBody::PlanCompleted { .. } => "plan_completed",
            EventBody::WorkQueued { .. } => "work_queued",
        }
    }
}

/// An event from outside that cannot be taken, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {id}: {reason}")]
pub struct InvalidEvent {
    /// The event's id.
    pub id: String,
    /// What is wrong.
    pub reason: String,
}

impl Event {
    /// Checks an event that came from outside the engine: not one of the engine's own kinds, no
    /// negative or zero amounts.
    pub fn check_external(&self) -> Result<(), InvalidEvent> {
        let bad = |reason: String| {
            Err(InvalidEvent {
                id: self.id.to_string(),
                reason,
            })
        };
        if !self.at.timestamp_subsec_nanos().is_multiple_of(1000) {
            return bad("at must have at most microsecond precision".into());
        }
        if !(1970..=2200).contains(&self.at.year()) {
            return bad(format!("at {} is not between 1970 and 2200", self.at));
        }
        // Dates an event carries lie within ten years of it.
        let day = self.at.date_naive();
        let far = |d: &NaiveDate| (*d - day).num_days().abs() > MAX_DAYS_AWAY;
        let dates: Vec<(&str, &NaiveDate)> = match &self.body {
            EventBody::InvoiceIssued { due_on, .. } | EventBody::PromiseMade { due_on, .. } => {
                vec![("due_on", due_on)]
            }
            EventBody::PlanAgreed { instalments, .. } => {
                if instalments.len() > MAX_INSTALMENTS {
                    return bad(format!(
                        "a plan has at most {MAX_INSTALMENTS} instalments, got {}",
                        instalments.len()
                    ));
                }
                instalments
                    .iter()
                    .map(|i| ("instalments.due_on", &i.due_on))
                    .collect()
            }
            EventBody::HardshipDeclared {
                review_on: Some(d), ..
            } => vec![("review_on", d)],
            EventBody::StatutoryHold { until: Some(d), .. } => vec![("until", d)],
            EventBody::GrantApplied {
                grant: Grant::MoveDueDate { to, .. },
                ..
            } => vec![("grant.to", to)],
            _ => Vec::new(),
        };
        if let Some((field, d)) = dates.into_iter().find(|(_, d)| far(d)) {
            return bad(format!(
                "{field} {d} is more than {MAX_DAYS_AWAY} days from the event's date {day}"
            ));
        }
        if let Some((a, b)) = self.id.as_str().split_once('.')
            && !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
        {
            return bad(format!(
                "ids of the form <digits>.<digits> are the engine's own; choose another id than {}",
                self.id
            ));
        }
        if self.is_engine() {
            return bad(format!(
                "{} events are written by the engine, not ingested",
                self.body.kind()
            ));
        }
        let amount = match &self.body {
            EventBody::InvoiceIssued { amount_minor, .. }
            | EventBody::PaymentReceived { amount_minor, .. }
            | EventBody::DisputeOpened { amount_minor, .. }
            | EventBody::PromiseMade { amount_minor, .. } => Some(*amount_minor),
            _ => None,
        };
        let mut amounts: Vec<i64> = amount.into_iter().collect();
        match &self.body {
            EventBody::PlanAgreed {
                plan, instalments, ..
            } => {
                if plan.is_empty() || plan.len() > MAX_EVENT_ID {
                    return bad(format!("plan must have 1 to {MAX_EVENT_ID} characters"));
                }
                if instalments.is_empty() {
                    return bad("a plan needs at least one instalment".into());
                }
                if instalments.windows(2).any(|w| w[1].due_on <= w[0].due_on) {
                    return bad("instalment dates must increase".into());
                }
                amounts.extend(instalments.iter().map(|i| i.amount_minor));
            }
            EventBody::LegalStageRecorded { cost_minor, .. } if *cost_minor != 0 => {
                amounts.push(*cost_minor);
            }
            EventBody::GrantApplied {
                grant, by, role, ..
            } => {
                if by.trim().is_empty() || role.trim().is_empty() {
                    return bad("a grant names who (by) and their role".into());
                }
                if let Grant::GoodwillCredit { amount_minor } = grant {
                    amounts.push(*amount_minor);
                }
            }
            _ => {}
        }
        if let Some(a) = amounts
            .into_iter()
            .find(|a| !(1..=MAX_AMOUNT_MINOR).contains(a))
        {
            return bad(format!(
                "amount_minor must be positive and at most {MAX_AMOUNT_MINOR}, got {a}"
            ));
        }
        if let EventBody::AccountOpened { language, .. } = &self.body
            && (language.is_empty() || language.len() > 35)
        {
            return bad(format!("language must be a BCP 47 tag, got {language:?}"));
        }
        Ok(())
    }
}
