//! Prepaid-versus-postpaid eligibility: a credit decision with a limit and its reasons.
//!
//! Credit teams own the policy (a TOML file, [`Policy`]): cut-offs on the probability of going
//! bad per segment, credit-limit bands by probability, hard rules (blacklisted or recently written
//! off → prepaid; too short a history → refer) and per-account overrides. [`Policy::decide`]
//! applies it to one applicant in a fixed order — override, hard rules, cut-offs — and always
//! returns the principal reasons, as a refusal must carry them (at least four adverse factors when
//! the model can name them).

use serde::{Deserialize, Serialize};

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Billed after use, with a credit limit.
    Postpaid,
    /// Paid in advance only.
    Prepaid,
    /// A person decides.
    Refer,
}

impl Decision {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Postpaid => "postpaid",
            Decision::Prepaid => "prepaid",
            Decision::Refer => "refer",
        }
    }
}

/// Cut-offs on the probability of going bad.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cutoffs {
    /// At or above this probability: prepaid.
    pub prepaid_at: f64,
    /// At or above this (and below `prepaid_at`): refer.
    pub refer_at: f64,
}

/// Cut-offs for one segment (a customer type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentCutoffs {
    /// The customer type (`consumer`, `student`, …).
    pub customer_type: String,
    /// At or above this probability: prepaid.
    pub prepaid_at: f64,
    /// At or above this: refer.
    pub refer_at: f64,
}

/// A credit-limit band: applicants whose probability is below `below` get `limit_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBand {
    /// Upper bound of the band's probabilities (exclusive).
    pub below: f64,
    /// Credit limit in minor units of the account's currency.
    pub limit_minor: i64,
}

/// Rules that decide before any score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HardRules {
    /// Blacklisted customers get prepaid.
    pub blacklisted_prepaid: bool,
    /// A write-off within this many days → prepaid.
    pub write_off_within_days: u32,
    /// Fewer months of history than this → refer (a thin file).
    pub thin_file_months: f64,
}

impl Default for HardRules {
    fn default() -> Self {
        HardRules {
            blacklisted_prepaid: true,
            write_off_within_days: 365,
            thin_file_months: 3.0,
        }
    }
}

/// A decision fixed by hand for one account, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The account.
    pub account_id: i64,
    /// The decision.
    pub decision: Decision,
    /// Its credit limit (postpaid only).
    pub limit_minor: Option<i64>,
    /// Who decided and why.
    pub reason: String,
}

/// A credit team's eligibility policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Cut-offs for segments not listed.
    pub default: Cutoffs,
    /// Cut-offs per customer type.
    #[serde(default)]
    pub segment: Vec<SegmentCutoffs>,
    /// Credit-limit bands, any order.
    pub limit: Vec<LimitBand>,
    /// Hard rules.
    #[serde(default)]
    pub rules: HardRules,
    /// Per-account overrides.
    #[serde(default, rename = "override")]
    pub overrides: Vec<Override>,
}

/// A policy that cannot be used, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("eligibility policy: {0}")]
pub struct PolicyError(pub String);

/// What the policy needs to know of an applicant besides the model's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicant {
    /// Account or applicant id.
    pub account_id: i64,
    /// Customer type name.
    pub customer_type: String,
    /// Months of history with us (or with the bureau).
    pub tenure_months: f64,
    /// On the blacklist.
    pub blacklisted: bool,
    /// Days since a write-off, if there was one.
    pub days_since_write_off: Option<u32>,
}

/// The decision for one applicant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Postpaid, prepaid or refer.
    pub decision: Decision,
    /// Credit limit for postpaid, minor units.
    pub limit_minor: Option<i64>,
    /// The rule or cut-off that decided.
    pub rule: String,
    /// The principal reasons (adverse factors first).
    pub reasons: Vec<String>,
}

impl Policy {
    /// Parses and checks a policy; errors say which key is wrong.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let p: Policy = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// Checks ranges: probabilities in [0, 1], `refer_at ≤ prepaid_at`, positive limits.
    pub fn check(&self) -> Result<(), PolicyError> {
        let cut = |name: &str, c: Cutoffs| {
            let ok = (0.0..=1.0).contains(&c.refer_at)
                && (0.0..=1.0).contains(&c.prepaid_at)
                && c.refer_at <= c.prepaid_at;
            if ok {
                Ok(())
            } else {
                Err(PolicyError(format!(
                    "{name}: refer_at {} and prepaid_at {} must lie in [0, 1] with refer_at <= prepaid_at",
                    c.refer_at, c.prepaid_at
                )))
            }
        };
        cut("default", self.default)?;
        for s in &self.segment {
            forbear_customer_type(&s.customer_type)?;
            cut(
                &format!("segment {}", s.customer_type),
                Cutoffs {
                    prepaid_at: s.prepaid_at,
                    refer_at: s.refer_at,
                },
            )?;
        }
        if self.limit.is_empty() {
            return Err(PolicyError(
                "limit: at least one [[limit]] band is needed".into(),
            ));
        }
        for b in &self.limit {
            if !(0.0..=1.0).contains(&b.below) || b.limit_minor < 0 {
                return Err(PolicyError(format!(
                    "limit band below = {}, limit_minor = {}: below must be in [0, 1], the limit ≥ 0",
                    b.below, b.limit_minor
                )));
            }
        }
        Ok(())
    }

