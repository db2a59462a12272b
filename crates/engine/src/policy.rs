//! The rules of cases, read from the `[cases]` section of the scenario file: how far a promise
//! may reach and how much it must cover, how payment plans are shaped, who owns a dispute and
//! by when, how long statutory holds last, what each agent role may grant, and the agencies and
//! lawyers cases go to.
//!
//! Limits are per segment (the first `[[cases.limits]]` whose segment matches; the built-in
//! values when none does) and grants per role and segment. The policy is checked with the rest
//! of the scenario file: every problem with file, line, column and key.

use forbear_core::Currency;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

use crate::scenario::{Checker, RawSegment, SegmentFacts, SegmentRule};

/// Disputes: who works them and how soon.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisputePolicy {
    /// The collectors' team a new dispute is assigned to.
    pub team: String,
    /// Days from opening to the dispute's due date.
    pub due_days: u32,
}

/// Statutory holds (breathing space, mental-health crisis).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HoldPolicy {
    /// Length of a standard breathing space, days.
    pub breathing_space_days: u32,
    /// At most one breathing space starts within this many days.
    pub breathing_space_every_days: u32,
    /// A crisis hold lasts for the crisis treatment plus this many days.
    pub crisis_extra_days: u32,
}

/// Hardship and vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HardshipPolicy {
    /// Days to the review when the declaration names no review date.
    pub review_days: u32,
    /// The team whose queue gets the review call-back.
    pub team: String,
    /// The reasons accepted (kept for analysis).
    pub reasons: BTreeSet<String>,
}

/// Promise and plan limits for a segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseLimits {
    /// The entry's name (for the timeline).
    pub name: String,
    /// Who it applies to.
    pub segment: SegmentRule,
    /// A promise's date is at most this many days ahead.
    pub promise_max_days: u32,
    /// A promise covers at least this share of the overdue amount, percent.
    pub promise_min_share_pct: u32,
    /// The reminder goes this many days before the promise's date (0: none).
    pub promise_reminder_days: u32,
    /// A plan has at most this many instalments (the down payment included).
    pub plan_max_instalments: u32,
    /// A plan's last instalment is at most this many days ahead.
    pub plan_max_days: u32,
    /// Each instalment but the last is at least this much, per currency.
    pub plan_min_instalment: BTreeMap<Currency, i64>,
    /// The first instalment (the down payment) is at least this share of the plan, percent.
    pub plan_down_payment_pct: u32,
    /// How many new plans may follow the first in one case.
    pub plan_max_replans: u32,
    /// Days after an instalment's date before it counts as missed.
    pub plan_grace_days: u32,
    /// Barring is lifted when a plan starts.
    pub restore_service_on_plan: bool,
    /// Barring is lifted when a promise is accepted.
    pub restore_service_on_promise: bool,
}

impl Default for CaseLimits {
    fn default() -> Self {
        CaseLimits {
            name: "built-in".into(),
            segment: SegmentRule::default(),
            promise_max_days: 14,
            promise_min_share_pct: 50,
            promise_reminder_days: 1,
            plan_max_instalments: 6,
            plan_max_days: 180,
            plan_min_instalment: BTreeMap::new(),
            plan_down_payment_pct: 10,
            plan_max_replans: 1,
            plan_grace_days: 3,
            restore_service_on_plan: true,
            restore_service_on_promise: false,
        }
    }
}

/// What one agent role may grant in a segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrantLimit {
    /// The role (`agent`, `supervisor`, …).
    pub role: String,
    /// Who it applies to.
    pub segment: SegmentRule,
    /// A due date moves at most this many days.
    pub move_due_date_days: u32,
    /// The largest fee waived, per currency (absent: none).
    pub waive_fee: BTreeMap<Currency, i64>,
    /// The largest goodwill credit, per currency (absent: none).
    pub goodwill_credit: BTreeMap<Currency, i64>,
}

/// A collection agency cases may be placed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agency {
    /// Its name (the webhook endpoint's name too).
    pub name: String,
    /// The accounts it takes.
    pub segment: SegmentRule,
    /// The smallest overdue balance it takes, per currency.
    pub min_balance: BTreeMap<Currency, i64>,
    /// Its commission on amounts recovered while placed, basis points.
    pub commission_bp: u32,
    /// Days a placement lasts before the case is recalled.
    pub placement_days: u32,
}

/// A lawyer legal cases may be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lawyer {
    /// Name.
    pub name: String,
    /// Years of experience.
    pub experience_years: u32,
    /// Open cases they can carry.
    pub capacity: u32,
}

