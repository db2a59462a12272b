//! The strategies a lab run compares, as the dunning engine's scenario sets.
//!
//! - [`champion`]: today's practice — the logging policy's static scenarios (the simulator's
//!   [`LoggingPolicy::scenario`]: which channel, send window and tone at which day past due, per
//!   customer type) put into the engine's scenarios in place of their contact steps; fees,
//!   barring, hand-overs and the case policy stay as they are.
//! - [`challenger`]: the champion's steps, each contact's channel, time and tone left to the
//!   recommender (which may also advise no contact that day).
//! - [`no_contact`]: the champion without any contact step — what happens when nobody calls.
//!
//! One definition of the static scenarios (the simulator's, which also wrote the history the
//! models learned from); the arms differ only where the issue says they do.

use chrono::NaiveTime;
use forbear_core::{Channel, CustomerType};
use forbear_engine::RiskBand;
use forbear_engine::action::ActionKind;
use forbear_engine::scenario::{ChannelChoice, Conditions, Scenario, ScenarioSet, Step, Trigger};
use forbear_sim::LoggingPolicy;
use std::collections::BTreeSet;

/// The customer type whose logging-policy scenario a scenario of the set gets: the first type
/// its segment names, else a consumer.
fn type_of(s: &Scenario) -> CustomerType {
    s.segment
        .customer_type
        .as_ref()
        .and_then(|t| t.iter().next().copied())
        .unwrap_or(CustomerType::Consumer)
}

/// A contact step the scenarios schedule by days past due (the steps the static scenarios
/// replace); steps triggered by events or following another step stay.
fn is_scheduled_contact(s: &Step) -> bool {
    matches!(s.trigger, Trigger::Dpd(_))
        && matches!(s.action, ActionKind::Notify | ActionKind::CallBack)
        && s.purpose.is_none()
}

fn logging_steps(t: CustomerType) -> Vec<Step> {
    LoggingPolicy::scenario(t)
        .iter()
        .map(|p| {
            let a = p.action;
            let (h, m) = (a.window.start_hour(), 30);
            Step {
                name: format!("d{}-{}", p.day, a.channel),
                trigger: Trigger::Dpd(p.day),
                // The logging policy nudges before the due date only customers who were late
                // before; the engine's stand-in for that is the risk band.
                when: Conditions {
                    risk_band: (p.day < 0)
                        .then(|| BTreeSet::from([RiskBand::C, RiskBand::D, RiskBand::E])),
                    ..Conditions::default()
                },
                action: ActionKind::Notify,
                channel: ChannelChoice::Fixed(a.channel),
                tone: Some(a.tone),
                fallback: Vec::new(),
                send_time: NaiveTime::from_hms_opt(h, m, 0),
                purpose: None,
                fee: Default::default(),
                agency: None,
                team: (a.channel == Channel::AgentCall).then(|| "collections".to_string()),
            }
        })
        .collect()
}

/// `steps` without their scheduled contacts, with `add` merged in by day past due (each
/// before the first remaining step scheduled later, so a step and the steps that follow it
/// stay together).
fn merge(steps: &[Step], add: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = steps
        .iter()
        .filter(|s| !is_scheduled_contact(s))
        .cloned()
        .collect();
    for step in add {
        let Trigger::Dpd(d) = step.trigger else {
            continue;
        };
        let at = out
            .iter()
            .position(|s| matches!(s.trigger, Trigger::Dpd(x) if x > d))
            .unwrap_or(out.len());
        out.insert(at, step);
    }
    out
}

fn renamed(base: &ScenarioSet, arm: &str) -> ScenarioSet {
    let mut set = base.clone();
    set.version = format!("{}+{arm}", base.version);
    set.source = format!("{} ({arm} arm)", base.source);
    set
}

/// The champion: `base` with the logging policy's static contact steps (per customer type;
/// VIP customers get a scenario of their own, cloned from the one that would take them).
pub fn champion(base: &ScenarioSet) -> ScenarioSet {
    let mut set = renamed(base, "champion");
    let vip_home = set.scenarios.iter().position(|s| {
        !s.forbearance
            && (s.default
                || s.segment
                    .customer_type
                    .as_ref()
                    .is_some_and(|t| t.contains(&CustomerType::Vip)))
    });
    let mut scenarios = Vec::with_capacity(set.scenarios.len() + 1);
    for (k, s) in set.scenarios.iter().enumerate() {
        if Some(k) == vip_home && type_of(s) != CustomerType::Vip {
            let mut vip = s.clone();
            vip.name = format!("{}-vip", s.name);
            vip.default = false;
            vip.segment = Default::default();
            vip.segment.customer_type = Some(BTreeSet::from([CustomerType::Vip]));
            vip.steps = merge(&s.steps, logging_steps(CustomerType::Vip));
            scenarios.push(vip);
        }
        let mut s = s.clone();
        if !s.forbearance {
            s.steps = merge(&s.steps, logging_steps(type_of(&s)));
        }
        scenarios.push(s);
    }
    set.scenarios = scenarios;
    set
}

