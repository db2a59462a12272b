//! The desk: where a case goes when it leaves soft collection — the agency (by segment, balance
//! and its measured recovery) and the lawyer (by current workload and experience).
//!
//! What the desk knows of the portfolio — each agency's placements and recoveries, each
//! lawyer's open cases — comes from the outbox (`Store::outbox_of`: placements, recalls,
//! referrals and withdrawals the engine wrote), read by [`Desk::refresh`]; between refreshes
//! the desk counts its own assignments, so a batch of referrals is spread, not piled on one
//! lawyer.

use forbear_core::Currency;
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::effect::{OutboxItem, Target};
use crate::policy::{Agency, CasePolicy};
use crate::scenario::SegmentFacts;

/// An agency's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgencyRecord {
    /// Cases placed.
    pub placed: u32,
    /// Cases that cured while placed.
    pub recovered: u32,
}

impl AgencyRecord {
    /// Recovery rate with one success and one failure of prior: a new agency starts at one
    /// half instead of never being tried.
    pub fn smoothed_rate(self) -> f64 {
        (f64::from(self.recovered) + 1.0) / (f64::from(self.placed) + 2.0)
    }
}

#[derive(Debug, Default)]
struct Book {
    agencies: BTreeMap<String, AgencyRecord>,
    lawyers: BTreeMap<String, u32>,
}

/// Agencies' records and lawyers' workloads.
#[derive(Debug, Default)]
pub struct Desk {
    book: Mutex<Book>,
    refreshed: Mutex<Option<std::time::Instant>>,
}

impl Desk {
    /// A desk that knows nothing yet.
    pub fn new() -> Desk {
        Desk::default()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rebuilds the records from the outbox's agency and legal items.
    pub fn refresh(&self, agency: &[OutboxItem], legal: &[OutboxItem]) {
        let mut book = Book::default();
        for i in agency.iter().filter(|i| i.target == Target::Agency) {
            let p: serde_json::Value = serde_json::from_str(&i.payload).unwrap_or_default();
            let Some(name) = p["agency"].as_str() else {
                continue;
            };
            let r = book.agencies.entry(name.to_string()).or_default();
            match i.kind.as_str() {
                "agency_placement" => r.placed += 1,
                "recall_from_agency" if p["cured"].as_bool() == Some(true) => r.recovered += 1,
                _ => {}
            }
        }
        for i in legal.iter().filter(|i| i.target == Target::Legal) {
            let p: serde_json::Value = serde_json::from_str(&i.payload).unwrap_or_default();
            let Some(name) = p["lawyer"].as_str() else {
                continue;
            };
            let n = book.lawyers.entry(name.to_string()).or_default();
            match i.kind.as_str() {
                "legal_referral" => *n += 1,
                "withdraw_legal" => *n = n.saturating_sub(1),
                _ => {}
            }
        }
        *self.book() = book;
        *self
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(std::time::Instant::now());
    }

    /// Whether the desk was never refreshed, or longer ago than `age` (other workers'
    /// assignments are seen at the next refresh).
    pub fn stale(&self, age: std::time::Duration) -> bool {
        self.refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|t| t.elapsed() > age)
    }

    /// A case was placed with `agency`.
    pub fn placed(&self, agency: &str) {
        self.book()
            .agencies
            .entry(agency.to_string())
            .or_default()
            .placed += 1;
    }

    /// A case came back from `agency`, cured or not.
    pub fn recalled(&self, agency: &str, cured: bool) {
        if cured {
            self.book()
                .agencies
                .entry(agency.to_string())
                .or_default()
                .recovered += 1;
        }
    }

    /// An agency's record.
    pub fn agency(&self, name: &str) -> AgencyRecord {
        self.book().agencies.get(name).copied().unwrap_or_default()
    }

    /// A lawyer's open cases.
    pub fn load(&self, name: &str) -> u32 {
        self.book().lawyers.get(name).copied().unwrap_or(0)
    }

