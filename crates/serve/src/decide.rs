//! What the endpoints do, without HTTP: score a row or an account, recommend the next contact,
//! decide eligibility — each checked, answered from one model snapshot, and (for decisions)
//! logged. Handlers and batch forms call these.

use crate::facts;
use crate::models::{RowScore, Snapshot, TabularModel};
use crate::state::AppState;
use chrono::Utc;
use forbear_api::{
    Alternative, BlockedChannel, EligibilityRequest, EligibilityResponse, Problem,
    RecommendRequest, RecommendResponse, RecommendedAction, ScoreRequest, ScoreResponse,
};
use forbear_data::Decision;
use forbear_models::eligibility::Applicant;
use forbear_strategy::Scored;
use forbear_strategy::recommend::DETAILED;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A decision made and logged: the answer, the model version that made it, and the answer as
/// the JSON the log holds (sent as is by the single-item endpoints).
#[derive(Debug, Clone)]
pub struct Decided<T> {
    /// The answer.
    pub response: T,
    /// The deciding model's version.
    pub version: String,
    /// `response` as JSON.
    pub json: String,
}

impl<T> Decided<T> {
    /// The answer and the version, for batches.
    pub fn parts(self) -> (T, String) {
        (self.response, self.version)
    }
}

/// Reasons returned when the request does not say.
pub const DEFAULT_REASONS: u8 = 4;