/// The challenger: `champion`'s steps with every scheduled contact's channel, send time and
/// tone chosen by the recommender.
pub fn challenger(champion: &ScenarioSet) -> ScenarioSet {
    let mut set = renamed(champion, "challenger");
    for s in &mut set.scenarios {
        if s.forbearance {
            continue;
        }
        for step in &mut s.steps {
            if is_scheduled_contact(step) {
                step.action = ActionKind::Notify;
                step.channel = ChannelChoice::Recommend;
                step.tone = None;
                step.send_time = None;
                step.team = None;
            }
        }
    }
    set
}

/// The no-contact control: `champion` without any contact step (scheduled, after another
/// step or on an event; the forbearance scenario's too).
pub fn no_contact(champion: &ScenarioSet) -> ScenarioSet {
    let mut set = renamed(champion, "no-contact");
    for s in &mut set.scenarios {
        s.steps
            .retain(|x| !matches!(x.action, ActionKind::Notify | ActionKind::CallBack));
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts(set: &ScenarioSet, name: &str) -> Vec<(i32, ChannelChoice)> {
        set.get(name)
            .unwrap()
            .steps
            .iter()
            .filter(|s| is_scheduled_contact(s))
            .map(|s| match s.trigger {
                Trigger::Dpd(d) => (d, s.channel),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn the_champion_runs_the_logging_policys_static_scenarios() {
        let base = ScenarioSet::builtin().unwrap();
        let champ = champion(&base);
        let want: Vec<(i32, ChannelChoice)> = LoggingPolicy::scenario(CustomerType::Consumer)
            .iter()
            .map(|s| (s.day, ChannelChoice::Fixed(s.action.channel)))
            .collect();
        assert_eq!(contacts(&champ, "standard"), want);
        let vip: Vec<(i32, ChannelChoice)> = LoggingPolicy::scenario(CustomerType::Vip)
            .iter()
            .map(|s| (s.day, ChannelChoice::Fixed(s.action.channel)))
            .collect();
        assert_eq!(contacts(&champ, "standard-vip"), vip);
        // The measures stay, in order of days past due.
        let standard = champ.get("standard").unwrap();
        let measures: Vec<&str> = standard
            .steps
            .iter()
            .filter(|s| !is_scheduled_contact(s))
            .map(|s| s.name.as_str())
            .collect();
        let base_measures: Vec<&str> = base
            .get("standard")
            .unwrap()
            .steps
            .iter()
            .filter(|s| !is_scheduled_contact(s))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(measures, base_measures);
        let dpd: Vec<i32> = standard
            .steps
            .iter()
            .filter_map(|s| match s.trigger {
                Trigger::Dpd(d) => Some(d),
                _ => None,
            })
            .collect();
        assert!(dpd.windows(2).all(|w| w[0] <= w[1]), "{dpd:?}");
        // A step that follows another stays right after it.
        let k = standard
            .steps
            .iter()
            .position(|s| s.name == "soft-bar-notice")
            .unwrap();
        assert_eq!(standard.steps[k - 1].name, "soft-bar");
    }

    #[test]
    fn the_challenger_asks_the_recommender_at_the_same_steps_and_no_contact_has_none() {
        let champ = champion(&ScenarioSet::builtin().unwrap());
        let chall = challenger(&champ);
        let days = |v: Vec<(i32, ChannelChoice)>| v.into_iter().map(|x| x.0).collect::<Vec<_>>();
        for name in ["standard", "business", "standard-vip"] {
            let c = contacts(&chall, name);
            assert_eq!(days(c.clone()), days(contacts(&champ, name)), "{name}");
            assert!(c.iter().all(|x| x.1 == ChannelChoice::Recommend), "{name}");
        }
        let none = no_contact(&champ);
        for s in &none.scenarios {
            assert!(
                s.steps
                    .iter()
                    .all(|x| !matches!(x.action, ActionKind::Notify | ActionKind::CallBack)),
                "{}",
                s.name
            );
        }
        assert_ne!(champ.version, chall.version);
    }
}
