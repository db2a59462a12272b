//! What people ask of a case — an agent, the customer through the self-service link, or an API
//! client: pause or resume dunning, move to a scenario, take a promise, agree a plan, open or
//! resolve a dispute, grant something, declare hardship or a statutory hold, record what came
//! of a work-queue call.
//!
//! [`prepare`] turns one [`Action`] into the event to store, checked in full first: the ids it
//! names exist, and a request the policy limits (promise, plan, grant, hold) passes
//! [`crate::decide::admission`] — the same judgement the engine makes when it sees the event —
//! so the HTTP API and the CLI answer with the limit broken instead of storing a request that
//! would be refused.

use chrono::{DateTime, NaiveDate, Utc};
use forbear_core::{Channel, DisputeId, InvoiceId, PaymentId, PromiseId};
use serde::Deserialize;

use crate::decide::admission;
use crate::event::{
    AgencyStatus, CallResult, Event, EventBody, EventId, Grant, HoldKind, Instalment, LegalStage,
    MAX_AMOUNT_MINOR,
};
use crate::scenario::ScenarioSet;
use crate::state::AccountState;

/// One action on an account, as the API and the CLI receive it (JSON with an `action` tag).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Pause dunning.
    Pause {
        /// Who.
        by: String,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Resume dunning.
    Resume {
        /// Who.
        by: String,
    },
    /// Move to a scenario (none: back to segment rules).
    Assign {
        /// Who.
        by: String,
        /// The scenario.
        #[serde(default)]
        scenario: Option<String>,
    },
    /// A promise to pay.
    Promise {
        /// Who took it (`customer` for self-service).
        by: String,
        /// Amount, minor units.
        amount_minor: i64,
        /// By when.
        due_on: NaiveDate,
    },
    /// A payment plan.
    Plan {
        /// Who agreed it.
        by: String,
        /// Its reference (default: `plan-<n>`).
        #[serde(default)]
        plan: Option<String>,
        /// Instalments, the down payment first.
        instalments: Vec<Instalment>,
    },
    /// Open a dispute on an invoice (all of it, or an amount).
    Dispute {
        /// Who (`customer`, `agent:<name>`, a client's name).
        by: String,
        /// The invoice.
        invoice: InvoiceId,
        /// The amount disputed (default: the whole invoice).
        #[serde(default)]
        amount_minor: Option<i64>,
    },
    /// Resolve a dispute.
    ResolveDispute {
        /// Who.
        by: String,
        /// The dispute.
        dispute: DisputeId,
        /// Upheld (credit note) or rejected (dunning resumes with a notice).
        upheld: bool,
        /// The resolution's note.
        #[serde(default)]
        note: Option<String>,
    },
    /// A grant within the role's limits.
    Grant {
        /// Who.
        by: String,
        /// Their role.
        role: String,
        /// Why.
        reason: String,
        /// What.
        grant: Grant,
    },
    /// Declare hardship.
    Hardship {
        /// Who.
        by: String,
        /// Why (one of the policy's reasons).
        reason: String,
        /// Review date (default: the policy's period).
        #[serde(default)]
        review_on: Option<NaiveDate>,
    },
    /// End hardship after review.
    EndHardship {
        /// Who.
        by: String,
    },
    /// A statutory hold.
    StatutoryHold {
        /// Who recorded it.
        by: String,
        /// Breathing space or crisis.
        kind: HoldKind,
        /// Crisis: the treatment's last day.
        #[serde(default)]
        until: Option<NaiveDate>,
    },
    /// An agency reports on a case placed with it (`by` is the agency).
    AgencyReport {
        /// The agency.
        by: String,
        /// Where the case stands.
        status: AgencyStatus,
        /// A note.
        #[serde(default)]
        note: Option<String>,
    },
    /// An agency passes on a payment it collected (`by` is the agency).
    AgencyPayment {
        /// The agency.
        by: String,
        /// The payment's id.
        payment: PaymentId,
        /// Amount, minor units of the account's currency.
        amount_minor: i64,
    },
    /// A lawyer records a stage of the legal case (`by` is the lawyer).
    LegalStage {
        /// The lawyer.
        by: String,
        /// The stage.
        stage: LegalStage,
        /// Its cost, minor units.
        #[serde(default)]
        cost_minor: i64,
        /// A note.
        #[serde(default)]
        note: Option<String>,
    },
    /// What came of a call from a work queue: it feeds the contacts history.
    Outcome {
        /// The agent.
        by: String,
        /// The result.
        result: CallResult,
        /// The channel (default: agent call).
        #[serde(default)]
        channel: Option<Channel>,
        /// The customer complained.
        #[serde(default)]
        complaint: bool,
        /// The customer opted out of the channel.
        #[serde(default)]
        opted_out: bool,
        /// The work-queue item worked (its key), which leaves the queue.
        #[serde(default)]
        item: Option<String>,
    },
}