fn model<'a>(snap: &'a Snapshot, name: Option<&str>) -> Result<&'a Arc<TabularModel>, Problem> {
    let name = name.unwrap_or("risk");
    snap.models.get(name).ok_or_else(|| {
        let known: Vec<&str> = snap.models.keys().map(String::as_str).collect();
        let mut p = Problem::invalid(
            "model",
            format!(
                "no model {name:?} is served; served: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        );
        if name == "risk" && known.is_empty() {
            p.status = 503;
        }
        p
    })
}

/// A row and where it came from: a request's features, or an account's facts.
fn row_of(
    m: &TabularModel,
    features: Option<&forbear_api::Features>,
    account: Option<&forbear_api::AccountState>,
) -> Result<(Vec<f64>, Option<facts::Checked>), Problem> {
    match (features, account) {
        (Some(f), None) => Ok((m.encode(f)?, None)),
        (None, Some(a)) => {
            if m.bundle.kind != "risk" {
                return Err(Problem::invalid(
                    "account",
                    format!(
                        "model {} is a {} model: it scores features, not an account's facts; send \"features\"",
                        m.name, m.bundle.kind
                    ),
                ));
            }
            let checked = facts::check(a, "account")?;
            Ok((checked.risk_row(), Some(checked)))
        }
        (Some(_), Some(_)) => Err(Problem::invalid(
            "features",
            "send either features or account, not both",
        )),
        (None, None) => Err(Problem::invalid(
            "",
            "send the model's features (\"features\") or the account's facts (\"account\")",
        )),
    }
}

/// `POST /v1/score` for one item; the model version that answered comes back too.
pub fn score(snap: &Snapshot, req: &ScoreRequest) -> Result<(ScoreResponse, String), Problem> {
    let m = model(snap, req.model.as_deref())?;
    let top = req.reasons.unwrap_or(DEFAULT_REASONS);
    if top > 10 {
        return Err(Problem::invalid("reasons", format!("{top}: at most 10")));
    }
    let (row, _) = row_of(m, req.features.as_ref(), req.account.as_ref())?;
    let RowScore {
        probability,
        score,
        band,
        reasons,
    } = m.score(&row, usize::from(top), req.explain.unwrap_or_default());
    Ok((
        ScoreResponse {
            account_id: req.account_id.clone(),
            probability,
            score,
            risk_band: band.to_owned(),
            reasons,
            model: m.name.clone(),
            model_version: m.version.clone(),
        },
        m.version.clone(),
    ))
}

fn action_of(s: &Scored, zone: forbear_core::TimeZone) -> Option<RecommendedAction> {
    let a = s.action?;
    let utc = s.send_at_utc?;
    Some(RecommendedAction {
        channel: a.channel,
        window: a.window,
        tone: a.tone,
        send_at_utc: utc,
        send_at_local: s.send_at_local.unwrap_or_else(|| zone.local(utc)),
        template: s.template.clone().unwrap_or_default(),
    })
}

fn alternative(s: &Scored, zone: forbear_core::TimeZone) -> Alternative {
    Alternative {
        action: action_of(s, zone),
        value: s.value,
        p_respond: s.p_respond,
        p_pay: s.p_pay,
        expected_paid_minor: s.expected_paid_minor,
        p_complaint: s.p_complaint,
        cost: s.cost,
    }
}

fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

thread_local! {
    /// The recommender's buffers, reused by the requests a thread serves.
    static SCRATCH: std::cell::RefCell<forbear_strategy::recommend::Scratch> =
        std::cell::RefCell::new(Default::default());
}

/// `POST /v1/recommend` for one item, logged; `input` is the request's body as received, when
/// the item is the whole body (logged as it came rather than written again).
pub fn recommend(
    state: &AppState,
    snap: &Snapshot,
    req: &RecommendRequest,
    request_id: &str,
    input: Option<&str>,
) -> Result<Decided<RecommendResponse>, Problem> {
    let strategy = snap.strategy.as_ref().ok_or_else(|| {
        Problem::new(
            503,
            "no-response-models",
            "No response models are served",
            "the registry has no response bundle: train one with `forbear train response` and reload",
        )
    })?;
    let n = usize::from(req.alternatives.unwrap_or(5));
    if n > DETAILED {
        return Err(Problem::invalid(
            "alternatives",
            format!("{n}: at most {DETAILED}"),
        ));
    }
    let checked = facts::check(&req.account, "account")?;
    let day = checked.account_day(req.account_id.numeric(), &req.account, "account")?;
    let mut situation = day.situation();
    if let Some(nb) = req.not_before {
        situation.not_before = nb;
    }
    // The answer shows `n` alternatives and no P(promise): only those are detailed.
    let rec = SCRATCH.with_borrow_mut(|scratch| {
        strategy
            .recommender
            .recommend_detailed(&situation, scratch, n, false)
    });
    let zone = checked.zone;
    let action = action_of(&rec.chosen, zone);
    let mut versions = BTreeMap::new();
    versions.insert("response".to_owned(), strategy.version.clone());
    versions.insert("strategy".to_owned(), snap.strategy_version.clone());
    let blocked: Vec<BlockedChannel> = rec
        .blocked
        .iter()
        .map(|(channel, rule)| BlockedChannel {
            channel: *channel,
            rule: rule.clone(),
        })
        .collect();
    let response = RecommendResponse {
        decision_id: state.next_id("d"),
        account_id: req.account_id.clone(),
        date: rec.date,
        action: action.clone(),
        expected_value: rec.chosen.value,
        propensity: rec.propensity,
        explored: rec.explored,
        reason: rec.reason.clone(),
        alternatives: rec
            .ranked
            .iter()
            .take(n)
            .map(|s| alternative(s, zone))
            .collect(),
        blocked,
        model_versions: versions,
    };
    let json = json_text(&response);
    let label = match &action {
        Some(a) => format!("{}/{}/{}", a.channel, a.window, a.tone),
        None => "none".to_owned(),
    };
    state.metrics.decision(
        "recommend",
        action.as_ref().map_or("none", |a| a.channel.as_str()),
    );
    let rules: Vec<String> = response
        .blocked
        .iter()
        .map(|b| format!("{}: {}", b.channel, b.rule))
        .collect();
    log(
        state,
        Decision {
            decision_id: response.decision_id.clone().into(),
            kind: "recommend".into(),
            decided_at: Utc::now(),
            request_id: request_id.to_owned().into(),
            account_id: req.account_id.0.clone().into(),
            decision_date: rec.date,
            action: label.into(),
            channel: action.as_ref().map(|a| a.channel.as_str().into()),
            send_window: action.as_ref().map(|a| a.window.as_str().into()),
            tone: action.as_ref().map(|a| a.tone.as_str().into()),
            send_at_utc: action.as_ref().map(|a| a.send_at_utc),
            propensity: rec.propensity,
            value_base_minor: rec.chosen.value,
            probability: None,
            credit_limit_minor: None,
            model_versions: json_text(&response.model_versions).into(),
            rules: json_text(&rules).into(),
            input: input.map_or_else(|| json_text(req), str::to_owned).into(),
            output: json.clone().into(),
        },
    );
    Ok(Decided {
        response,
        version: strategy.version.clone(),
        json,
    })
}

fn log(state: &AppState, d: Decision) {
    if !state.log.record(d) {
        state.metrics.decision_log_error();
        tracing::error!("decision log closed: a decision was not logged");
    }
}

/// `POST /v1/eligibility` for one item, logged.
pub fn eligibility(
    state: &AppState,
    snap: &Snapshot,
    req: &EligibilityRequest,
    request_id: &str,
) -> Result<Decided<EligibilityResponse>, Problem> {
    let policy = snap.policy.as_ref().ok_or_else(|| {
        Problem::new(
            503,
            "no-policy",
            "No eligibility policy is configured",
            "set `policy` in the configuration or put eligibility-policy.toml in the registry, then reload",
        )
    })?;
    let m = model(snap, req.model.as_deref())?;
    if let Some(t) = req.tenure_months.filter(|t| !t.is_finite() || *t < 0.0) {
        return Err(Problem::invalid(
            "tenure_months",
            format!("{t} is not a number of months"),
        ));
    }
    let (row, checked) = row_of(m, req.features.as_ref(), req.account.as_ref())?;
    let customer_type = req
        .account
        .as_ref()
        .map(|a| a.customer_type)
        .or(req.customer_type)
        .unwrap_or(forbear_core::CustomerType::Consumer);
    let tenure = req
        .tenure_months
        .or_else(|| checked.as_ref().map(facts::Checked::tenure_months))
        .unwrap_or(f64::INFINITY);
    // A credit decision's reasons are exact TreeSHAP contributions.
    let s = m.score(&row, 4, forbear_api::Explain::Treeshap);
    let model_reasons: Vec<String> = s
        .reasons
        .iter()
        .map(|r| format!("{}: {}", r.code, r.text))
        .collect();
    // The engine's CRM flags, when the service reads its store: the blacklist flag set (and
    // lifted) by dunning, and a write-off.
    let crm = state.crm_flags(&req.account_id.0).map_err(|e| {
        Problem::new(
            503,
            "crm-unavailable",
            "The CRM flags cannot be read",
            format!("the engine store failed: {e}"),
        )
    })?;
    let applicant = Applicant {
        account_id: req.account_id.numeric(),
        customer_type: customer_type.as_str().to_owned(),
        tenure_months: tenure,
        blacklisted: req.blacklisted || crm.is_some_and(|f| f.blacklisted),
        days_since_write_off: match (
            req.days_since_write_off,
            crm.and_then(|f| f.days_since_write_off),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    };
    let outcome = policy.decide(&applicant, s.probability, &model_reasons);
    let mut versions = BTreeMap::new();
    versions.insert(m.name.clone(), m.version.clone());
    versions.insert("policy".to_owned(), snap.policy_version.clone());
    let response = EligibilityResponse {
        decision_id: state.next_id("d"),
        account_id: req.account_id.clone(),
        decision: outcome.decision.as_str().to_owned(),
        credit_limit_minor: outcome.limit_minor,
        probability: s.probability,
        score: s.score,
        risk_band: s.band.to_owned(),
        rule: outcome.rule.clone(),
        reasons: outcome.reasons.iter().take(4).cloned().collect(),
        model_versions: versions,
    };
    state.metrics.decision("eligibility", &response.decision);
    let json = json_text(&response);
    log(
        state,
        Decision {
            decision_id: response.decision_id.clone().into(),
            kind: "eligibility".into(),
            decided_at: Utc::now(),
            request_id: request_id.to_owned().into(),
            account_id: req.account_id.0.clone().into(),
            decision_date: checked.as_ref().map_or(Utc::now().date_naive(), |c| c.date),
            action: response.decision.clone().into(),
            channel: None,
            send_window: None,
            tone: None,
            send_at_utc: None,
            propensity: 1.0,
            value_base_minor: 0.0,
            probability: Some(s.probability),
            credit_limit_minor: outcome.limit_minor,
            model_versions: json_text(&response.model_versions).into(),
            rules: json_text(std::slice::from_ref(&outcome.rule)).into(),
            input: json_text(req).into(),
            output: json.clone().into(),
        },
    );
    Ok(Decided {
        response,
        version: m.version.clone(),
        json,
    })
}
