//! Scenarios: which escalation applies to which segment, step by step — read from TOML and
//! checked before use.
//!
//! A scenario set is one TOML file: `[settings]`, cure thresholds per currency, the reversal
//! policy, and `[[scenario]]`s, each with a segment (first match wins; exactly one `default`
//! scenario catches the rest) and ordered `[[scenario.step]]`s. Every mistake is reported with
//! the file, line, column and key (`scenario[2].step[1].channel`), all of them at once, so a
//! collections manager fixes a file in one pass. Nothing here decides anything: [`crate::decide`]
//! reads a checked [`ScenarioSet`].

use forbear_core::{
    AccountId, Channel, Currency, CustomerType, Product, ServiceLevel, SubscriptionType, Tone,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use toml::Spanned;

use crate::action::ActionKind;
use crate::event::RiskBand;

/// One mistake in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioProblem {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the problem is the file as a whole).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key at fault, as a path (`scenario[0].step[2].action`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.key, self.message
        )
    }
}

/// A scenario file that cannot be used: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The problems, in file order.
    pub problems: Vec<ScenarioProblem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) in the scenario file", self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// What starts a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// The case reaches this many days past due (negative: days before the due date).
    Dpd(i32),
    /// An event of this kind, after the case opened.
    Event(TriggerEvent),
    /// This many days after the previous step ran.
    AfterDays(u32),
}

/// Events a step can be triggered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TriggerEvent {
    /// A new invoice.
    InvoiceIssued,
    /// A payment (that did not cure the case).
    PaymentReceived,
    /// A payment bounced.
    PaymentReversed,
    /// A promise passed its date (plus grace) unpaid.
    PromiseBroken,
    /// A payment plan's instalment was missed.
    PlanInstalmentMissed,
    /// A dispute opened.
    DisputeOpened,
    /// A dispute was resolved (rejected, or upheld without curing).
    DisputeResolved,
}

impl TriggerEvent {
    /// Every trigger event.
    pub const ALL: [TriggerEvent; 7] = [
        TriggerEvent::InvoiceIssued,
        TriggerEvent::PaymentReceived,
        TriggerEvent::PaymentReversed,
        TriggerEvent::PromiseBroken,
        TriggerEvent::PlanInstalmentMissed,
        TriggerEvent::DisputeOpened,
        TriggerEvent::DisputeResolved,
    ];

    /// The name in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerEvent::InvoiceIssued => "invoice_issued",
            TriggerEvent::PaymentReceived => "payment_received",
            TriggerEvent::PaymentReversed => "payment_reversed",
            TriggerEvent::PromiseBroken => "promise_broken",
            TriggerEvent::PlanInstalmentMissed => "plan_instalment_missed",
            TriggerEvent::DisputeOpened => "dispute_opened",
            TriggerEvent::DisputeResolved => "dispute_resolved",
        }
    }
}

/// How a contact step picks its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelChoice {
    /// Always this channel.
    Fixed(Channel),
    /// Ask the recommender (channel, time and tone).
    Recommend,
}

/// A step's conditions, checked when its trigger holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Conditions {
    /// The overdue amount must be at least this much (per currency, minor units).
    pub min_overdue: BTreeMap<Currency, i64>,
    /// The account's risk band must be one of these.
    pub risk_band: Option<BTreeSet<RiskBand>>,
    /// No dispute may be open on the account.
    pub no_open_dispute: bool,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Step {
    /// Unique name within the scenario (it keys the step's effects).
    pub name: String,
    /// What starts it.
    pub trigger: Trigger,
    /// What must hold.
    pub when: Conditions,
    /// What it does.
    pub action: ActionKind,
    /// Contact steps: the channel.
    pub channel: ChannelChoice,
    /// Contact steps: the tone (None: the recommender's, else neutral).
    pub tone: Option<Tone>,
    /// Contact steps: channels to switch to, in order, when the chosen one is blocked.
    pub fallback: Vec<Channel>,
    /// Contact steps: the local send time the step fixes (else the recommender's, else at once).
    pub send_time: Option<chrono::NaiveTime>,
    /// Contact steps: the purpose whose templates are used (`promise_reminder`,
    /// `dispute_rejected`, …) instead of the dunning templates; the engine's case steps set it.
    pub purpose: Option<String>,
    /// Late fee per currency, minor units.
    pub fee: BTreeMap<Currency, i64>,
    /// Agency placement: the agency.
    pub agency: Option<String>,
    /// Call-back: the team's queue.
    pub team: Option<String>,
}

