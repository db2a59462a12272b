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
/// twice).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Features(pub Vec<(String, FeatureValue)>);

impl Features {
    /// Sets a feature's value (replacing an earlier one).
    pub fn insert(&mut self, name: impl Into<String>, value: FeatureValue) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// A feature's value.
    pub fn get(&self, name: &str) -> Option<&FeatureValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether a feature is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, FeatureValue)> for Features {
    fn from_iter<I: IntoIterator<Item = (String, FeatureValue)>>(iter: I) -> Self {
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
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
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
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(32));
                // A name given twice is refused where names meet the model's columns.
                while let Some((k, v)) = map.next_entry::<String, FeatureValue>()? {
                    out.push((k, v));
                }
                Ok(Features(out))
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
