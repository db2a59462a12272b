//! The strategy crate's recommender behind the engine's [`Recommender`] port: the account's
//! state becomes the records the response models were trained on (`forbear_features`), the
//! same `AccountDay` that `forbear plan` and the service build, and the recommendation's
//! channel, send time and tone become the step's contact.

use chrono::{Duration, NaiveTime};
use forbear_core::Tone;
use forbear_features::{
    AccountFacts, AccountHistory, BillRecord, ContactRecord, DisputeRecord, PaymentRecord,
    PromiseRecord,
};
use forbear_strategy::facts::AccountDay;
use std::collections::BTreeSet;

use crate::port::{Ask, Recommender, Suggestion};
use crate::state::AccountState;

/// Response models and a strategy, in process.
#[derive(Debug)]
pub struct ModelRecommender {
    inner: forbear_strategy::Recommender,
    version: String,
}

impl ModelRecommender {
    /// Wraps a strategy recommender; `version` names its models on timelines.
    pub fn new(inner: forbear_strategy::Recommender, version: impl Into<String>) -> Self {
        ModelRecommender {
            inner,
            version: version.into(),
        }
    }
}

/// An account's records as the feature code reads them.
pub fn history(s: &AccountState) -> Option<AccountHistory> {
    let p = s.profile.as_ref()?;
    let local = |at| p.time_zone.local(at).date();
    let services: BTreeSet<_> = s.invoices.values().map(|i| i.service).collect();
    let mut h = AccountHistory {
        facts: AccountFacts {
            customer_type: p.segment.customer_type,
            service_level: p.segment.service_level,
            product: p.segment.product,
            age_band: p.age_band,
            services: u32::try_from(services.len().max(1)).unwrap_or(1),
            autopay: p.autopay,
            credit_limit_minor: p.credit_limit_minor,
            opened_on: p.opened_on,
        },
        bills: s
            .invoices
            .values()
            .filter(|i| i.currency == p.currency)
            .map(|i| BillRecord {
                issued_on: local(i.issued_at),
                due_on: i.due_on,
                amount_minor: i.amount_minor,
            })
            .collect(),
        payments: s
            .payments
            .values()
            .filter(|x| x.currency == p.currency)
            .map(|x| PaymentRecord {
                paid_at: x.at,
                amount_minor: x.amount_minor,
                reversed_on: x.reversed_at.map(local),
            })
            .collect(),
        contacts: s
            .contacts
            .iter()
            .map(|c| ContactRecord {
                sent_at: c.at,
                channel: c.channel,
                tone: c.tone.unwrap_or(Tone::Neutral),
                responded: c.responded,
                conversation: c.conversation,
                opted_out: s.opted_out.contains(c.channel),
            })
            .collect(),
        // Promises the policy refused never ran; the rest (kept, broken, open) are the
        // features' promise history — broken promises raise the risk.
        promises: s
            .promises
            .values()
            .filter(|x| x.standing != crate::state::Standing::Refused)
            .map(|x| PromiseRecord {
                made_on: local(x.made_at),
                due_on: x.due_on,
                amount_minor: x.amount_minor,
            })
            .collect(),
        disputes: s
            .disputes
            .values()
            .map(|d| DisputeRecord {
                opened_on: local(d.opened_at),
                resolved_on: d.resolved.map(|(_, at)| local(at)),
            })
            .collect(),
    };
    h.sort();
    Some(h)
}

impl ModelRecommender {
    /// The strategy recommender's whole answer to `ask` (every option valued, with its send
    /// time), or `None` when the account has no profile or history yet, or the local day it is
    /// asked on is over.
    pub fn recommendation(&self, ask: &Ask<'_>) -> Option<forbear_strategy::Recommendation> {
        let s = ask.state;
        let p = s.profile.as_ref()?;
        let h = history(s)?;
        let date = p.time_zone.local(ask.now).date();
        let consent = s
            .consent
            .iter()
            .filter(|c| !s.opted_out.contains(*c))
            .collect();
        let day = AccountDay::of(
            s.account.get(),
            &h,
            date,
            p.time_zone,
            consent,
            p.currency,
            &p.language,
            None,
        )?;
        let mut situation = day.situation();
        situation.not_before = situation.not_before.max(ask.now);
        // The rest of the day: the recommender plans within the local day it is asked on.
        let end = p.time_zone.at(date + Duration::days(1), NaiveTime::MIN);
        if situation.not_before >= end {
            return None;
        }
        Some(self.inner.recommend(&situation))
    }

    /// The strategy (costs, penalty, rules, exchange rates) it recommends under.
    pub fn config(&self) -> &forbear_strategy::StrategyConfig {
        self.inner.config()
    }
}

impl Recommender for ModelRecommender {
    fn suggest(&self, ask: &Ask<'_>) -> Result<Option<Suggestion>, String> {
        let Some(r) = self.recommendation(ask) else {
            return Ok(None);
        };
        let (Some(action), Some(at)) = (r.chosen.action, r.chosen.send_at_utc) else {
            return Ok(None);
        };
        Ok(Some(Suggestion {
            channel: action.channel,
            tone: ask.tone.unwrap_or(action.tone),
            send_at: at,
            propensity: r.propensity,
            model: format!("response models {}", self.version),
        }))
    }
}