/// An action that cannot be taken: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Refusal {
    /// The field at fault (`amount_minor`, `instalments[1]`, …), or `action` for the whole.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn refuse<T>(field: &str, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        field: field.into(),
        reason: reason.into(),
    })
}

/// The free texts of an action (who, why, notes, roles), to check before they are stored.
fn texts(a: &Action) -> Vec<(&'static str, &str)> {
    let mut v: Vec<(&'static str, &str)> = Vec::new();
    match a {
        Action::Pause { by, reason } => {
            v.extend([("by", by.as_str()), ("reason", reason.as_str())])
        }
        Action::Grant {
            by, role, reason, ..
        } => v.extend([
            ("by", by.as_str()),
            ("role", role.as_str()),
            ("reason", reason.as_str()),
        ]),
        Action::Hardship { by, reason, .. } => {
            v.extend([("by", by.as_str()), ("reason", reason.as_str())]);
        }
        Action::ResolveDispute { by, note, .. }
        | Action::AgencyReport { by, note, .. }
        | Action::LegalStage { by, note, .. } => {
            v.push(("by", by.as_str()));
            if let Some(n) = note {
                v.push(("note", n.as_str()));
            }
        }
        Action::Resume { by }
        | Action::Assign { by, .. }
        | Action::Promise { by, .. }
        | Action::Plan { by, .. }
        | Action::Dispute { by, .. }
        | Action::EndHardship { by }
        | Action::StatutoryHold { by, .. }
        | Action::AgencyPayment { by, .. }
        | Action::Outcome { by, .. } => v.push(("by", by.as_str())),
    }
    v
}

/// The open case is placed with `agency`.
fn placed_with(state: &AccountState, agency: &str) -> Result<(), Refusal> {
    let placed = state.open_case().is_some_and(|c| {
        c.measures
            .iter()
            .any(|m| matches!(m, crate::action::Measure::Agency { agency: a, .. } if a == agency))
    });
    if placed {
        Ok(())
    } else {
        refuse(
            "by",
            format!("the account's case is not placed with {agency}"),
        )
    }
}

/// An action turned into its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The event to store (its id is derived from the request, so a retry is a duplicate).
    pub event: Event,
    /// What the engine will do with it, in words.
    pub detail: String,
    /// Work-queue items it closes once stored (a resolved dispute's, an ended hardship's
    /// review).
    pub closes: Vec<String>,
}

