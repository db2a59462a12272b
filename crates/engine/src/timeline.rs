//! An account's timeline: every event, decision, action and reversal in order, each with the
//! reason, in UTC and in the customer's local time — what an agent or a customer who contests a
//! measure is shown.

use chrono::{DateTime, NaiveDateTime, Utc};
use forbear_core::Money;
use serde::Serialize;

use crate::event::{Event, EventBody};
use crate::state::AccountState;

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The event's id.
    pub id: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// When, in the customer's time zone.
    pub local: Option<NaiveDateTime>,
    /// Who: `engine` or `external`.
    pub source: &'static str,
    /// The event type.
    pub kind: &'static str,
    /// What happened and why, in words.
    pub summary: String,
}

/// The timeline of an account's log (any order).
pub fn timeline(events: &[Event]) -> Vec<Entry> {
    let mut log: Vec<&Event> = events.iter().collect();
    log.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    log.dedup_by(|a, b| a.id == b.id);
    let Some(first) = log.first() else {
        return Vec::new();
    };
    let state = AccountState::replay(first.account, events.iter(), None);
    let zone = state.profile.as_ref().map(|p| p.time_zone);
    let currency = state.profile.as_ref().map(|p| p.currency);
    let money = |m: i64| match currency {
        Some(c) => Money::new(m, c).to_string(),
        None => m.to_string(),
    };
    log.into_iter()
        .map(|e| Entry {
            id: e.id.to_string(),
            at: e.at,
            local: zone.map(|z| z.local(e.at)),
            source: if e.is_engine() { "engine" } else { "external" },
            kind: e.body.kind(),
            summary: summary(&e.body, &money),
        })
        .collect()
}

