//! `POST /v1/score`: one account's probability of going bad, its score, risk band and reasons.

use crate::AccountState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// An account or applicant identifier as the caller spells it: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AccountRef(pub String);

impl AccountRef {
    /// The identifier as a number when it is one (the decision log and exploration use it),
    /// else a stable hash of its text.
    pub fn numeric(&self) -> i64 {
        self.0.parse().unwrap_or_else(|_| {
            // FNV-1a: stable across builds and platforms.
            let h = self.0.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            (h >> 1) as i64
        })
    }
}

impl std::fmt::Display for AccountRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AccountRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = AccountRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an account id: a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AccountRef, E> {
                if v.is_empty() || v.len() > 128 {
                    return Err(E::custom("an account id has 1 to 128 characters"));
                }
                Ok(AccountRef(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AccountRef, E> {
                Ok(AccountRef(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AccountRef, E> {
                Ok(AccountRef(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for AccountRef {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(128)),
            )
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Account or applicant id: a string or an integer."))
            .into()
    }
}
impl ToSchema for AccountRef {}

/// One input value of a model given as features: a number, a category's name, or `null` for
/// missing.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    /// A number (finite).
    Number(f64),
    /// A category, or a number written as text.
    Text(String),
    /// Missing.
    Null,
}

impl Serialize for FeatureValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FeatureValue::Number(x) => s.serialize_f64(*x),
            FeatureValue::Text(t) => s.serialize_str(t),
            FeatureValue::Null => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for FeatureValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FeatureValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, a string or null")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Number(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Number(v as f64))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Number(f64::from(u8::from(v))))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Text(v.to_owned()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<FeatureValue, E> {
                Ok(FeatureValue::Null)
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for FeatureValue {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some("A number, a category's name, or null for missing."))
            .into()
    }
}
impl ToSchema for FeatureValue {}

/// Feature values by name, in the order sent (a JSON object; the service refuses a name given
/// twice). The names share one buffer: a request of 30 features parses without a string each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Features {
    names: String,
    /// Per feature: where its name ends in `names` (it starts where the previous one ends), and
    /// its value.
    entries: Vec<(usize, FeatureValue)>,
}

impl Features {
    /// Sets a feature's value (replacing an earlier one).
    pub fn insert(&mut self, name: impl AsRef<str>, value: FeatureValue) {
        let name = name.as_ref();
        match self.position(name) {
            Some(k) => self.entries[k].1 = value,
            None => self.push(name, value),
        }
    }

    /// Appends a feature, even one already present (as a body may hold a name twice).
    fn push(&mut self, name: &str, value: FeatureValue) {
        self.names.push_str(name);
        self.entries.push((self.names.len(), value));
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.iter().position(|(n, _)| n == name)
    }

    /// The features in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FeatureValue)> {
        let mut start = 0;
        self.entries.iter().map(move |(end, v)| {
            let name = self.names.get(start..*end).unwrap_or_default();
            start = *end;
            (name, v)
        })
    }

    /// A feature's value.
    pub fn get(&self, name: &str) -> Option<&FeatureValue> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether a feature is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<N: AsRef<str>> FromIterator<(N, FeatureValue)> for Features {
    fn from_iter<I: IntoIterator<Item = (N, FeatureValue)>>(iter: I) -> Self {
        let mut f = Features::default();
        for (k, v) in iter {
            f.insert(k, v);
        }
        f
    }
}

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Reads a name straight into the shared buffer.
        struct NameInto<'a>(&'a mut String);
        impl<'de> serde::de::DeserializeSeed<'de> for NameInto<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_str(self)
            }
        }
        impl serde::de::Visitor<'_> for NameInto<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a feature name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
                self.0.push_str(v);
                Ok(())
            }
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Features;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of feature values by name")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Features, A::Error> {
                let n = map.size_hint().unwrap_or(32);
                let mut out = Features {
                    names: String::with_capacity(n * 12),
                    entries: Vec::with_capacity(n),
                };
                // A name given twice is kept twice and refused where names meet the model's
                // columns.
                while map.next_key_seed(NameInto(&mut out.names))?.is_some() {
                    let v = map.next_value::<FeatureValue>()?;
                    out.entries.push((out.names.len(), v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl utoipa::PartialSchema for Features {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .additional_properties(Some(FeatureValue::schema()))
            .description(Some(
                "Feature values by the model's column names: a number, a category's name, or null for missing.",
            ))
            .into()
    }
}
impl ToSchema for Features {}

/// Score one account: from ready features (`features`, what a data scientist has) for any
/// model of the registry, or from raw facts (`account`, what a collections engine knows) for
/// the delinquency-risk model. Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// The model (a kind of the registry: `risk`, or a table model's name). Default `risk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The account, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountRef>,
    /// Feature values by the model's column names; `null` for missing. Every feature of the
    /// model must be present, and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// The account's raw facts; the risk features are computed from them as in training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountState>,
    /// How many reasons to return (0–10, default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<u8>,
    /// How reasons of a tree model are computed (default `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// How the reasons of a tree model are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Explain {
    /// Path attributions: the change of expected log-odds at each split on the account's path,
    /// credited to the split's feature — one walk per tree, a prediction's cost.
    #[default]
    Path,
    /// Exact TreeSHAP contributions (what eligibility decisions use): consistent, and some
    /// hundred times the cost.
    Treeshap,
}

/// A principal reason for a score, most adverse first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable code (`T03-worst_dpd_6m` for a tree model's feature, a scorecard's bin code).
    pub code: String,
    /// The feature.
    pub feature: String,
    /// In words.
    pub text: String,
    /// Scorecard points the feature cost (20 points double the odds).
    pub points_lost: f64,
}

/// A score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreResponse {
    /// The account, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountRef>,
    /// Calibrated probability of the bad outcome the model predicts.
    pub probability: f64,
    /// Score in points (600 at odds 50:1, 20 points double the odds; higher is safer).
    pub score: f64,
    /// Risk band `A` (safest) to `E`.
    pub risk_band: String,
    /// Principal reasons, most adverse first.
    pub reasons: Vec<Reason>,
    /// The model (registry kind).
    pub model: String,
    /// Its version.
    pub model_version: String,
}

#[cfg(test)]
mod tests {
    use super::{FeatureValue, Features};

    #[test]
    fn features_keep_names_values_and_order_through_json() {
        let text = r#"{"a": 1.5, "b\"c": null, "é": "x", "a": 2, "": 0}"#;
        let f: Features = serde_json::from_str(text).unwrap();
        let seen: Vec<(&str, &FeatureValue)> = f.iter().collect();
        assert_eq!(
            seen,
            vec![
                ("a", &FeatureValue::Number(1.5)),
                ("b\"c", &FeatureValue::Null),
                ("é", &FeatureValue::Text("x".into())),
                ("a", &FeatureValue::Number(2.0)),
                ("", &FeatureValue::Number(0.0)),
            ]
        );
        assert_eq!(f.len(), 5);
        assert_eq!(f.get("b\"c"), Some(&FeatureValue::Null));
        assert!(!f.contains("b"));
        let back: Features = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        // Insert replaces the first of a name, or appends.
        let mut g = Features::default();
        g.insert("x", FeatureValue::Number(1.0));
        g.insert("y", FeatureValue::Null);
        g.insert("x", FeatureValue::Number(3.0));
        assert_eq!(g.len(), 2);
        assert_eq!(g.get("x"), Some(&FeatureValue::Number(3.0)));
        assert!(serde_json::from_str::<Features>(r#"{"a": [1]}"#).is_err());
        assert!(serde_json::from_str::<Features>("[1]").is_err());
    }
}
