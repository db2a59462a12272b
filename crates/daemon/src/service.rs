//! The inference service as the engine's recommender: an account's state becomes a
//! `POST /v1/recommend` request through `forbear-client`, the answer the step's contact — the
//! same port as the in-process recommender, so scenarios do not care which one runs.

use forbear_api::{
    AccountRef, AccountState as Wire, BillIn, ContactIn, DisputeIn, PaymentIn, PromiseIn,
    RecommendRequest,
};
use forbear_engine::port::{Ask, Recommender, Suggestion};
use forbear_engine::recommend::history;
use std::sync::Mutex;

/// Recommendations from a running `forbear serve`.
#[derive(Debug)]
pub struct ServiceRecommender {
    client: forbear_client::Client,
    rt: Mutex<tokio::runtime::Runtime>,
}

impl ServiceRecommender {
    /// A recommender asking the service at `base_url` with an API key of role `score`.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Self, String> {
        let client = forbear_client::Client::new(base_url, api_key).map_err(|e| e.to_string())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ServiceRecommender {
            client,
            rt: Mutex::new(rt),
        })
    }
}

impl Recommender for ServiceRecommender {
    fn suggest(&self, ask: &Ask<'_>) -> Result<Option<Suggestion>, String> {
        let s = ask.state;
        let (Some(p), Some(h)) = (&s.profile, history(s)) else {
            return Ok(None);
        };
        let account = Wire {
            as_of: Some(p.time_zone.local(ask.now).date()),
            time_zone: p.time_zone,
            currency: p.currency,
            customer_type: h.facts.customer_type,
            service_level: h.facts.service_level,
            product: h.facts.product,
            age_band: None,
            services: h.facts.services,
            autopay: false,
            credit_limit_minor: None,
            opened_on: h.facts.opened_on,
            language: p.language.clone(),
            consent: s
                .consent
                .iter()
                .filter(|c| !s.opted_out.contains(*c))
                .collect(),
            hardship: s.hardship.is_some(),
            statutory_hold: false,
            balance_minor: None,
            bills: h
                .bills
                .iter()
                .map(|b| BillIn {
                    issued_on: b.issued_on,
                    due_on: b.due_on,
                    amount_minor: b.amount_minor,
                })
                .collect(),
            payments: h
                .payments
                .iter()
                .map(|x| PaymentIn {
                    paid_at: x.paid_at,
                    amount_minor: x.amount_minor,
                    reversed_on: x.reversed_on,
                })
                .collect(),
            contacts: h
                .contacts
                .iter()
                .map(|c| ContactIn {
                    sent_at: c.sent_at,
                    channel: c.channel,
                    tone: c.tone,
                    responded: c.responded,
                    conversation: c.conversation,
                    opted_out: c.opted_out,
                })
                .collect(),
            promises: h
                .promises
                .iter()
                .map(|x| PromiseIn {
                    made_on: x.made_on,
                    due_on: x.due_on,
                    amount_minor: x.amount_minor,
                })
                .collect(),
            disputes: h
                .disputes
                .iter()
                .map(|d| DisputeIn {
                    opened_on: d.opened_on,
                    resolved_on: d.resolved_on,
                })
                .collect(),
        };
        let req = RecommendRequest {
            account_id: AccountRef(s.account.to_string()),
            account,
            not_before: Some(ask.now),
            alternatives: Some(0),
        };
        let rt = self
            .rt
            .lock()
            .map_err(|_| "recommender runtime poisoned".to_string())?;
        let r = rt
            .block_on(self.client.recommend(&req))
            .map_err(|e| format!("recommendation service: {e}"))?;
        let Some(a) = r.action else {
            return Ok(None);
        };
        let versions: Vec<String> = r
            .model_versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        Ok(Some(Suggestion {
            channel: a.channel,
            tone: ask.tone.unwrap_or(a.tone),
            send_at: a.send_at_utc,
            propensity: r.propensity,
            model: format!(
                "service ({}; decision {})",
                versions.join(", "),
                r.decision_id
            ),
        }))
    }
}