/// Who a scenario applies to; an empty rule matches everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SegmentRule {
    /// Customer types.
    pub customer_type: Option<BTreeSet<CustomerType>>,
    /// Subscription types.
    pub subscription_type: Option<BTreeSet<SubscriptionType>>,
    /// Service levels.
    pub service_level: Option<BTreeSet<ServiceLevel>>,
    /// Products.
    pub product: Option<BTreeSet<Product>>,
    /// Risk bands (an account without a band matches no band rule).
    pub risk_band: Option<BTreeSet<RiskBand>>,
    /// Child accounts of these corporate parents.
    pub parent: Option<BTreeSet<AccountId>>,
    /// Only child accounts (true) or only stand-alone accounts (false).
    pub child: Option<bool>,
}

/// What a segment is matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFacts {
    /// Customer type.
    pub customer_type: CustomerType,
    /// Subscription type.
    pub subscription_type: SubscriptionType,
    /// Service level.
    pub service_level: ServiceLevel,
    /// Product.
    pub product: Product,
    /// Risk band, when assessed.
    pub risk_band: Option<RiskBand>,
    /// Corporate parent.
    pub parent: Option<AccountId>,
}

fn within<T: Ord>(set: &Option<BTreeSet<T>>, v: &T) -> bool {
    set.as_ref().is_none_or(|s| s.contains(v))
}

impl SegmentRule {
    /// Whether an account with these facts is in the segment.
    pub fn matches(&self, f: &SegmentFacts) -> bool {
        within(&self.customer_type, &f.customer_type)
            && within(&self.subscription_type, &f.subscription_type)
            && within(&self.service_level, &f.service_level)
            && within(&self.product, &f.product)
            && self
                .risk_band
                .as_ref()
                .is_none_or(|s| f.risk_band.is_some_and(|b| s.contains(&b)))
            && self
                .parent
                .as_ref()
                .is_none_or(|s| f.parent.is_some_and(|p| s.contains(&p)))
            && self.child.is_none_or(|c| c == f.parent.is_some())
    }

    fn is_empty(&self) -> bool {
        *self == SegmentRule::default()
    }
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scenario {
    /// Unique name.
    pub name: String,
    /// Who it applies to.
    pub segment: SegmentRule,
    /// The catch-all scenario.
    pub default: bool,
    /// The forbearance scenario for accounts in hardship (no service cut, no fee, no agency).
    pub forbearance: bool,
    /// Ordered steps.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The earliest DPD at which a case opens under this scenario for an account in risk band
    /// `band`: its most negative DPD trigger among the steps whose risk condition the account
    /// meets (a pre-due nudge for high-risk accounts opens no case for the others); 1 when none
    /// is earlier.
    pub fn opens_at_dpd(&self, band: Option<RiskBand>) -> i32 {
        self.steps
            .iter()
            .filter(|s| {
                s.when
                    .risk_band
                    .as_ref()
                    .is_none_or(|set| band.is_some_and(|b| set.contains(&b)))
            })
            .filter_map(|s| match s.trigger {
                Trigger::Dpd(d) => Some(d),
                _ => None,
            })
            .min()
            .map_or(1, |d| d.min(1))
    }
}

/// Engine settings carried by the scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A closed case re-opens where it was when a payment is reversed within this many days.
    pub reopen_days: u32,
    /// A contact step whose trigger passed more than this many days ago is skipped as stale.
    pub stale_contact_days: u32,
    /// Days after a promise's date before it counts as broken.
    pub promise_grace_days: u32,
    /// Days ahead the contact rules are searched for an allowed time.
    pub postpone_horizon_days: u32,
    /// The customer's self-service link; `{account}` is replaced by the account id.
    pub self_service_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reopen_days: 60,
            stale_contact_days: 3,
            promise_grace_days: 2,
            postpone_horizon_days: 7,
            self_service_url: "https://pay.example.com/a/{account}".into(),
        }
    }
}

