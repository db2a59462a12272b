//! Applying a bundle to a table of applicants: the same encoding as training (the bundle's
//! feature spec), calibrated probabilities, and the principal reasons in the applicant's terms.

use crate::TrainError;
use forbear_data::{Column, Table};
use forbear_models::{Bundle, FeatureMatrix, RawValue};

/// What a bundle says of every row of a table.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Calibrated probability of the bad outcome.
    pub probability: Vec<f64>,
    /// The principal reasons per row, most adverse first (`CODE: text`).
    pub reasons: Vec<Vec<String>>,
    /// Each row's segment (`customer_type`; `consumer` when the table has none).
    pub segment: Vec<String>,
}

/// Scores every row of `table` with the bundle's best model, with at most `top` reasons each.
pub fn score_table(bundle: &Bundle, table: &Table, top: usize) -> Result<Scored, TrainError> {
    let column = |name: &str| table.index_of(name).map(|k| &table.columns[k]);
    let mut columns = Vec::with_capacity(bundle.spec.features.len());
    for (k, f) in bundle.spec.features.iter().enumerate() {
        let col = column(&f.name).ok_or_else(|| TrainError::NoSuchColumn {
            path: table.path.clone(),
            column: f.name.clone(),
            what: "a feature of the model",
            columns: table.names.join(", "),
        })?;
        let mut values = Vec::with_capacity(table.rows());
        for i in 0..table.rows() {
            let raw = match col {
                Column::Numeric(v) if v[i].is_nan() => RawValue::Missing,
                Column::Numeric(v) => RawValue::Number(v[i]),
                Column::Text(v) => v[i].clone().map_or(RawValue::Missing, RawValue::Text),
            };
            let value = bundle
                .spec
                .encode(k, &raw)
                .map_err(|source| TrainError::Encode {
                    path: table.path.clone(),
                    row: i + 1,
                    source,
                })?;
            values.push(value);
        }
        columns.push(values);
    }
    let model_error = |source| TrainError::Model {
        model: "bundle",
        source,
    };
    let x = FeatureMatrix::new(bundle.spec.names(), columns).map_err(model_error)?;
    // Calibrated probabilities: expected bad rates in a trade-off are read as rates.
    let probability = bundle.predict(&x).map_err(model_error)?;
    let mut row = vec![0.0; x.features()];
    let reasons = (0..x.rows())
        .map(|i| {
            for (f, v) in row.iter_mut().enumerate() {
                *v = x.column(f)[i];
            }
            bundle
                .explain(&row, top)
                .into_iter()
                .map(|r| format!("{}: {}", r.code, r.text))
                .collect()
        })
        .collect();
    let segment = (0..table.rows())
        .map(|i| {
            column("customer_type")
                .and_then(|c| c.text(i))
                .unwrap_or_else(|| "consumer".into())
        })
        .collect();
    Ok(Scored {
        probability,
        reasons,
        segment,
    })
}
