//! The feature spec of a model: which inputs it takes, of which kind, and how raw values become
//! the numbers the model sees. Training encodes with it and serving encodes with it: one
//! definition, stored in the bundle.

use serde::{Deserialize, Serialize};

/// How a feature's raw values are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeatureKind {
    /// A number; missing values are `NaN`.
    Numeric,
    /// One of a set of values, encoded as its position in `categories` (most frequent first in
    /// training). A value never seen in training is treated as missing.
    Categorical {
        /// The values seen in training.
        categories: Vec<String>,
    },
}

/// One input of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDef {
    /// Column name.
    pub name: String,
    /// How its values are read.
    #[serde(flatten)]
    pub kind: FeatureKind,
}

/// A raw input value, as a request or a file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// A number.
    Number(f64),
    /// Text (a category, or a number written as text).
    Text(String),
    /// Absent or null.
    Missing,
}

/// A value that does not fit its feature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A numeric feature given text that is not a number.
    #[error("feature {feature}: {value:?} is not a number")]
    NotANumber { feature: String, value: String },
    /// Non-finite numbers are not accepted from requests.
    #[error("feature {feature}: {value} is not a finite number")]
    NotFinite { feature: String, value: String },
}

/// The inputs of a model, in the order of its feature matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Features in matrix order.
    pub features: Vec<FeatureDef>,
}

impl FeatureSpec {
    /// Feature names in order.
    pub fn names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// Encodes one value of feature `k`.
    pub fn encode(&self, k: usize, value: &RawValue) -> Result<f64, SpecError> {
        let f = &self.features[k];
        match (&f.kind, value) {
            (_, RawValue::Missing) => Ok(f64::NAN),
            (FeatureKind::Numeric, RawValue::Number(x)) if x.is_finite() => Ok(*x),
            (FeatureKind::Numeric, RawValue::Number(x)) => Err(SpecError::NotFinite {
                feature: f.name.clone(),
                value: x.to_string(),
            }),
            (FeatureKind::Numeric, RawValue::Text(t)) => match t.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                Ok(x) => Err(SpecError::NotFinite {
                    feature: f.name.clone(),
                    value: x.to_string(),
                }),
                Err(_) => Err(SpecError::NotANumber {
                    feature: f.name.clone(),
                    value: t.clone(),
                }),
            },
            (FeatureKind::Categorical { categories }, v) => {
                let text = match v {
                    RawValue::Text(t) => t.trim().to_owned(),
                    RawValue::Number(x) => number_text(*x),
                    RawValue::Missing => return Ok(f64::NAN),
                };
                Ok(categories
                    .iter()
                    .position(|c| *c == text)
                    .map_or(f64::NAN, |p| p as f64))
            }
        }
    }
}

/// How a number is written as a category (`2` not `2.0`).
pub fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_numbers_categories_and_missing() {
        let spec = FeatureSpec {
            features: vec![
                FeatureDef {
                    name: "age".into(),
                    kind: FeatureKind::Numeric,
                },
                FeatureDef {
                    name: "job".into(),
                    kind: FeatureKind::Categorical {
                        categories: vec!["admin".into(), "2".into()],
                    },
                },
            ],
        };
        assert_eq!(spec.encode(0, &RawValue::Text(" 41 ".into())), Ok(41.0));
        assert!(spec.encode(0, &RawValue::Missing).unwrap().is_nan());
        assert_eq!(spec.encode(1, &RawValue::Text("admin".into())), Ok(0.0));
        assert_eq!(spec.encode(1, &RawValue::Number(2.0)), Ok(1.0));
        assert!(
            spec.encode(1, &RawValue::Text("astronaut".into()))
                .unwrap()
                .is_nan()
        );
        let e = spec.encode(0, &RawValue::Text("forty".into())).unwrap_err();
        assert_eq!(e.to_string(), "feature age: \"forty\" is not a number");
        assert!(spec.encode(0, &RawValue::Number(f64::INFINITY)).is_err());
    }

    #[test]
    fn serialises_with_a_type_tag() {
        let d = FeatureDef {
            name: "x".into(),
            kind: FeatureKind::Numeric,
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"name":"x","type":"numeric"}"#
        );
    }
}