/// Which reversals run when a case cures (the rest always run: service is restored, pending
/// contacts cancelled, the case recalled from an agency).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReversalPolicy {
    /// Waive late fees charged in the case.
    pub waive_fees_on_cure: bool,
    /// Remove the CRM blacklist flag.
    pub lift_blacklist_on_cure: bool,
    /// Withdraw a legal referral.
    pub withdraw_legal_on_cure: bool,
}

impl Default for ReversalPolicy {
    fn default() -> Self {
        ReversalPolicy {
            waive_fees_on_cure: false,
            lift_blacklist_on_cure: true,
            withdraw_legal_on_cure: true,
        }
    }
}

/// A checked scenario set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioSet {
    /// Where it was read from.
    pub source: String,
    /// SHA-256 of the text (first 12 hex digits): the version on timelines.
    pub version: String,
    /// Settings.
    pub settings: Settings,
    /// A case is open while the overdue amount exceeds this (per currency, minor units); at or
    /// under it, the account is cured.
    pub thresholds: BTreeMap<Currency, i64>,
    /// Reversal policy.
    pub policy: ReversalPolicy,
    /// Scenarios in matching order.
    pub scenarios: Vec<Scenario>,
    /// The rules of cases: promises, plans, disputes, grants, holds, agencies, lawyers.
    pub cases: crate::policy::CasePolicy,
}

/// The scenario set built into the binary (`crates/engine/scenarios/default.toml`).
pub const DEFAULT_SCENARIOS: &str = include_str!("../scenarios/default.toml");

impl ScenarioSet {
    /// The built-in scenario set.
    pub fn builtin() -> Result<ScenarioSet, ScenarioError> {
        ScenarioSet::parse("<built-in scenarios>", DEFAULT_SCENARIOS)
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<ScenarioSet, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            problems: vec![ScenarioProblem {
                file: file.clone(),
                line: 0,
                column: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            }],
        })?;
        ScenarioSet::parse(&file, &text)
    }

    /// Checks scenario text; `file` names it in problems.
    pub fn parse(file: &str, text: &str) -> Result<ScenarioSet, ScenarioError> {
        let mut check = Checker {
            file,
            text,
            problems: Vec::new(),
        };
        let raw: RawSet = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let (line, column) = e.span().map_or((0, 0), |s| check.position(s.start));
                return Err(ScenarioError {
                    problems: vec![ScenarioProblem {
                        file: file.into(),
                        line,
                        column,
                        key: String::new(),
                        message: e.message().trim().to_string(),
                    }],
                });
            }
        };
        let set = check.set(raw);
        if check.problems.is_empty() {
            Ok(set)
        } else {
            Err(ScenarioError {
                problems: check.problems,
            })
        }
    }

    /// The scenario for an account: the one assigned by an agent if it exists, the forbearance
    /// scenario under hardship, else the first whose segment matches, else the default.
    pub fn select(
        &self,
        facts: &SegmentFacts,
        assigned: Option<&str>,
        hardship: bool,
    ) -> (&Scenario, String) {
        if let Some(name) = assigned
            && let Some(s) = self.scenarios.iter().find(|s| s.name == name)
        {
            return (s, format!("assigned by an agent to {name}"));
        }
        if hardship && let Some(s) = self.scenarios.iter().find(|s| s.forbearance) {
            return (s, "hardship declared: forbearance scenario".into());
        }
        if let Some(s) = self
            .scenarios
            .iter()
            .find(|s| !s.default && !s.forbearance && s.segment.matches(facts))
        {
            return (s, format!("segment of scenario {} matches", s.name));
        }
        let d = self
            .scenarios
            .iter()
            .find(|s| s.default)
            .unwrap_or(&self.scenarios[0]);
        (d, "no segment matched: default scenario".into())
    }

    /// The cure threshold for a currency (0 when the file names none for it).
    pub fn threshold(&self, c: Currency) -> i64 {
        self.thresholds.get(&c).copied().unwrap_or(0)
    }

    /// A scenario by name.
    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