/// Prepares `action` on the account whose state (at `now`) is `state`.
pub fn prepare(
    state: &AccountState,
    set: &ScenarioSet,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Prepared, Refusal> {
    if state.profile.is_none() {
        return refuse(
            "account",
            "the account is not known yet (no account_opened)",
        );
    }
    let by = match &action {
        Action::Pause { by, .. }
        | Action::Resume { by }
        | Action::Assign { by, .. }
        | Action::Promise { by, .. }
        | Action::Plan { by, .. }
        | Action::Dispute { by, .. }
        | Action::ResolveDispute { by, .. }
        | Action::Grant { by, .. }
        | Action::Hardship { by, .. }
        | Action::EndHardship { by }
        | Action::StatutoryHold { by, .. }
        | Action::AgencyReport { by, .. }
        | Action::AgencyPayment { by, .. }
        | Action::LegalStage { by, .. }
        | Action::Outcome { by, .. } => by.trim().to_string(),
    };
    if by.is_empty() || by.len() > 100 {
        return refuse("by", "who acts must be named (1 to 100 characters)");
    }
    for (field, text) in texts(&action) {
        if text.len() > 1000 || text.chars().any(char::is_control) {
            return refuse(field, "at most 1000 characters, without control characters");
        }
    }
    let acc = state.account;
    let micros = now.timestamp_micros();
    let amount_ok = |field: &str, a: i64| {
        if (1..=MAX_AMOUNT_MINOR).contains(&a) {
            Ok(())
        } else {
            refuse(
                field,
                format!("must be positive and at most {MAX_AMOUNT_MINOR}, got {a}"),
            )
        }
    };
    let (id, body, detail): (String, EventBody, String) = match action {
        Action::Pause { reason, .. } => (
            format!("api:{acc}:pause:{micros}"),
            EventBody::Paused { by, reason },
            "dunning paused".into(),
        ),
        Action::Resume { .. } => (
            format!("api:{acc}:resume:{micros}"),
            EventBody::Resumed { by },
            "dunning resumed".into(),
        ),
        Action::Assign { scenario, .. } => {
            if let Some(s) = &scenario
                && set.get(s).is_none()
            {
                return refuse("scenario", format!("no scenario {s:?} in the set in force"));
            }
            (
                format!("api:{acc}:assign:{micros}"),
                EventBody::ScenarioAssigned {
                    by,
                    scenario: scenario.clone(),
                },
                match scenario {
                    Some(s) => format!("moved to scenario {s}"),
                    None => "back to segment rules".into(),
                },
            )
        }
        Action::Promise {
            amount_minor,
            due_on,
            ..
        } => {
            amount_ok("amount_minor", amount_minor)?;
            let n = state.promises.keys().map(|p| p.get()).max().unwrap_or(0) + 1;
            let promise = PromiseId::new(n).map_err(|e| Refusal {
                field: "promise".into(),
                reason: e.to_string(),
            })?;
            (
                format!("api:{acc}:promise:{n}"),
                EventBody::PromiseMade {
                    promise,
                    amount_minor,
                    due_on,
                    by: Some(by),
                },
                String::new(),
            )
        }
        Action::Plan {
            plan, instalments, ..
        } => {
            if instalments.is_empty() {
                return refuse("instalments", "a plan needs at least one instalment");
            }
            for (i, x) in instalments.iter().enumerate() {
                amount_ok(&format!("instalments[{i}].amount_minor"), x.amount_minor)?;
                if i > 0 && x.due_on <= instalments[i - 1].due_on {
                    return refuse(
                        &format!("instalments[{i}].due_on"),
                        "instalment dates must increase",
                    );
                }
            }
            let name = plan.unwrap_or_else(|| format!("plan-{}", state.plans.len() + 1));
            if EventId::new(format!("api:{acc}:plan:{name}")).is_err() || name.contains(':') {
                return refuse("plan", "a plan reference is printable ASCII without ':'");
            }
            if state.plans.contains_key(&name) {
                return refuse("plan", format!("plan {name} already exists"));
            }
            (
                format!("api:{acc}:plan:{name}"),
                EventBody::PlanAgreed {
                    plan: name,
                    instalments,
                    by: Some(by),
                },
                String::new(),
            )
        }
        Action::Dispute {
            invoice,
            amount_minor,
            ..
        } => {
            let Some(inv) = state.invoices.get(&invoice) else {
                return refuse("invoice", format!("no invoice {invoice} on the account"));
            };
            // What other disputes of the invoice (open, or upheld and credited) leave.
            let taken: i64 = state
                .disputes
                .values()
                .filter(|d| d.invoice == invoice && d.resolved.is_none_or(|(upheld, _)| upheld))
                .map(|d| d.amount_minor)
                .sum();
            let free = (inv.amount_minor - taken).max(0);
            if free == 0 {
                return refuse(
                    "invoice",
                    format!("invoice {invoice} is disputed in full already"),
                );
            }
            let amount = amount_minor.unwrap_or(free);
            amount_ok("amount_minor", amount)?;
            if amount > free {
                return refuse(
                    "amount_minor",
                    format!(
                        "{amount} is more than the {free} of invoice {invoice} not already disputed"
                    ),
                );
            }
            let n = state.disputes.keys().map(|d| d.get()).max().unwrap_or(0) + 1;
            let dispute = DisputeId::new(n).map_err(|e| Refusal {
                field: "dispute".into(),
                reason: e.to_string(),
            })?;
            (
                format!("api:{acc}:dispute:{n}"),
                EventBody::DisputeOpened {
                    dispute,
                    invoice,
                    amount_minor: amount,
                    by: Some(by),
                },
                format!(
                    "dispute {n} on invoice {invoice}: dunning on the amount held, assigned to {} within {} days",
                    set.cases.disputes.team, set.cases.disputes.due_days
                ),
            )
        }
        Action::ResolveDispute {
            dispute,
            upheld,
            note,
            ..
        } => {
            let Some(d) = state.disputes.get(&dispute) else {
                return refuse("dispute", format!("no dispute {dispute} on the account"));
            };
            if d.resolved.is_some() {
                return refuse("dispute", format!("dispute {dispute} is already resolved"));
            }
            (
                format!("api:{acc}:dispute:{dispute}:resolved"),
                EventBody::DisputeResolved {
                    dispute,
                    upheld,
                    by: Some(by),
                    note,
                },
                if upheld {
                    "upheld: a credit note is issued and what the engine did for the amount is undone"
                        .into()
                } else {
                    "rejected: dunning resumes with a notice".into()
                },
            )
        }
        Action::Grant {
            role,
            reason,
            grant,
            ..
        } => {
            if reason.trim().is_empty() {
                return refuse("reason", "a grant says why");
            }
            if let Grant::GoodwillCredit { amount_minor } = &grant {
                amount_ok("grant.amount_minor", *amount_minor)?;
            }
            (
                format!("api:{acc}:grant:{}:{micros}", grant.kind()),
                EventBody::GrantApplied {
                    grant,
                    by,
                    role,
                    reason,
                },
                String::new(),
            )
        }
        Action::Hardship {
            reason, review_on, ..
        } => {
            let reasons = &set.cases.hardship.reasons;
            if !reasons.contains(&reason) {
                let known: Vec<&str> = reasons.iter().map(String::as_str).collect();
                return refuse(
                    "reason",
                    format!(
                        "{reason:?} is not a hardship reason; known: {}",
                        known.join(", ")
                    ),
                );
            }
            if let Some(r) = review_on
                && r <= state.local_date(now)
            {
                return refuse(
                    "review_on",
                    format!("the review date {r} is not in the future"),
                );
            }
            (
                format!("api:{acc}:hardship:{micros}"),
                EventBody::HardshipDeclared {
                    reason: reason.clone(),
                    review_on,
                    by: Some(by),
                },
                format!(
                    "hardship ({reason}): forbearance scenario, empathetic contact only, no service cut; review {}",
                    review_on.map_or_else(
                        || format!("in {} days", set.cases.hardship.review_days),
                        |d| format!("on {d}")
                    )
                ),
            )
        }
        Action::EndHardship { .. } => {
            if state.hardship.is_none() {
                return refuse("action", "no hardship is declared on the account");
            }
            (
                format!("api:{acc}:hardship-ended:{micros}"),
                EventBody::HardshipEnded,
                "hardship ended: the case's own scenario resumes".into(),
            )
        }
        Action::StatutoryHold { kind, until, .. } => (
            format!("api:{acc}:hold:{}:{micros}", kind.as_str()),
            EventBody::StatutoryHold { kind, until },
            String::new(),
        ),
        Action::AgencyReport { status, note, .. } => {
            placed_with(state, &by)?;
            (
                format!("api:{acc}:agency-report:{micros}"),
                EventBody::AgencyReported {
                    agency: by.clone(),
                    status,
                    note,
                },
                if status.returns() {
                    format!("the case returns from {by}")
                } else {
                    format!("{by}'s report recorded")
                },
            )
        }
        Action::AgencyPayment {
            payment,
            amount_minor,
            ..
        } => {
            placed_with(state, &by)?;
            amount_ok("amount_minor", amount_minor)?;
            if state.payments.contains_key(&payment) {
                return refuse("payment", format!("payment {payment} is already recorded"));
            }
            let currency = state
                .profile
                .as_ref()
                .map_or(forbear_core::Currency::EUR, |p| p.currency);
            (
                format!("api:{acc}:payment:{payment}"),
                EventBody::PaymentReceived {
                    payment,
                    invoice: None,
                    amount_minor,
                    currency,
                    via: Some(format!("agency:{by}")),
                },
                format!("payment collected by {by}"),
            )
        }
        Action::LegalStage {
            stage,
            cost_minor,
            note,
            ..
        } => {
            // The latest case referred to legal (a cured case keeps its referral when the
            // policy does not withdraw it, until the lawyer closes it).
            let legal = |c: &crate::state::Case| {
                c.measures.iter().find_map(|m| match m {
                    crate::action::Measure::Legal { lawyer } => Some(lawyer.clone()),
                    _ => None,
                })
            };
            let Some((case, lawyer)) = state
                .cases
                .iter()
                .rev()
                .find_map(|c| legal(c).map(|l| (c, l)))
            else {
                return refuse("action", "the account is not referred to legal");
            };
            if let Some(l) = lawyer
                && l != by
            {
                return refuse("by", format!("the case is assigned to {l}, not {by}"));
            }
            if !(0..=MAX_AMOUNT_MINOR).contains(&cost_minor) {
                return refuse("cost_minor", "must be 0 or positive");
            }
            if let Some((_, _, last, _)) = state
                .legal_stages
                .iter()
                .filter(|(at, ..)| *at >= case.opened_at)
                .max_by_key(|(_, _, st, _)| *st)
                && stage < *last
            {
                return refuse("stage", format!("the case is already at {}", last.as_str()));
            }
            (
                format!("api:{acc}:legal:{}:{micros}", stage.as_str()),
                EventBody::LegalStageRecorded {
                    lawyer: by,
                    stage,
                    cost_minor,
                    note,
                },
                format!("legal stage {}", stage.as_str()),
            )
        }
        Action::Outcome {
            result,
            channel,
            complaint,
            opted_out,
            item,
            ..
        } => {
            let channel = channel.unwrap_or(Channel::AgentCall);
            if item
                .as_ref()
                .is_some_and(|i| EventId::new(i.clone()).is_err())
            {
                return refuse("item", "not a queue item key");
            }
            (
                format!("api:{acc}:outcome:{micros}"),
                EventBody::ContactOutcome {
                    channel,
                    conversation: matches!(
                        result,
                        CallResult::Reached
                            | CallResult::Promise
                            | CallResult::Refused
                            | CallResult::HardshipDeclared
                    ),
                    // A wrong number is not called again.
                    opted_out: opted_out || result == CallResult::WrongNumber,
                    complaint,
                    // An answered call is a conversation, which counts as answered.
                    responded: false,
                    result: Some(result),
                    item,
                },
                format!("{channel} outcome recorded by {by}"),
            )
        }
    };
    let event = Event {
        id: EventId::new(id).map_err(|e| Refusal {
            field: "id".into(),
            reason: e,
        })?,
        account: acc,
        at: now,
        body,
    };
    event.check_external().map_err(|e| Refusal {
        field: "action".into(),
        reason: e.reason,
    })?;
    let mut next = state.clone();
    next.apply(&event);
    let closes: Vec<String> = match &event.body {
        EventBody::DisputeResolved { dispute, .. } => state
            .disputes
            .get(dispute)
            .and_then(|d| d.item.clone())
            .into_iter()
            .collect(),
        EventBody::HardshipEnded => state
            .hardship
            .as_ref()
            .map(|h| format!("hardship-review:{}:", h.since.timestamp_micros()))
            .map(|prefix| {
                state
                    .work
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(_, (_, _, key))| key.clone())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let detail = if next.requests.contains_key(&event.id) {
        match admission(&next, set, &event.id) {
            Ok(a) => a.detail,
            Err(reason) => return refuse("action", reason),
        }
    } else {
        detail
    };
    Ok(Prepared {
        event,
        detail,
        closes,
    })
}