/// The rules of cases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CasePolicy {
    /// Disputes.
    pub disputes: DisputePolicy,
    /// Statutory holds.
    pub holds: HoldPolicy,
    /// Hardship.
    pub hardship: HardshipPolicy,
    /// Promise and plan limits, first matching segment wins.
    pub limits: Vec<CaseLimits>,
    /// Grants per role and segment, first match wins.
    pub grants: Vec<GrantLimit>,
    /// Agencies.
    pub agencies: Vec<Agency>,
    /// Lawyers.
    pub lawyers: Vec<Lawyer>,
}

/// The hardship reasons accepted when the file names none.
pub const HARDSHIP_REASONS: [&str; 8] = [
    "job_loss",
    "illness",
    "bereavement",
    "mental_health_crisis",
    "disability",
    "domestic_abuse",
    "income_drop",
    "other",
];

impl Default for CasePolicy {
    fn default() -> Self {
        CasePolicy {
            disputes: DisputePolicy {
                team: "disputes".into(),
                due_days: 14,
            },
            holds: HoldPolicy {
                breathing_space_days: 60,
                breathing_space_every_days: 365,
                crisis_extra_days: 30,
            },
            hardship: HardshipPolicy {
                review_days: 30,
                team: "hardship".into(),
                reasons: HARDSHIP_REASONS.iter().map(|s| s.to_string()).collect(),
            },
            limits: Vec::new(),
            grants: Vec::new(),
            agencies: Vec::new(),
            lawyers: Vec::new(),
        }
    }
}

static BUILTIN_LIMITS: std::sync::LazyLock<CaseLimits> =
    std::sync::LazyLock::new(CaseLimits::default);

impl CasePolicy {
    /// The limits for an account: the first entry whose segment matches, else the built-in.
    pub fn limits(&self, facts: &SegmentFacts) -> &CaseLimits {
        self.limits
            .iter()
            .find(|l| l.segment.matches(facts))
            .unwrap_or(&BUILTIN_LIMITS)
    }

    /// What `role` may grant on an account, if anything.
    pub fn grant(&self, role: &str, facts: &SegmentFacts) -> Option<&GrantLimit> {
        self.grants
            .iter()
            .find(|g| g.role == role && g.segment.matches(facts))
    }
}