// ---- the file as written -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    #[serde(default)]
    settings: Option<Spanned<Settings>>,
    #[serde(default)]
    thresholds: BTreeMap<Spanned<String>, Spanned<i64>>,
    #[serde(default)]
    policy: ReversalPolicy,
    #[serde(default)]
    scenario: Vec<Spanned<RawScenario>>,
    #[serde(default)]
    cases: Option<Spanned<crate::policy::RawCases>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    forbearance: bool,
    #[serde(default)]
    segment: Option<Spanned<RawSegment>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSegment {
    customer_type: Option<Vec<Spanned<String>>>,
    subscription_type: Option<Vec<Spanned<String>>>,
    service_level: Option<Vec<Spanned<String>>>,
    product: Option<Vec<Spanned<String>>>,
    risk_band: Option<Vec<Spanned<String>>>,
    parent: Option<Vec<Spanned<i64>>>,
    child: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Spanned<String>,
    dpd: Option<Spanned<i32>>,
    event: Option<Spanned<String>>,
    after_days: Option<Spanned<u32>>,
    action: Spanned<String>,
    channel: Option<Spanned<String>>,
    tone: Option<Spanned<String>>,
    send_time: Option<Spanned<String>>,
    #[serde(default)]
    fallback: Vec<Spanned<String>>,
    #[serde(default)]
    fee: BTreeMap<Spanned<String>, Spanned<i64>>,
    agency: Option<Spanned<String>>,
    team: Option<Spanned<String>>,
    #[serde(default)]
    when: Option<Spanned<RawWhen>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    #[serde(default)]
    min_overdue: BTreeMap<Spanned<String>, Spanned<i64>>,
    risk_band: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    no_open_dispute: bool,
}

pub(crate) struct Checker<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
    pub(crate) problems: Vec<ScenarioProblem>,
}

