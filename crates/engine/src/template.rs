//! Message templates per channel, tone and language, rendered with the account's variables.
//!
//! A template set is a TOML table keyed `"<channel>.<tone>.<language>"` (the key
//! [`forbear_core::ContactAction::template_key`] names) with `text` and, for e-mail and letters,
//! `subject`. Variables are written `{name}`: `name`, `amount`, `balance`, `dpd`, `due_date`,
//! `link`, `account`. An unknown variable is refused when the set is loaded, not when a customer
//! would have received a message with a hole in it. A missing language falls back to English.
//!
//! Messages a case sends for a purpose other than dunning (a promise reminder, a rejected
//! dispute's notice) are keyed `"<purpose>.<language>"` and used on every channel.

use forbear_core::{Channel, Tone};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The templates built into the binary.
pub const DEFAULT_TEMPLATES: &str = include_str!("../scenarios/templates.toml");

/// The purposes of case messages (a set without one falls back to the dunning template of the
/// channel and tone).
pub const PURPOSES: [&str; 2] = ["promise_reminder", "dispute_rejected"];

/// The variables a template may use.
pub const VARIABLES: [&str; 7] = [
    "name", "amount", "balance", "dpd", "due_date", "link", "account",
];

/// One template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Subject line (e-mail, letter).
    #[serde(default)]
    pub subject: Option<String>,
    /// Body.
    pub text: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The template key used.
    pub template: String,
    /// Subject, when the channel has one.
    pub subject: Option<String>,
    /// Body.
    pub text: String,
}

/// A checked template set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    by_key: BTreeMap<String, Template>,
}

/// A template set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("templates {source_name}: {problem}")]
pub struct TemplateError {
    /// Where the set came from.
    pub source_name: String,
    /// What is wrong.
    pub problem: String,
}

fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {text:?}"))?;
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(out)
}

impl Templates {
    /// The built-in set.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::parse("<built-in templates>", DEFAULT_TEMPLATES)
    }

    /// Checks a template set: keys name a channel, a tone and a language, every variable is
    /// known, and every channel and tone has an English template to fall back on.
    pub fn parse(source: &str, text: &str) -> Result<Templates, TemplateError> {
        let err = |problem: String| TemplateError {
            source_name: source.into(),
            problem,
        };
        let by_key: BTreeMap<String, Template> =
            toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (key, t) in &by_key {
            if let Some((purpose, lang)) = key.split_once('.')
                && !lang.contains('.')
            {
                if !PURPOSES.contains(&purpose) {
                    return Err(err(format!(
                        "key {key:?}: unknown purpose {purpose:?}; known: {}",
                        PURPOSES.join(", ")
                    )));
                }
                check_vars(key, t).map_err(err)?;
                continue;
            }
            let mut parts = key.splitn(3, '.');
            let (Some(c), Some(tone), Some(lang)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(err(format!(
                    "key {key:?} is not <channel>.<tone>.<language>"
                )));
            };
            Channel::parse(c).map_err(|e| err(format!("{key}: {e}")))?;
            Tone::parse(tone).map_err(|e| err(format!("{key}: {e}")))?;
            if lang.is_empty() {
                return Err(err(format!("{key}: empty language")));
            }
            check_vars(key, t).map_err(err)?;
        }
        for c in Channel::ALL {
            for t in Tone::ALL {
                let key = format!("{c}.{t}.en");
                if !by_key.contains_key(&key) {
                    return Err(err(format!("no English template {key} to fall back on")));
                }
            }
        }
        Ok(Templates { by_key })
    }

    /// Renders the template for a case message's purpose in a language (English when the
    /// language has none); the dunning template of the channel and tone when the purpose has
    /// none.
    pub fn render_purpose(
        &self,
        purpose: &str,
        channel: Channel,
        tone: Tone,
        language: &str,
        vars: &[(&str, String)],
    ) -> Message {
        let lang = language.split(['-', '_']).next().unwrap_or("en");
        for key in [format!("{purpose}.{lang}"), format!("{purpose}.en")] {
            if let Some(t) = self.by_key.get(&key) {
                return fill(key, t, vars);
            }
        }
        self.render(channel, tone, language, vars)
    }

    /// Renders the template for a channel, tone and language (English when the language has
    /// none) with `vars` (pairs of variable name and value).
    pub fn render(
        &self,
        channel: Channel,
        tone: Tone,
        language: &str,
        vars: &[(&str, String)],
    ) -> Message {
        let lang = language.split(['-', '_']).next().unwrap_or("en");
        let key = format!("{channel}.{tone}.{lang}");
        let (key, t) = match self.by_key.get(&key) {
            Some(t) => (key, t),
            None => {
                let en = format!("{channel}.{tone}.en");
                let t = &self.by_key[&en];
                (en, t)
            }
        };
        fill(key, t, vars)
    }
}

fn check_vars(key: &str, t: &Template) -> Result<(), String> {
    for field in std::iter::once(&t.text).chain(t.subject.as_ref()) {
        for v in placeholders(field).map_err(|e| format!("{key}: {e}"))? {
            if !VARIABLES.contains(&v) {
                return Err(format!(
                    "{key}: unknown variable {{{v}}}; known: {}",
                    VARIABLES.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn fill(key: String, t: &Template, vars: &[(&str, String)]) -> Message {
    let fill = |s: &str| {
        let mut out = String::with_capacity(s.len() + 32);
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').unwrap_or(after.len());
            let name = &after[..close];
            match vars.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    let _ = write!(out, "{{{name}}}");
                }
            }
            rest = after.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    };
    Message {
        template: key,
        subject: t.subject.as_deref().map(fill),
        text: fill(&t.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_cover_every_channel_and_tone() {
        let t = Templates::builtin().unwrap();
        let m = t.render(
            Channel::Sms,
            Tone::Friendly,
            "es-ES",
            &[
                ("name", "Ana".into()),
                ("amount", "12.50 EUR".into()),
                ("link", "https://x/a/1".into()),
            ],
        );
        assert!(m.text.contains("12.50 EUR"), "{}", m.text);
        assert!(!m.text.contains('{'), "{}", m.text);
    }

    #[test]
    fn unknown_variables_and_keys_are_refused() {
        let mut text = DEFAULT_TEMPLATES.to_string();
        text.push_str("\n[\"sms.friendly.fr\"]\ntext = \"Bonjour {nom}\"\n");
        let e = Templates::parse("t.toml", &text).unwrap_err();
        assert!(e.to_string().contains("{nom}"), "{e}");
        let mut text = DEFAULT_TEMPLATES.to_string();
        text.push_str("\n[\"fax.friendly.en\"]\ntext = \"x\"\n");
        assert!(Templates::parse("t.toml", &text).is_err());
    }
}