/// What an event says, in words (amounts through `money`).
pub(crate) fn summary(b: &EventBody, money: &dyn Fn(i64) -> String) -> String {
    match b {
        EventBody::AccountOpened {
            customer_type,
            service_level,
            time_zone,
            currency,
            ..
        } => format!(
            "account: {customer_type}, {service_level}, {} ({currency})",
            time_zone.name()
        ),
        EventBody::RiskAssessed { band } => format!("risk band {}", band.as_str()),
        EventBody::InvoiceIssued {
            invoice,
            service,
            amount_minor,
            due_on,
            ..
        } => format!(
            "invoice {invoice} for service {service}: {} due {due_on}",
            money(*amount_minor)
        ),
        EventBody::PaymentReceived {
            payment,
            invoice,
            amount_minor,
            ..
        } => match invoice {
            Some(i) => format!(
                "payment {payment} of {} for invoice {i}",
                money(*amount_minor)
            ),
            None => format!("payment {payment} of {}", money(*amount_minor)),
        },
        EventBody::AgencyReported {
            agency,
            status,
            note,
        } => format!(
            "agency {agency} reports {}{}",
            format!("{status:?}").to_lowercase(),
            note.as_ref().map_or(String::new(), |n| format!(": {n}"))
        ),
        EventBody::LegalStageRecorded {
            lawyer,
            stage,
            cost_minor,
            note,
        } => format!(
            "legal: {} by {lawyer}, cost {}{}",
            stage.as_str().replace('_', " "),
            money(*cost_minor),
            note.as_ref().map_or(String::new(), |n| format!(" — {n}"))
        ),
        EventBody::PaymentReversed { payment } => format!("payment {payment} reversed (bounced)"),
        EventBody::DisputeOpened {
            dispute,
            invoice,
            amount_minor,
            by,
        } => format!(
            "dispute {dispute} on invoice {invoice} for {}{}: dunning on it held",
            money(*amount_minor),
            by_whom(by)
        ),
        EventBody::DisputeResolved {
            dispute,
            upheld,
            by,
            note,
        } => format!(
            "dispute {dispute} {}{}{}",
            if *upheld {
                "upheld: amount credited"
            } else {
                "rejected: dunning resumes"
            },
            by_whom(by),
            note.as_ref().map_or(String::new(), |n| format!(" — {n}"))
        ),
        EventBody::PromiseMade {
            promise,
            amount_minor,
            due_on,
            by,
        } => format!(
            "promise {promise}: {} by {due_on}{}",
            money(*amount_minor),
            by_whom(by)
        ),
        EventBody::PlanAgreed {
            plan,
            instalments,
            by,
        } => {
            let total: i64 = instalments.iter().map(|i| i.amount_minor).sum();
            format!(
                "plan {plan}: {} in {} instalments, {} to {}{}",
                money(total),
                instalments.len(),
                instalments
                    .first()
                    .map_or(String::new(), |i| i.due_on.to_string()),
                instalments
                    .last()
                    .map_or(String::new(), |i| i.due_on.to_string()),
                by_whom(by)
            )
        }
        EventBody::GrantApplied {
            grant,
            by,
            role,
            reason,
        } => {
            let what = match grant {
                crate::event::Grant::MoveDueDate { invoice, to } => {
                    format!("due date of invoice {invoice} moved to {to}")
                }
                crate::event::Grant::WaiveFee { case, step } => {
                    format!("fee of step {step} (case {case}) waived")
                }
                crate::event::Grant::GoodwillCredit { amount_minor } => {
                    format!("goodwill credit of {}", money(*amount_minor))
                }
            };
            format!("grant by {by} ({role}): {what} — {reason}")
        }
        EventBody::PlanInstalmentMissed { plan } => format!("instalment of plan {plan} missed"),
        EventBody::ContactMade { channel, .. } => {
            format!("{channel} contact made outside the engine")
        }
        EventBody::ContactOutcome {
            channel,
            conversation,
            opted_out,
            complaint,
            result,
            ..
        } => {
            let mut parts = Vec::new();
            let r = result.map(|r| format!("{r:?}").to_lowercase());
            if let Some(r) = &r {
                parts.push(r.as_str());
            }
            if *conversation {
                parts.push("conversation about the debt");
            }
            if *opted_out {
                parts.push("opted out");
            }
            if *complaint {
                parts.push("complaint");
            }
            format!("{channel} outcome: {}", parts.join(", "))
        }
        EventBody::ConsentChanged { channel, consent } => format!(
            "consent to {channel} {}",
            if *consent { "given" } else { "withdrawn" }
        ),
        EventBody::HardshipDeclared {
            reason,
            review_on,
            by,
        } => format!(
            "hardship declared ({reason}){}, review {}: forbearance",
            by_whom(by),
            review_on.map_or("after the policy's period".to_string(), |d| format!(
                "on {d}"
            ))
        ),
        EventBody::HardshipEnded => "hardship lifted after review".into(),
        EventBody::StatutoryHold { kind, until } => match until {
            Some(u) => format!(
                "statutory hold ({}) declared, treatment until {u}",
                kind.as_str()
            ),
            None => format!("statutory hold ({}) declared", kind.as_str()),
        },
        EventBody::Paused { by, reason } => format!("paused by {by}: {reason}"),
        EventBody::Resumed { by } => format!("resumed by {by}"),
        EventBody::ScenarioAssigned { by, scenario } => match scenario {
            Some(s) => format!("moved to scenario {s} by {by}"),
            None => format!("scenario assignment cleared by {by}"),
        },
        EventBody::CaseOpened {
            case,
            scenario,
            reason,
        } => format!("case {case} opened under scenario {scenario}: {reason}"),
        EventBody::StepExecuted {
            step,
            action,
            services,
            contact,
            amount_minor,
            target,
            reason,
            ..
        } => {
            let what = match (contact, amount_minor) {
                (Some(c), _) => format!(
                    "{action}: {} {} at {}, template {}",
                    c.channel, c.tone, c.send_at, c.template
                ),
                (None, Some(a)) => format!("{action}: {}", money(*a)),
                _ if !services.is_empty() => {
                    let s: Vec<String> = services.iter().map(ToString::to_string).collect();
                    format!("{action} on service {}", s.join(", "))
                }
                _ => match target {
                    Some(t) => format!("{action} ({t})"),
                    None => action.to_string(),
                },
            };
            format!("step {step}: {what} — {reason}")
        }
        EventBody::StepSkipped { step, reason, .. } => format!("step {step} skipped: {reason}"),
        EventBody::ContactBlocked {
            step,
            channel,
            rule,
            postponed_to,
            ..
        } => match postponed_to {
            Some(t) => format!("step {step}: {channel} blocked ({rule}); postponed to {t}"),
            None => {
                format!("step {step}: {channel} blocked ({rule}); no allowed time, next channel")
            }
        },
        EventBody::MeasureReversed {
            measure, reason, ..
        } => format!("{}: {reason}", describe(measure)),
        EventBody::CaseClosed { case, reason } => format!("case {case} closed: {reason}"),
        EventBody::CaseReopened { case, reason } => format!("case {case} re-opened: {reason}"),
        EventBody::RequestAdmitted { detail, .. } => format!("admitted: {detail}"),
        EventBody::RequestRefused { request, reason } => {
            format!("request {request} refused: {reason}")
        }
        EventBody::DisputeAssigned {
            dispute,
            team,
            due_on,
            ..
        } => format!("dispute {dispute} assigned to {team}, to resolve by {due_on}"),
        EventBody::CreditNoteIssued {
            dispute,
            amount_minor,
            ..
        } => format!(
            "credit note of {} for dispute {dispute}",
            money(*amount_minor)
        ),
        EventBody::PromiseKept { promise } => format!("promise {promise} kept"),
        EventBody::PromiseBroken {
            promise,
            paid_minor,
        } => format!(
            "promise {promise} broken ({} paid): escalation resumes",
            money(*paid_minor)
        ),
        EventBody::PlanBreached {
            plan,
            due_on,
            owed_minor,
            paid_minor,
        } => format!(
            "plan {plan} breached: instalment of {due_on} missed ({} owed by then, {} paid); dunning resumes",
            money(*owed_minor),
            money(*paid_minor)
        ),
        EventBody::PlanCompleted { plan } => {
            format!("plan {plan} completed: every instalment paid")
        }
        EventBody::WorkQueued {
            team,
            due_at,
            detail,
            ..
        } => format!("queued for {team}, due {due_at}: {detail}"),
    }
}

fn by_whom(by: &Option<String>) -> String {
    by.as_ref().map_or(String::new(), |b| format!(" (by {b})"))
}

fn describe(m: &crate::action::Measure) -> String {
    use crate::action::Measure;
    match m {
        Measure::Barring { service, .. } => format!("{} service {service}", m.reversal()),
        Measure::Fee { step, .. } => format!("fee of step {step} waived"),
        Measure::Agency { agency, .. } => format!("recalled from agency {agency}"),
        Measure::Legal {
            lawyer: Some(l), ..
        } => format!("legal referral withdrawn from {l}"),
        Measure::PendingContact {
            effect, send_at, ..
        } => {
            format!("scheduled contact {effect} for {send_at} cancelled")
        }
        other => other.reversal().replace('_', " "),
    }
}