impl Checker<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    pub(crate) fn problem(
        &mut self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) {
        let (line, column) = self.position(span.start);
        self.problems.push(ScenarioProblem {
            file: self.file.into(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    pub(crate) fn parse_one<T>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(v.get_ref()) {
            Ok(x) => Some(x),
            Err(e) => {
                self.problem(v.span(), key, e);
                None
            }
        }
    }

    fn names<T: Ord>(
        &mut self,
        list: &Option<Vec<Spanned<String>>>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<BTreeSet<T>> {
        let list = list.as_ref()?;
        let mut out = BTreeSet::new();
        for (i, v) in list.iter().enumerate() {
            if let Some(x) = self.parse_one(v, &format!("{key}[{i}]"), &parse) {
                out.insert(x);
            }
        }
        Some(out)
    }

    pub(crate) fn money(
        &mut self,
        map: &BTreeMap<Spanned<String>, Spanned<i64>>,
        key: &str,
        allow_zero: bool,
    ) -> BTreeMap<Currency, i64> {
        let mut out = BTreeMap::new();
        for (c, v) in map {
            let k = format!("{key}.{}", c.get_ref());
            let Some(cur) =
                self.parse_one(c, &k, |s| Currency::parse(s).map_err(|e| e.to_string()))
            else {
                continue;
            };
            let amount = *v.get_ref();
            if amount < 0 || (amount == 0 && !allow_zero) {
                self.problem(
                    v.span(),
                    &k,
                    format!("an amount in minor units must be positive, got {amount}"),
                );
                continue;
            }
            out.insert(cur, amount);
        }
        out
    }

    fn set(&mut self, raw: RawSet) -> ScenarioSet {
        let settings = raw.settings.map(Spanned::into_inner).unwrap_or_default();
        if !settings.self_service_url.contains("{account}") {
            self.problems.push(ScenarioProblem {
                file: self.file.into(),
                line: 0,
                column: 0,
                key: "settings.self_service_url".into(),
                message: "must contain {account}".into(),
            });
        }
        let ranges = [
            ("settings.reopen_days", settings.reopen_days, 0, 3650),
            (
                "settings.stale_contact_days",
                settings.stale_contact_days,
                0,
                365,
            ),
            (
                "settings.promise_grace_days",
                settings.promise_grace_days,
                0,
                365,
            ),
            (
                "settings.postpone_horizon_days",
                settings.postpone_horizon_days,
                1,
                30,
            ),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                self.problems.push(ScenarioProblem {
                    file: self.file.into(),
                    line: 0,
                    column: 0,
                    key: key.into(),
                    message: format!("must be within {lo}..={hi}, got {v}"),
                });
            }
        }
        let thresholds = self.money(&raw.thresholds, "thresholds", true);
        let mut scenarios = Vec::new();
        let mut names = BTreeSet::new();
        for (i, s) in raw.scenario.iter().enumerate() {
            let key = format!("scenario[{i}]");
            if let Some(sc) = self.scenario(s.get_ref(), &key) {
                if !names.insert(sc.name.clone()) {
                    self.problem(
                        s.get_ref().name.span(),
                        &format!("{key}.name"),
                        format!("scenario {} is defined twice", sc.name),
                    );
                }
                scenarios.push(sc);
            }
        }
        let defaults: Vec<usize> = scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| s.default)
            .map(|(i, _)| i)
            .collect();
        if defaults.len() != 1 {
            let span = raw
                .scenario
                .get(defaults.get(1).copied().unwrap_or(0))
                .map_or(0..0, |s| s.span());
            self.problem(
                span,
                "scenario",
                format!(
                    "exactly one scenario must have default = true (it catches every account no segment matches), found {}",
                    defaults.len()
                ),
            );
        }
        if scenarios.iter().filter(|s| s.forbearance).count() > 1 {
            self.problem(
                0..0,
                "scenario",
                "at most one scenario may be the forbearance scenario",
            );
        }
        let cases = match &raw.cases {
            Some(c) => self.cases(c.get_ref(), c.span()),
            None => crate::policy::CasePolicy::default(),
        };
        for (i, (sc, raw_sc)) in scenarios.iter().zip(&raw.scenario).enumerate() {
            for (j, st) in sc.steps.iter().enumerate() {
                if st.action != ActionKind::AgencyPlacement {
                    continue;
                }
                let key = format!("scenario[{i}].step[{j}].agency");
                match &st.agency {
                    Some(a)
                        if !cases.agencies.is_empty()
                            && !cases.agencies.iter().any(|x| x.name == *a) =>
                    {
                        self.problem(
                        raw_sc.span(),
                        &key,
                        format!("agency {a:?} is not one of [[cases.agency]]"),
                    )
                    }
                    None if cases.agencies.is_empty() => self.problem(
                        raw_sc.span(),
                        &key,
                        "an agency placement names the agency, or [[cases.agency]] lists those to choose from",
                    ),
                    _ => {}
                }
            }
        }
        let mut hasher = Sha256::new();
        hasher.update(self.text.as_bytes());
        let digest = hasher.finalize();
        let version = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        ScenarioSet {
            source: self.file.into(),
            version,
            settings,
            thresholds,
            policy: raw.policy,
            scenarios,
            cases,
        }
    }

    fn scenario(&mut self, raw: &RawScenario, key: &str) -> Option<Scenario> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.problem(raw.name.span(), &format!("{key}.name"), "must not be empty");
        }
        let segment = match &raw.segment {
            Some(seg) => self.segment(seg.get_ref(), &format!("{key}.segment")),
            None => SegmentRule::default(),
        };
        if raw.default && !segment.is_empty() {
            let span = raw.segment.as_ref().map_or(raw.name.span(), |s| s.span());
            self.problem(
                span,
                &format!("{key}.segment"),
                "the default scenario catches every account: it has no segment",
            );
        }
        let mut steps: Vec<Step> = Vec::new();
        for (j, st) in raw.step.iter().enumerate() {
            let skey = format!("{key}.step[{j}]");
            if let Some(step) = self.step(st.get_ref(), &skey, j, raw.forbearance) {
                if steps.iter().any(|s| s.name == step.name) {
                    self.problem(
                        st.get_ref().name.span(),
                        &format!("{skey}.name"),
                        format!("step {} appears twice in this scenario", step.name),
                    );
                }
                steps.push(step);
            }
        }
        if raw.step.is_empty() {
            self.problem(
                raw.name.span(),
                &format!("{key}.step"),
                "a scenario needs at least one step",
            );
        }
        Some(Scenario {
            name,
            segment,
            default: raw.default,
            forbearance: raw.forbearance,
            steps,
        })
    }

    pub(crate) fn segment(&mut self, raw: &RawSegment, key: &str) -> SegmentRule {
        SegmentRule {
            customer_type: self.names(&raw.customer_type, &format!("{key}.customer_type"), |s| {
                CustomerType::parse(s).map_err(|e| e.to_string())
            }),
            subscription_type: self.names(
                &raw.subscription_type,
                &format!("{key}.subscription_type"),
                |s| SubscriptionType::parse(s).map_err(|e| e.to_string()),
            ),
            service_level: self.names(&raw.service_level, &format!("{key}.service_level"), |s| {
                ServiceLevel::parse(s).map_err(|e| e.to_string())
            }),
            product: self.names(&raw.product, &format!("{key}.product"), |s| {
                Product::parse(s).map_err(|e| e.to_string())
            }),
            risk_band: self.names(&raw.risk_band, &format!("{key}.risk_band"), parse_band),
            parent: raw.parent.as_ref().map(|ps| {
                ps.iter()
                    .enumerate()
                    .filter_map(|(i, p)| match AccountId::new(*p.get_ref()) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            self.problem(p.span(), &format!("{key}.parent[{i}]"), e.to_string());
                            None
                        }
                    })
                    .collect()
            }),
            child: raw.child,
        }
    }

    fn step(&mut self, raw: &RawStep, key: &str, index: usize, forbearance: bool) -> Option<Step> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        {
            self.problem(
                raw.name.span(),
                &format!("{key}.name"),
                format!("a step name is letters, digits, - and _, got {name:?}"),
            );
        }
        let triggers = [
            raw.dpd.is_some(),
            raw.event.is_some(),
            raw.after_days.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        let trigger = if triggers != 1 {
            self.problem(
                raw.name.span(),
                key,
                "a step has exactly one trigger: dpd, event or after_days",
            );
            None
        } else if let Some(d) = &raw.dpd {
            let v = *d.get_ref();
            if !(-30..=3650).contains(&v) {
                self.problem(
                    d.span(),
                    &format!("{key}.dpd"),
                    format!("dpd must be within -30..=3650, got {v}"),
                );
            }
            Some(Trigger::Dpd(v))
        } else if let Some(e) = &raw.event {
            self.parse_one(e, &format!("{key}.event"), |s| {
                TriggerEvent::ALL
                    .into_iter()
                    .find(|t| t.as_str() == s)
                    .map(Trigger::Event)
                    .ok_or_else(|| {
                        format!(
                            "unknown event {s:?}; expected one of {}",
                            TriggerEvent::ALL.map(TriggerEvent::as_str).join(", ")
                        )
                    })
            })
        } else if let Some(a) = &raw.after_days {
            if index == 0 {
                self.problem(
                    a.span(),
                    &format!("{key}.after_days"),
                    "the first step has no previous step to count from",
                );
            }
            if *a.get_ref() > 3650 {
                self.problem(
                    a.span(),
                    &format!("{key}.after_days"),
                    format!("after_days must be within 0..=3650, got {}", a.get_ref()),
                );
            }
            Some(Trigger::AfterDays(*a.get_ref()))
        } else {
            None
        };
        let action = self.parse_one(&raw.action, &format!("{key}.action"), |s| {
            ActionKind::parse(s).ok_or_else(|| {
                format!(
                    "unknown action {s:?}; expected one of {}",
                    ActionKind::ALL.map(ActionKind::as_str).join(", ")
                )
            })
        });
        let channel = match &raw.channel {
            None => ChannelChoice::Recommend,
            Some(c) if c.get_ref() == "recommend" => ChannelChoice::Recommend,
            Some(c) => self
                .parse_one(c, &format!("{key}.channel"), |s| {
                    Channel::parse(s)
                        .map(ChannelChoice::Fixed)
                        .map_err(|e| format!("{e}, or recommend"))
                })
                .unwrap_or(ChannelChoice::Recommend),
        };
        let tone = raw.tone.as_ref().and_then(|t| {
            self.parse_one(t, &format!("{key}.tone"), |s| {
                Tone::parse(s).map_err(|e| e.to_string())
            })
        });
        let fallback: Vec<Channel> = raw
            .fallback
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                self.parse_one(c, &format!("{key}.fallback[{i}]"), |s| {
                    Channel::parse(s).map_err(|e| e.to_string())
                })
            })
            .collect();
        let send_time = raw.send_time.as_ref().and_then(|t| {
            self.parse_one(t, &format!("{key}.send_time"), |s| {
                chrono::NaiveTime::parse_from_str(s, "%H:%M")
                    .map_err(|_| format!("a local time HH:MM, got {s:?}"))
            })
        });
        let fee = self.money(&raw.fee, &format!("{key}.fee"), false);
        let when = raw
            .when
            .as_ref()
            .map(|w| {
                let w = w.get_ref();
                Conditions {
                    min_overdue: self.money(
                        &w.min_overdue,
                        &format!("{key}.when.min_overdue"),
                        true,
                    ),
                    risk_band: self.names(
                        &w.risk_band,
                        &format!("{key}.when.risk_band"),
                        parse_band,
                    ),
                    no_open_dispute: w.no_open_dispute,
                }
            })
            .unwrap_or_default();
        let action = action?;
        // Fields that belong to other actions are mistakes, not silently ignored settings.
        let at = |o: bool| if o { Some(()) } else { None };
        let misplaced = [
            (
                "channel",
                raw.channel.as_ref().map(|c| c.span()),
                action.is_contact(),
            ),
            (
                "tone",
                raw.tone.as_ref().map(|c| c.span()),
                action.is_contact(),
            ),
            (
                "send_time",
                raw.send_time.as_ref().map(|c| c.span()),
                action.is_contact(),
            ),
            (
                "fallback",
                raw.fallback.first().map(|c| c.span()),
                action.is_contact(),
            ),
            (
                "fee",
                raw.fee.keys().next().map(|c| c.span()),
                action == ActionKind::LateFee,
            ),
            (
                "agency",
                raw.agency.as_ref().map(|c| c.span()),
                action == ActionKind::AgencyPlacement,
            ),
            (
                "team",
                raw.team.as_ref().map(|c| c.span()),
                action == ActionKind::CallBack,
            ),
        ];
        for (field, span, allowed) in misplaced {
            if let Some(span) = span
                && at(allowed).is_none()
            {
                self.problem(
                    span,
                    &format!("{key}.{field}"),
                    format!("{field} does not apply to action {action}"),
                );
            }
        }
        if action == ActionKind::LateFee && fee.is_empty() {
            self.problem(
                raw.action.span(),
                &format!("{key}.fee"),
                "a late fee step needs fee = { CUR = minor units }",
            );
        }
        if action == ActionKind::CallBack
            && channel != ChannelChoice::Recommend
            && channel != ChannelChoice::Fixed(Channel::AgentCall)
        {
            self.problem(
                raw.action.span(),
                &format!("{key}.channel"),
                "a call-back is an agent call",
            );
        }
        if forbearance && !matches!(action, ActionKind::Notify | ActionKind::CallBack) {
            self.problem(
                raw.action.span(),
                &format!("{key}.action"),
                format!("the forbearance scenario only contacts (empathetically); {action} is not allowed"),
            );
        }
        if forbearance
            && tone.is_some_and(|t| t != Tone::Empathetic)
            && let Some(t) = &raw.tone
        {
            self.problem(
                t.span(),
                &format!("{key}.tone"),
                "the forbearance scenario uses the empathetic tone only",
            );
        }
        Some(Step {
            name,
            trigger: trigger?,
            when,
            action,
            channel: if action == ActionKind::CallBack {
                ChannelChoice::Fixed(Channel::AgentCall)
            } else {
                channel
            },
            tone: if forbearance {
                Some(Tone::Empathetic)
            } else {
                tone
            },
            purpose: None,
            fallback,
            send_time,
            fee,
            agency: raw.agency.as_ref().map(|a| a.get_ref().clone()),
            team: raw.team.as_ref().map(|a| a.get_ref().clone()),
        })
    }
}