// ---- the section as written -------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCases {
    #[serde(default)]
    disputes: Option<Spanned<RawDisputes>>,
    #[serde(default)]
    holds: Option<Spanned<RawHolds>>,
    #[serde(default)]
    hardship: Option<Spanned<RawHardship>>,
    #[serde(default)]
    limits: Vec<Spanned<RawLimits>>,
    #[serde(default)]
    grant: Vec<Spanned<RawGrant>>,
    #[serde(default)]
    agency: Vec<Spanned<RawAgency>>,
    #[serde(default)]
    lawyer: Vec<Spanned<RawLawyer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisputes {
    team: Option<String>,
    due_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHolds {
    breathing_space_days: Option<u32>,
    breathing_space_every_days: Option<u32>,
    crisis_extra_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHardship {
    review_days: Option<u32>,
    team: Option<String>,
    reasons: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    name: String,
    #[serde(default)]
    segment: Option<RawSegment>,
    promise_max_days: Option<u32>,
    promise_min_share_pct: Option<u32>,
    promise_reminder_days: Option<u32>,
    plan_max_instalments: Option<u32>,
    plan_max_days: Option<u32>,
    #[serde(default)]
    plan_min_instalment: BTreeMap<Spanned<String>, Spanned<i64>>,
    plan_down_payment_pct: Option<u32>,
    plan_max_replans: Option<u32>,
    plan_grace_days: Option<u32>,
    restore_service_on_plan: Option<bool>,
    restore_service_on_promise: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    role: String,
    #[serde(default)]
    segment: Option<RawSegment>,
    #[serde(default)]
    move_due_date_days: u32,
    #[serde(default)]
    waive_fee: BTreeMap<Spanned<String>, Spanned<i64>>,
    #[serde(default)]
    goodwill_credit: BTreeMap<Spanned<String>, Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    name: String,
    #[serde(default)]
    segment: Option<RawSegment>,
    #[serde(default)]
    min_balance: BTreeMap<Spanned<String>, Spanned<i64>>,
    commission_bp: u32,
    placement_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLawyer {
    name: String,
    experience_years: u32,
    capacity: u32,
}

impl Checker<'_> {
    fn range(&mut self, span: &std::ops::Range<usize>, key: &str, v: u32, lo: u32, hi: u32) {
        if !(lo..=hi).contains(&v) {
            self.problem(
                span.clone(),
                key,
                format!("must be within {lo}..={hi}, got {v}"),
            );
        }
    }

    fn name(&mut self, span: &std::ops::Range<usize>, key: &str, v: &str) -> String {
        let v = v.trim();
        if v.is_empty() || v.len() > 64 {
            self.problem(span.clone(), key, "must be 1 to 64 characters");
        }
        v.to_string()
    }

    pub(crate) fn cases(&mut self, raw: &RawCases, _span: std::ops::Range<usize>) -> CasePolicy {
        let mut p = CasePolicy::default();
        if let Some(d) = &raw.disputes {
            let (span, d) = (d.span(), d.get_ref());
            if let Some(t) = &d.team {
                p.disputes.team = self.name(&span, "cases.disputes.team", t);
            }
            if let Some(v) = d.due_days {
                self.range(&span, "cases.disputes.due_days", v, 1, 365);
                p.disputes.due_days = v;
            }
        }
        if let Some(h) = &raw.holds {
            let (span, h) = (h.span(), h.get_ref());
            if let Some(v) = h.breathing_space_days {
                self.range(&span, "cases.holds.breathing_space_days", v, 1, 365);
                p.holds.breathing_space_days = v;
            }
            if let Some(v) = h.breathing_space_every_days {
                self.range(&span, "cases.holds.breathing_space_every_days", v, 0, 3650);
                p.holds.breathing_space_every_days = v;
            }
            if let Some(v) = h.crisis_extra_days {
                self.range(&span, "cases.holds.crisis_extra_days", v, 0, 365);
                p.holds.crisis_extra_days = v;
            }
        }
        if let Some(h) = &raw.hardship {
            let (span, h) = (h.span(), h.get_ref());
            if let Some(v) = h.review_days {
                self.range(&span, "cases.hardship.review_days", v, 1, 365);
                p.hardship.review_days = v;
            }
            if let Some(t) = &h.team {
                p.hardship.team = self.name(&span, "cases.hardship.team", t);
            }
            if let Some(r) = &h.reasons {
                if r.is_empty() {
                    self.problem(span.clone(), "cases.hardship.reasons", "name at least one");
                }
                p.hardship.reasons = r.iter().map(|s| s.trim().to_string()).collect();
            }
        }
        for (i, l) in raw.limits.iter().enumerate() {
            let key = format!("cases.limits[{i}]");
            let (span, l) = (l.span(), l.get_ref());
            let d = CaseLimits::default();
            let segment = l.segment.as_ref().map_or_else(SegmentRule::default, |s| {
                self.segment(s, &format!("{key}.segment"))
            });
            let lim = CaseLimits {
                name: self.name(&span, &format!("{key}.name"), &l.name),
                segment,
                promise_max_days: l.promise_max_days.unwrap_or(d.promise_max_days),
                promise_min_share_pct: l.promise_min_share_pct.unwrap_or(d.promise_min_share_pct),
                promise_reminder_days: l.promise_reminder_days.unwrap_or(d.promise_reminder_days),
                plan_max_instalments: l.plan_max_instalments.unwrap_or(d.plan_max_instalments),
                plan_max_days: l.plan_max_days.unwrap_or(d.plan_max_days),
                plan_min_instalment: self.money(
                    &l.plan_min_instalment,
                    &format!("{key}.plan_min_instalment"),
                    false,
                ),
                plan_down_payment_pct: l.plan_down_payment_pct.unwrap_or(d.plan_down_payment_pct),
                plan_max_replans: l.plan_max_replans.unwrap_or(d.plan_max_replans),
                plan_grace_days: l.plan_grace_days.unwrap_or(d.plan_grace_days),
                restore_service_on_plan: l
                    .restore_service_on_plan
                    .unwrap_or(d.restore_service_on_plan),
                restore_service_on_promise: l
                    .restore_service_on_promise
                    .unwrap_or(d.restore_service_on_promise),
            };
            let checks = [
                ("promise_max_days", lim.promise_max_days, 1, 365),
                ("promise_min_share_pct", lim.promise_min_share_pct, 0, 100),
                ("promise_reminder_days", lim.promise_reminder_days, 0, 30),
                ("plan_max_instalments", lim.plan_max_instalments, 1, 60),
                ("plan_max_days", lim.plan_max_days, 1, 1830),
                ("plan_down_payment_pct", lim.plan_down_payment_pct, 0, 100),
                ("plan_max_replans", lim.plan_max_replans, 0, 12),
                ("plan_grace_days", lim.plan_grace_days, 0, 60),
            ];
            for (k, v, lo, hi) in checks {
                self.range(&span, &format!("{key}.{k}"), v, lo, hi);
            }
            if p.limits.iter().any(|x| x.name == lim.name) {
                self.problem(
                    span.clone(),
                    &format!("{key}.name"),
                    format!("limits {} are defined twice", lim.name),
                );
            }
            p.limits.push(lim);
        }
        for (i, g) in raw.grant.iter().enumerate() {
            let key = format!("cases.grant[{i}]");
            let (span, g) = (g.span(), g.get_ref());
            let segment = g.segment.as_ref().map_or_else(SegmentRule::default, |s| {
                self.segment(s, &format!("{key}.segment"))
            });
            self.range(
                &span,
                &format!("{key}.move_due_date_days"),
                g.move_due_date_days,
                0,
                365,
            );
            p.grants.push(GrantLimit {
                role: self.name(&span, &format!("{key}.role"), &g.role),
                segment,
                move_due_date_days: g.move_due_date_days,
                waive_fee: self.money(&g.waive_fee, &format!("{key}.waive_fee"), true),
                goodwill_credit: self.money(
                    &g.goodwill_credit,
                    &format!("{key}.goodwill_credit"),
                    true,
                ),
            });
        }
        for (i, a) in raw.agency.iter().enumerate() {
            let key = format!("cases.agency[{i}]");
            let (span, a) = (a.span(), a.get_ref());
            let segment = a.segment.as_ref().map_or_else(SegmentRule::default, |s| {
                self.segment(s, &format!("{key}.segment"))
            });
            self.range(
                &span,
                &format!("{key}.commission_bp"),
                a.commission_bp,
                0,
                10_000,
            );
            self.range(
                &span,
                &format!("{key}.placement_days"),
                a.placement_days,
                1,
                3650,
            );
            let name = self.name(&span, &format!("{key}.name"), &a.name);
            if p.agencies.iter().any(|x| x.name == name) {
                self.problem(
                    span.clone(),
                    &format!("{key}.name"),
                    format!("agency {name} is defined twice"),
                );
            }
            p.agencies.push(Agency {
                name,
                segment,
                min_balance: self.money(&a.min_balance, &format!("{key}.min_balance"), true),
                commission_bp: a.commission_bp,
                placement_days: a.placement_days,
            });
        }
        for (i, l) in raw.lawyer.iter().enumerate() {
            let key = format!("cases.lawyer[{i}]");
            let (span, l) = (l.span(), l.get_ref());
            self.range(
                &span,
                &format!("{key}.experience_years"),
                l.experience_years,
                0,
                80,
            );
            self.range(&span, &format!("{key}.capacity"), l.capacity, 1, 100_000);
            let name = self.name(&span, &format!("{key}.name"), &l.name);
            if p.lawyers.iter().any(|x| x.name == name) {
                self.problem(
                    span.clone(),
                    &format!("{key}.name"),
                    format!("lawyer {name} is defined twice"),
                );
            }
            p.lawyers.push(Lawyer {
                name,
                experience_years: l.experience_years,
                capacity: l.capacity,
            });
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{DEFAULT_SCENARIOS, ScenarioSet};

    #[test]
    fn the_builtin_file_sets_limits_grants_agencies_and_lawyers() {
        let set = ScenarioSet::builtin().unwrap();
        let c = &set.cases;
        assert_eq!(c.holds.breathing_space_days, 60);
        assert!(!c.limits.is_empty());
        assert!(c.grants.iter().any(|g| g.role == "agent"));
        assert!(!c.agencies.is_empty());
        assert!(!c.lawyers.is_empty());
    }

    #[test]
    fn bad_case_rules_are_reported_with_their_key() {
        let text =
            DEFAULT_SCENARIOS.replace("promise_min_share_pct = 50", "promise_min_share_pct = 150");
        assert_ne!(text, DEFAULT_SCENARIOS, "the built-in file sets the share");
        let e = ScenarioSet::parse("s.toml", &text).unwrap_err().to_string();
        assert!(e.contains("promise_min_share_pct"), "{e}");
        assert!(e.contains("0..=100"), "{e}");
        let text = DEFAULT_SCENARIOS.replace("[cases.holds]", "[cases.holds]\nbogus = 1");
        let e = ScenarioSet::parse("s.toml", &text).unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}