    /// The cut-offs for a customer type.
    pub fn cutoffs(&self, customer_type: &str) -> Cutoffs {
        self.segment
            .iter()
            .find(|s| s.customer_type == customer_type)
            .map_or(self.default, |s| Cutoffs {
                prepaid_at: s.prepaid_at,
                refer_at: s.refer_at,
            })
    }

    fn limit_for(&self, p: f64) -> i64 {
        let mut bands = self.limit.clone();
        bands.sort_by(|a, b| a.below.total_cmp(&b.below));
        bands
            .iter()
            .find(|b| p < b.below)
            .map_or(0, |b| b.limit_minor)
    }

    /// Decides for one applicant with probability of going bad `p` and the model's adverse
    /// reasons (most adverse first).
    pub fn decide(&self, a: &Applicant, p: f64, model_reasons: &[String]) -> Outcome {
        if let Some(o) = self.overrides.iter().find(|o| o.account_id == a.account_id) {
            return Outcome {
                decision: o.decision,
                limit_minor: if o.decision == Decision::Postpaid {
                    o.limit_minor.or(Some(self.limit_for(p)))
                } else {
                    None
                },
                rule: "override".into(),
                reasons: vec![format!("manual override: {}", o.reason)],
            };
        }
        let hard = |decision, rule: &str, reason: String| Outcome {
            decision,
            limit_minor: None,
            rule: rule.into(),
            reasons: std::iter::once(reason)
                .chain(model_reasons.iter().take(3).cloned())
                .collect(),
        };
        if self.rules.blacklisted_prepaid && a.blacklisted {
            return hard(
                Decision::Prepaid,
                "blacklisted",
                "the customer is blacklisted".into(),
            );
        }
        if let Some(d) = a
            .days_since_write_off
            .filter(|d| *d <= self.rules.write_off_within_days)
        {
            return hard(
                Decision::Prepaid,
                "recent_write_off",
                format!("a debt was written off {d} days ago"),
            );
        }
        if a.tenure_months < self.rules.thin_file_months {
            return hard(
                Decision::Refer,
                "thin_file",
                format!(
                    "{:.1} months of history, fewer than the {} the policy asks",
                    a.tenure_months, self.rules.thin_file_months
                ),
            );
        }
        let c = self.cutoffs(&a.customer_type);
        let (decision, rule) = if p >= c.prepaid_at {
            (
                Decision::Prepaid,
                format!("probability {p:.3} ≥ prepaid cut-off {}", c.prepaid_at),
            )
        } else if p >= c.refer_at {
            (
                Decision::Refer,
                format!("probability {p:.3} ≥ refer cut-off {}", c.refer_at),
            )
        } else {
            (
                Decision::Postpaid,
                format!("probability {p:.3} < refer cut-off {}", c.refer_at),
            )
        };
        Outcome {
            decision,
            limit_minor: (decision == Decision::Postpaid).then(|| self.limit_for(p)),
            rule,
            reasons: model_reasons.iter().take(4).cloned().collect(),
        }
    }

    /// Approval rate and expected bad rate among the approved, for each cut-off in `cutoffs`,
    /// from the probabilities `p` of a population (approved = below the cut-off).
    pub fn tradeoff(p: &[f64], cutoffs: &[f64]) -> Vec<TradeoffPoint> {
        let mut sorted = p.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        prefix.push(0.0);
        for v in &sorted {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
        }
        cutoffs
            .iter()
            .map(|&c| {
                let k = sorted.partition_point(|v| *v < c);
                TradeoffPoint {
                    cutoff: c,
                    approval_rate: k as f64 / sorted.len().max(1) as f64,
                    expected_bad_rate: if k == 0 { 0.0 } else { prefix[k] / k as f64 },
                }
            })
            .collect()
    }
}

fn forbear_customer_type(name: &str) -> Result<(), PolicyError> {
    const TYPES: [&str; 7] = [
        "consumer",
        "small_business",
        "enterprise",
        "vip",
        "student",
        "military",
        "government",
    ];
    if TYPES.contains(&name) {
        Ok(())
    } else {
        Err(PolicyError(format!(
            "segment customer_type {name:?} is not one of {}",
            TYPES.join(", ")
        )))
    }
}