fn parse_band(s: &str) -> Result<RiskBand, String> {
    RiskBand::parse(s).ok_or_else(|| format!("unknown risk band {s:?}; expected A, B, C, D or E"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_set_is_valid() {
        let s = ScenarioSet::builtin().unwrap();
        assert!(s.scenarios.iter().any(|s| s.default));
        assert!(s.scenarios.iter().any(|s| s.forbearance));
    }

    #[test]
    fn problems_name_file_line_and_key_all_at_once() {
        let text = r#"
[[scenario]]
name = "a"
default = true

[[scenario.step]]
name = "sms"
dpd = 1
action = "notify"
channel = "pigeon"

[[scenario.step]]
name = "fee"
dpd = 5
action = "late_fee"
"#;
        let e = ScenarioSet::parse("s.toml", text).unwrap_err();
        let msgs: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
        assert!(
            msgs[0].starts_with("s.toml:10:11: scenario[0].step[0].channel:"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("scenario[0].step[1].fee") && m.contains("late fee step")),
            "{msgs:?}"
        );
    }

    #[test]
    fn a_default_scenario_is_required_and_unknown_keys_are_refused() {
        let text = "[[scenario]]\nname = \"a\"\n[[scenario.step]]\nname = \"x\"\ndpd = 1\naction = \"notify\"\n";
        let e = ScenarioSet::parse("s.toml", text).unwrap_err();
        assert!(e.to_string().contains("default = true"), "{e}");
        let e = ScenarioSet::parse("s.toml", "[[scenario]]\nnme = 1\n").unwrap_err();
        assert_eq!(e.problems[0].line, 2, "{e}");
        assert!(e.problems[0].message.contains("nme"), "{e}");
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let text = "[settings]\npostpone_horizon_days = 400\n[[scenario]]\nname = \"a\"\ndefault = true\n[[scenario.step]]\nname = \"x\"\ndpd = 1\naction = \"notify\"\n[[scenario.step]]\nname = \"y\"\nafter_days = 99999\naction = \"notify\"\n";
        let e = ScenarioSet::parse("s.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("settings.postpone_horizon_days: must be within 1..=30"),
            "{e}"
        );
        assert!(e.contains("scenario[0].step[1].after_days"), "{e}");
    }

    #[test]
    fn first_matching_segment_wins_and_forbearance_takes_hardship() {
        let s = ScenarioSet::builtin().unwrap();
        let f = SegmentFacts {
            customer_type: CustomerType::Enterprise,
            subscription_type: SubscriptionType::Postpaid,
            service_level: ServiceLevel::Premium,
            product: Product::Mobile,
            risk_band: Some(RiskBand::A),
            parent: None,
        };
        let (sc, _) = s.select(&f, None, false);
        assert_eq!(sc.name, "business");
        let (sc, why) = s.select(&f, None, true);
        assert!(sc.forbearance, "{why}");
        let (sc, _) = s.select(
            &SegmentFacts {
                customer_type: CustomerType::Consumer,
                risk_band: None,
                ..f
            },
            None,
            false,
        );
        assert!(sc.default);
    }
}
