//! A dense feature matrix, stored by column (how Arrow hands data over and how trees scan it).

use crate::ModelError;

/// Rows × features of `f64`, column-major; `NaN` is a missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
    rows: usize,
}

impl FeatureMatrix {
    /// A matrix from named columns of equal length.
    pub fn new(names: Vec<String>, columns: Vec<Vec<f64>>) -> Result<Self, ModelError> {
        let rows = columns.first().map_or(0, Vec::len);
        if names.len() != columns.len() {
            return Err(ModelError::FeatureCount {
                expected: names.len(),
                found: columns.len(),
            });
        }
        if let Some(c) = columns.iter().find(|c| c.len() != rows) {
            return Err(ModelError::LengthMismatch {
                rows,
                labels: c.len(),
            });
        }
        Ok(FeatureMatrix {
            names,
            columns,
            rows,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.columns.len()
    }

    /// Feature names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// One column.
    pub fn column(&self, f: usize) -> &[f64] {
        &self.columns[f]
    }

    /// The rows at `index`, in that order.
    pub fn take(&self, index: &[usize]) -> FeatureMatrix {
        FeatureMatrix {
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| index.iter().map(|&i| c[i]).collect())
                .collect(),
            rows: index.len(),
        }
    }

    /// Checks that `y` labels these rows and that both classes are present; returns the number
    /// of positives. Every model's `fit` starts here.
    pub fn check_training(&self, y: &[bool]) -> Result<usize, ModelError> {
        let n = self.rows;
        if y.len() != n {
            return Err(ModelError::LengthMismatch {
                rows: n,
                labels: y.len(),
            });
        }
        if n == 0 || self.features() == 0 {
            return Err(ModelError::Empty {
                rows: n,
                features: self.features(),
            });
        }
        let positives = y.iter().filter(|v| **v).count();
        if positives == 0 || positives == n {
            return Err(ModelError::OneClass { positives, rows: n });
        }
        Ok(positives)
    }

    /// Checks targets in `[0, 1]` (not all equal) and optional weights (finite, ≥ 0, some
    /// positive) for these rows: what a weighted, soft-label fit needs.
    pub fn check_targets(&self, y: &[f64], weights: Option<&[f64]>) -> Result<(), ModelError> {
        let n = self.rows;
        for len in std::iter::once(y.len()).chain(weights.map(<[f64]>::len)) {
            if len != n {
                return Err(ModelError::LengthMismatch {
                    rows: n,
                    labels: len,
                });
            }
        }
        if n == 0 || self.features() == 0 {
            return Err(ModelError::Empty {
                rows: n,
                features: self.features(),
            });
        }
        if let Some(row) = y.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(ModelError::BadTarget { row, value: y[row] });
        }
        if let Some(w) = weights
            && let Some(row) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(ModelError::BadWeight { row, value: w[row] });
        }
        let positive = |i: usize| weights.is_none_or(|w| w[i] > 0.0);
        let mut seen = (0..n).filter(|&i| positive(i)).map(|i| y[i]);
        let first = seen.next();
        if first.is_none() || seen.all(|v| Some(v) == first) {
            let positives = y.iter().filter(|v| **v > 0.0).count();
            return Err(ModelError::OneClass { positives, rows: n });
        }
        Ok(())
    }

    /// Row `i` as a vector.
    pub fn row(&self, i: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c[i]).collect()
    }
}

/// Borrowed columns of equal length: a matrix over buffers owned elsewhere (an Arrow batch's
/// `Float64` columns), so scoring needs no copy.
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    cols: Vec<&'a [f64]>,
    rows: usize,
}

impl<'a> Columns<'a> {
    /// A view over columns of equal length (`NaN` is a missing value).
    pub fn new(cols: Vec<&'a [f64]>) -> Result<Self, ModelError> {
        let rows = cols.first().map_or(0, |c| c.len());
        if let Some(c) = cols.iter().find(|c| c.len() != rows) {
            return Err(ModelError::LengthMismatch {
                rows,
                labels: c.len(),
            });
        }
        Ok(Columns { cols, rows })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.cols.len()
    }

    /// One column.
    pub fn column(&self, f: usize) -> &'a [f64] {
        self.cols[f]
    }
}

impl FeatureMatrix {
    /// The matrix as borrowed columns.
    pub fn view(&self) -> Columns<'_> {
        Columns {
            cols: self.columns.iter().map(Vec::as_slice).collect(),
            rows: self.rows,
        }
    }
}
