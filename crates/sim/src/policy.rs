//! The logging policy: how past dunning was done, so that history carries honest propensities.
//!
//! A static scenario per segment (steps by days relative to the due date) with randomised
//! exploration: at each step, with probability [`LoggingPolicy::exploration`] the action is drawn
//! uniformly from every allowed channel × send window × tone; otherwise the step's default action
//! is taken. The probability of the logged action under this mixture is its propensity. Every
//! candidate action passes [`ContactRules`] first, so history never shows a contact the rules
//! forbid.

use crate::customer::Customer;
use crate::rng::Rng;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use forbear_core::rules::ContactRules;
use forbear_core::{Channel, ContactAction, CustomerType, SendWindow, Tone};

/// A step of a static scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Days past due at which it fires (negative: before the due date).
    pub day: i32,
    /// The default action.
    pub action: ContactAction,
}

const fn step(day: i32, channel: Channel, window: SendWindow, tone: Tone) -> Step {
    Step {
        day,
        action: ContactAction {
            channel,
            window,
            tone,
        },
    }
}

use Channel as C;
use SendWindow as W;
use Tone as T;

/// Consumers, students, military.
const CONSUMER: &[Step] = &[
    step(-3, C::Sms, W::H17To19, T::Friendly),
    step(2, C::Sms, W::H17To19, T::Friendly),
    step(5, C::Email, W::H08To10, T::Neutral),
    step(9, C::Ivr, W::H17To19, T::Neutral),
    step(14, C::AgentCall, W::H10To12, T::Firm),
    step(21, C::Letter, W::H10To12, T::Firm),
    step(30, C::AgentCall, W::H17To19, T::Firm),
    step(45, C::Letter, W::H10To12, T::Firm),
    step(60, C::AgentCall, W::H17To19, T::Firm),
    step(75, C::Letter, W::H10To12, T::Firm),
];

/// Small businesses, enterprises, government: office hours, e-mail first.
const BUSINESS: &[Step] = &[
    step(1, C::Email, W::H10To12, T::Neutral),
    step(7, C::Email, W::H10To12, T::Neutral),
    step(14, C::AgentCall, W::H10To12, T::Neutral),
    step(21, C::Letter, W::H10To12, T::Firm),
    step(30, C::AgentCall, W::H10To12, T::Firm),
    step(45, C::Letter, W::H10To12, T::Firm),
    step(60, C::AgentCall, W::H14To17, T::Firm),
];

/// VIP customers: gentler and personal.
const VIP: &[Step] = &[
    step(3, C::Email, W::H10To12, T::Friendly),
    step(10, C::AgentCall, W::H17To19, T::Friendly),
    step(20, C::AgentCall, W::H17To19, T::Neutral),
    step(35, C::Letter, W::H10To12, T::Neutral),
    step(60, C::AgentCall, W::H17To19, T::Firm),
];

/// The name logged in `contacts.policy`.
pub const POLICY_NAME: &str = "static-scenarios-v1+uniform-exploration";

/// A contact the logging policy decided on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The action.
    pub action: ContactAction,
    /// When it is sent.
    pub at: DateTime<Utc>,
    /// Probability with which the policy chose this action.
    pub propensity: f64,
    /// Drawn by exploration.
    pub explored: bool,
    /// Number of actions the rules allowed at this step.
    pub allowed: u32,
    /// Whether the step's default action was among them.
    pub default_allowed: bool,
    /// Whether the action taken is the step's default (whether or not exploration drew it).
    pub is_default: bool,
}

/// The logging policy.
#[derive(Debug, Clone)]
pub struct LoggingPolicy {
    /// Share of steps whose action is drawn uniformly from the allowed set.
    pub exploration: f64,
    /// The contact rules every action passes.
    pub rules: ContactRules,
}

impl Default for LoggingPolicy {
    fn default() -> Self {
        LoggingPolicy {
            exploration: 0.2,
            rules: ContactRules::default(),
        }
    }
}

impl LoggingPolicy {
    /// The scenario of a customer type.
    pub fn scenario(customer_type: CustomerType) -> &'static [Step] {
        match customer_type {
            CustomerType::SmallBusiness | CustomerType::Enterprise | CustomerType::Government => {
                BUSINESS
            }
            CustomerType::Vip => VIP,
            _ => CONSUMER,
        }
    }

    /// The step that fires today for a customer, if any.
    pub fn step_today(&self, c: &Customer, date: NaiveDate) -> Option<Step> {
        if !c.has_open_invoices() {
            return None;
        }
        let v = c.view(date);
        if v.balance <= 0 || v.promise_open || v.churned && v.days_past_due < 0 {
            return None;
        }
        let steps = Self::scenario(c.profile.customer_type);
        let s = steps.iter().find(|s| s.day == v.days_past_due)?;
        // Preventive nudges only for manual payers who were late before.
        if s.day < 0 && (c.profile.autopay || v.late_invoices == 0) {
            return None;
        }
        Some(*s)
    }

    /// Decides today's contact for a customer: the step's default action or an exploratory one,
    /// among the actions the rules allow, with the propensity of the one chosen.
    pub fn decide(&self, c: &Customer, date: NaiveDate, rng: &mut Rng) -> Option<Decision> {
        let step = self.step_today(c, date)?;
        let facts = c.contact_facts(date);
        // One send instant per window, drawn before choosing, so the allowed set is known.
        let instants: Vec<DateTime<Utc>> = SendWindow::ALL
            .iter()
            .map(|w| {
                let m = w.start_hour() * 60 + rng.below(u64::from(w.minutes())) as u32;
                c.profile.zone.at(
                    date,
                    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN),
                )
            })
            .collect();
        // Tone only matters to the hardship rule: check each channel and window once.
        let tones: &[Tone] = if facts.hardship {
            &[Tone::Empathetic]
        } else {
            Tone::ALL
        };
        let mut allowed: Vec<(ContactAction, DateTime<Utc>)> = Vec::new();
        for &channel in Channel::ALL {
            for (wi, &window) in SendWindow::ALL.iter().enumerate() {
                let at = instants[wi];
                if self.rules.check(&facts, channel, tones[0], at).is_ok() {
                    allowed.extend(tones.iter().map(|&tone| {
                        (
                            ContactAction {
                                channel,
                                window,
                                tone,
                            },
                            at,
                        )
                    }));
                }
            }
        }
        if allowed.is_empty() {
            return None;
        }
        let n = allowed.len() as f64;
        let mut default = step.action;
        if facts.hardship {
            default.tone = Tone::Empathetic;
        }
        let default_pos = allowed.iter().position(|(a, _)| *a == default);
        let explore = default_pos.is_none() || rng.chance(self.exploration);
        let pos = if explore {
            rng.below(allowed.len() as u64) as usize
        } else {
            default_pos.unwrap_or(0)
        };
        let (action, at) = allowed[pos];
        let propensity = match default_pos {
            None => 1.0 / n,
            Some(d) if d == pos => (1.0 - self.exploration) + self.exploration / n,
            Some(_) => self.exploration / n,
        };
        Some(Decision {
            action,
            at,
            propensity,
            explored: explore,
            allowed: allowed.len() as u32,
            default_allowed: default_pos.is_some(),
            is_default: default_pos == Some(pos),
        })
    }
}
