//! Risk bands for the lab's engines. In production a scoring run sends the engine a
//! `risk_assessed` event when an account's band changes; here the risk model scores every
//! account on each day it is billed, from what a collections system knows of it by then
//! ([`crate::history::history_of`], the features training used), and a changed band reaches
//! the engine as that same event — so the scenario steps for risk bands (the pre-due nudges of
//! bands C–E) act in the lab as they would in production.

use crate::history::history_of;
use chrono::{NaiveDate, NaiveTime};
use forbear_core::AccountId;
use forbear_engine::{Event, EventBody, EventId, RiskBand};
use forbear_features::risk::{RISK_FEATURES, RiskFeatures};
use forbear_models::{Bundle, risk_band};
use forbear_sim::policy::Decision;
use forbear_sim::portfolio::Portfolio;
use std::collections::HashMap;
use std::sync::Arc;

/// Bills an account needs in the lab's own history before it is scored. The simulated
/// customers come into the lab with no records before its first day, and the risk model,
/// trained on a year of history, reads "no payments yet" as risk: scored on their first bill
/// almost every account lands in band E, and on their second most still move. A thin file gets
/// no band, as a credit team would treat it.
pub const MIN_BILLS: usize = 3;

/// Scores an arm's accounts when they are billed and tells its engine of changed bands.
pub struct RiskAssessor {
    bundle: Arc<Bundle>,
    index: HashMap<AccountId, usize>,
    logs: Vec<Vec<(NaiveDate, forbear_sim::Event, Option<Decision>)>>,
    band: Vec<Option<RiskBand>>,
    /// Accounts scored so far.
    pub scored: u64,
    /// Band changes sent to the engine.
    pub changes: u64,
}

impl std::fmt::Debug for RiskAssessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskAssessor")
            .field("model", &self.bundle.name)
            .field("scored", &self.scored)
            .field("changes", &self.changes)
            .finish()
    }
}

/// Why a bundle cannot assess risk in the lab.
pub fn check(bundle: &Bundle) -> Result<(), String> {
    let names = bundle.spec.names();
    if names.iter().map(String::as_str).ne(RISK_FEATURES) {
        return Err(format!(
            "bundle {} is not a risk model on this build's risk features (it takes: {})",
            bundle.name,
            names.join(", ")
        ));
    }
    Ok(())
}

impl RiskAssessor {
    /// An assessor for the customers of `portfolio` (checked with [`check`] by the caller).
    pub fn new(bundle: Arc<Bundle>, portfolio: &Portfolio) -> RiskAssessor {
        let n = portfolio.customers().len();
        RiskAssessor {
            bundle,
            index: portfolio
                .customers()
                .iter()
                .enumerate()
                .map(|(k, c)| (c.profile.id, k))
                .collect(),
            logs: vec![Vec::new(); n],
            band: vec![None; n],
            scored: 0,
            changes: 0,
        }
    }

    /// Takes in what happened on `day` and returns the band changes of the accounts billed
    /// that day, stamped at the end of their local day.
    pub fn assess(
        &mut self,
        day: NaiveDate,
        portfolio: &Portfolio,
        happened: &[(AccountId, forbear_sim::Event)],
    ) -> Vec<Event> {
        let mut billed: Vec<usize> = Vec::new();
        for (a, e) in happened {
            let Some(&k) = self.index.get(a) else {
                continue;
            };
            if matches!(e, forbear_sim::Event::InvoiceIssued { .. }) && !billed.contains(&k) {
                billed.push(k);
            }
            self.logs[k].push((day, e.clone(), None));
        }
        let mut out = Vec::new();
        let end = NaiveTime::from_hms_opt(23, 59, 0).unwrap_or(NaiveTime::MIN);
        for k in billed {
            let Some(c) = portfolio.customers().get(k) else {
                continue;
            };
            let h = history_of(c, &self.logs[k]);
            if h.bills.len() < MIN_BILLS {
                continue;
            }
            let p = self
                .bundle
                .predict_row(RiskFeatures::known_by(&h, day).values());
            self.scored += 1;
            let Some(band) = RiskBand::parse(risk_band(p)) else {
                continue;
            };
            if self.band[k] == Some(band) {
                continue;
            }
            let Ok(id) = EventId::new(format!("risk:{}:{day}", c.profile.id)) else {
                continue;
            };
            self.band[k] = Some(band);
            self.changes += 1;
            out.push(Event {
                id,
                account: c.profile.id,
                at: c.profile.zone.at(day, end),
                body: EventBody::RiskAssessed { band },
            });
        }
        out
    }
}