/// One point of the approval / bad-rate trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradeoffPoint {
    /// Probability cut-off (approve below it).
    pub cutoff: f64,
    /// Share approved.
    pub approval_rate: f64,
    /// Mean probability of going bad among the approved.
    pub expected_bad_rate: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
default = { prepaid_at = 0.30, refer_at = 0.15 }

[[segment]]
customer_type = "student"
prepaid_at = 0.20
refer_at = 0.10

[[limit]]
below = 0.05
limit_minor = 50000

[[limit]]
below = 0.15
limit_minor = 20000

[rules]
thin_file_months = 3

[[override]]
account_id = 7
decision = "postpaid"
limit_minor = 10000
reason = "approved by J. Smith, credit committee 2026-11-02"
"#;

    fn applicant(id: i64, ct: &str) -> Applicant {
        Applicant {
            account_id: id,
            customer_type: ct.into(),
            tenure_months: 24.0,
            blacklisted: false,
            days_since_write_off: None,
        }
    }

    fn reasons() -> Vec<String> {
        (1..=5).map(|k| format!("reason {k}")).collect()
    }

    #[test]
    fn cutoffs_per_segment_limits_and_reasons() {
        let p = Policy::from_toml(POLICY).unwrap();
        let o = p.decide(&applicant(1, "consumer"), 0.04, &reasons());
        assert_eq!(
            (o.decision, o.limit_minor),
            (Decision::Postpaid, Some(50_000))
        );
        let o = p.decide(&applicant(1, "consumer"), 0.12, &reasons());
        assert_eq!(
            (o.decision, o.limit_minor),
            (Decision::Postpaid, Some(20_000))
        );
        let o = p.decide(&applicant(1, "student"), 0.12, &reasons());
        assert_eq!(
            o.decision,
            Decision::Refer,
            "students have a stricter refer cut-off"
        );
        let o = p.decide(&applicant(1, "consumer"), 0.5, &reasons());
        assert_eq!(o.decision, Decision::Prepaid);
        assert_eq!(
            o.reasons.len(),
            4,
            "a refusal carries the top four adverse factors"
        );
        assert_eq!(o.limit_minor, None);
    }

    #[test]
    fn hard_rules_and_overrides_come_first() {
        let p = Policy::from_toml(POLICY).unwrap();
        let mut a = applicant(1, "consumer");
        a.blacklisted = true;
        assert_eq!(p.decide(&a, 0.01, &reasons()).rule, "blacklisted");
        let mut a = applicant(1, "consumer");
        a.days_since_write_off = Some(100);
        assert_eq!(p.decide(&a, 0.01, &reasons()).decision, Decision::Prepaid);
        let mut a = applicant(1, "consumer");
        a.tenure_months = 1.0;
        assert_eq!(p.decide(&a, 0.01, &reasons()).decision, Decision::Refer);
        let o = p.decide(&applicant(7, "consumer"), 0.9, &reasons());
        assert_eq!(
            (o.decision, o.limit_minor, o.rule.as_str()),
            (Decision::Postpaid, Some(10_000), "override")
        );
    }

    #[test]
    fn bad_policies_are_refused_with_the_key() {
        let e = Policy::from_toml("default = { prepaid_at = 0.1, refer_at = 0.2 }\n[[limit]]\nbelow = 0.1\nlimit_minor = 1\n").unwrap_err();
        assert!(e.to_string().contains("refer_at <= prepaid_at"), "{e}");
        let e = Policy::from_toml("default = { prepaid_at = 0.3, refer_at = 0.2 }\n").unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        let e = Policy::from_toml("default = { prepaid_at = 0.3, refer_at = 0.2, typo = 1 }\n[[limit]]\nbelow = 0.1\nlimit_minor = 1\n").unwrap_err();
        assert!(e.to_string().contains("typo"), "{e}");
        let e = Policy::from_toml(&POLICY.replace("\"student\"", "\"alien\"")).unwrap_err();
        assert!(e.to_string().contains("alien"), "{e}");
    }

    #[test]
    fn tradeoff_is_monotone() {
        let p: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let t = Policy::tradeoff(&p, &[0.1, 0.5, 1.1]);
        assert!(
            (t[0].approval_rate - 0.1).abs() < 1e-9
                && (t[0].expected_bad_rate - 0.0495).abs() < 1e-9
        );
        assert!(
            t[1].approval_rate > t[0].approval_rate
                && t[1].expected_bad_rate > t[0].expected_bad_rate
        );
        assert_eq!(t[2].approval_rate, 1.0);
    }
}