    /// The agency for an account: among those whose segment matches and whose minimum
    /// balance the overdue amount reaches, the best smoothed recovery rate, then the lowest
    /// commission, then the order of the file.
    pub fn choose_agency<'p>(
        &self,
        policy: &'p CasePolicy,
        facts: &SegmentFacts,
        currency: Currency,
        overdue_minor: i64,
    ) -> Result<&'p Agency, String> {
        let book = self.book();
        let rate = |a: &Agency| {
            book.agencies
                .get(&a.name)
                .copied()
                .unwrap_or_default()
                .smoothed_rate()
        };
        policy
            .agencies
            .iter()
            .filter(|a| a.segment.matches(facts))
            .filter(|a| overdue_minor >= a.min_balance.get(&currency).copied().unwrap_or(0))
            .enumerate()
            .max_by(|(i, a), (j, b)| {
                rate(a)
                    .total_cmp(&rate(b))
                    .then(b.commission_bp.cmp(&a.commission_bp))
                    .then(j.cmp(i))
            })
            .map(|(_, a)| a)
            .ok_or_else(|| {
                if policy.agencies.is_empty() {
                    "no agency is configured ([[cases.agency]])".into()
                } else {
                    "no configured agency takes this account's segment and balance".into()
                }
            })
    }

    /// Assigns a lawyer: the lowest share of capacity in use, then the most experienced, among
    /// those with room; counted at once.
    pub fn assign_lawyer(&self, policy: &CasePolicy) -> Result<String, String> {
        let mut book = self.book();
        let pick = policy
            .lawyers
            .iter()
            .filter(|l| book.lawyers.get(&l.name).copied().unwrap_or(0) < l.capacity)
            .min_by(|a, b| {
                let share = |l: &crate::policy::Lawyer| {
                    f64::from(book.lawyers.get(&l.name).copied().unwrap_or(0))
                        / f64::from(l.capacity)
                };
                share(a)
                    .total_cmp(&share(b))
                    .then(b.experience_years.cmp(&a.experience_years))
            })
            .map(|l| l.name.clone());
        match pick {
            Some(name) => {
                *book.lawyers.entry(name.clone()).or_default() += 1;
                Ok(name)
            }
            None if policy.lawyers.is_empty() => {
                Err("no lawyer is configured ([[cases.lawyer]])".into())
            }
            None => Err("every lawyer is at capacity".into()),
        }
    }

    /// A lawyer's case closed or was withdrawn.
    pub fn release_lawyer(&self, name: &str) {
        if let Some(n) = self.book().lawyers.get_mut(name) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ScenarioSet;
    use forbear_core::{CustomerType, Product, ServiceLevel, SubscriptionType};

    fn facts(t: CustomerType) -> SegmentFacts {
        SegmentFacts {
            customer_type: t,
            subscription_type: SubscriptionType::Postpaid,
            service_level: ServiceLevel::Standard,
            product: Product::Mobile,
            risk_band: None,
            parent: None,
        }
    }

    #[test]
    fn agencies_by_segment_balance_and_recovery() {
        let set = ScenarioSet::builtin().unwrap();
        let mut policy = set.cases.clone();
        let desk = Desk::new();
        let consumer = facts(CustomerType::Consumer);
        let a = desk
            .choose_agency(&policy, &consumer, Currency::EUR, 10_000)
            .unwrap();
        assert_eq!(a.name, "recoveries-ltd");
        let e = desk
            .choose_agency(&policy, &consumer, Currency::EUR, 100)
            .unwrap_err();
        assert!(e.contains("balance"), "{e}");
        // A second consumer agency with a better record wins.
        let mut other = policy.agencies[0].clone();
        other.name = "better".into();
        policy.agencies.push(other);
        let item = |kind: &str, agency: &str, cured: bool| OutboxItem {
            key: format!("{kind}{agency}{cured}"),
            account: forbear_core::AccountId::new(1).unwrap(),
            target: Target::Agency,
            kind: kind.into(),
            payload: serde_json::json!({"agency": agency, "cured": cured}).to_string(),
            attempts: 0,
        };
        desk.refresh(
            &[
                item("agency_placement", "better", false),
                item("recall_from_agency", "better", true),
                item("agency_placement", "recoveries-ltd", false),
                item("recall_from_agency", "recoveries-ltd", false),
            ],
            &[],
        );
        let a = desk
            .choose_agency(&policy, &consumer, Currency::EUR, 10_000)
            .unwrap();
        assert_eq!(a.name, "better");
        assert_eq!(desk.agency("better").recovered, 1);
    }

    #[test]
    fn lawyers_by_workload_then_experience_up_to_capacity() {
        let set = ScenarioSet::builtin().unwrap();
        let mut policy = set.cases.clone();
        policy.lawyers[0].capacity = 2;
        policy.lawyers[1].capacity = 4;
        let desk = Desk::new();
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(desk.assign_lawyer(&policy).unwrap());
        }
        // Both empty: the more experienced first; then whoever has the smaller share in use.
        assert_eq!(
            got,
            [
                "a.okafor",
                "m.lindqvist",
                "m.lindqvist",
                "a.okafor",
                "m.lindqvist",
                "m.lindqvist"
            ]
        );
        assert!(
            desk.assign_lawyer(&policy)
                .unwrap_err()
                .contains("capacity")
        );
        desk.release_lawyer("a.okafor");
        assert_eq!(desk.assign_lawyer(&policy).unwrap(), "a.okafor");
    }
}
