//! Reading a data scientist's own table: CSV (comma or semicolon, sniffed) or Parquet, with
//! column types inferred and missing values recognised.
//!
//! Unlike the data contract, nothing about the columns is known in advance: a column whose every
//! present value is a number is numeric (missing values become `NaN`), any other is text.
//! Errors name the file, and the line or column, of what could not be read.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use std::path::{Path, PathBuf};

/// Tokens read as a missing value (compared case-sensitively after trimming).
pub const MISSING_TOKENS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A", "?",
];

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; missing and non-finite values are `NaN`.
    Numeric(Vec<f64>),
    /// Text; missing values are `None`.
    Text(Vec<Option<String>>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as text (numbers printed plainly), `None` when missing.
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            Column::Numeric(v) => (!v[i].is_nan()).then(|| format_number(v[i])),
            Column::Text(v) => v[i].clone(),
        }
    }
}

fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A table read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it came from.
    pub path: PathBuf,
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Columns, in file order.
    pub columns: Vec<Column>,
    /// Columns dropped on reading, with why.
    pub dropped: Vec<(String, String)>,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file holds no rows.
    #[error("{path}: the file is empty (no header or no data rows)")]
    Empty { path: PathBuf },
    /// A CSV line with a different number of fields than the header.
    #[error("{path}: line {line} has {found} fields, the header has {expected}")]
    Ragged {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },
    /// A quoted CSV field that never closes.
    #[error("{path}: line {line}: a quoted field is not closed")]
    Unclosed { path: PathBuf, line: usize },
    /// Not valid UTF-8 text.
    #[error("{path}: not UTF-8 text near byte {at}")]
    Encoding { path: PathBuf, at: usize },
    /// A Parquet file that cannot be read.
    #[error("{path}: parquet: {message}")]
    Parquet { path: PathBuf, message: String },
    /// Two columns of one name.
    #[error("{path}: two columns are named {name:?}")]
    DuplicateColumn { path: PathBuf, name: String },
}

/// Reads a CSV or Parquet file (by extension: `.parquet`/`.pq` is Parquet, anything else CSV).
pub fn read_table(path: &Path) -> Result<Table, TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut table = if ext == "parquet" || ext == "pq" {
        read_parquet(path)?
    } else {
        read_csv(path)?
    };
    for (k, name) in table.names.iter().enumerate() {
        if table.names[..k].contains(name) {
            return Err(TableError::DuplicateColumn {
                path: path.to_path_buf(),
                name: name.clone(),
            });
        }
    }
    drop_row_number_column(&mut table);
    if table.rows() == 0 || table.columns.is_empty() {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(table)
}

/// pandas writes its index as an unnamed first column (`""` or `Unnamed: 0`) holding 0, 1, 2, …
fn drop_row_number_column(t: &mut Table) {
    let unnamed = t
        .names
        .first()
        .is_some_and(|n| n.is_empty() || n.starts_with("Unnamed: 0"));
    let counts = match t.columns.first() {
        Some(Column::Numeric(v)) => {
            let start = v.first().copied().unwrap_or(0.0);
            (start == 0.0 || start == 1.0)
                && v.iter().enumerate().all(|(i, x)| *x == start + i as f64)
        }
        _ => false,
    };
    if unnamed && counts {
        let name = t.names.remove(0);
        t.columns.remove(0);
        t.dropped.push((
            if name.is_empty() {
                "(unnamed first column)".into()
            } else {
                name
            },
            "row numbers written by pandas".into(),
        ));
    }
}

fn sniff_delimiter(header: &str) -> u8 {
    let count = |c: char| header.chars().filter(|x| *x == c).count();
    if count(';') > count(',') { b';' } else { b',' }
}

/// Splits one CSV record (RFC 4180 quoting) starting at `pos`; returns the fields and the position
/// after the record, or `None` for an unclosed quote.
fn record(text: &[u8], mut pos: usize, delim: u8) -> Option<(Vec<String>, usize)> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut was_quoted = false;
    while pos < text.len() {
        let c = text[pos];
        if quoted {
            if c == b'"' {
                if text.get(pos + 1) == Some(&b'"') {
                    field.push(b'"');
                    pos += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' && field.is_empty() {
            quoted = true;
            was_quoted = true;
        } else if c == delim {
            fields.push(finish_field(&mut field, was_quoted));
            was_quoted = false;
        } else if c == b'\n' || c == b'\r' {
            pos += if c == b'\r' && text.get(pos + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            fields.push(finish_field(&mut field, was_quoted));
            return Some((fields, pos));
        } else {
            field.push(c);
        }
        pos += 1;
    }
    if quoted {
        return None;
    }
    fields.push(finish_field(&mut field, was_quoted));
    Some((fields, pos))
}

fn finish_field(field: &mut Vec<u8>, quoted: bool) -> String {
    let s = String::from_utf8_lossy(field).into_owned();
    field.clear();
    if quoted { s } else { s.trim().to_owned() }
}

fn read_csv(path: &Path) -> Result<Table, TableError> {
    let bytes = std::fs::read(path).map_err(|source| TableError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if let Err(e) = std::str::from_utf8(&bytes) {
        return Err(TableError::Encoding {
            path: path.to_path_buf(),
            at: e.valid_up_to(),
        });
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let delim = sniff_delimiter(&String::from_utf8_lossy(first_line));
    let unclosed = |line| TableError::Unclosed {
        path: path.to_path_buf(),
        line,
    };
    let (names, mut pos) = record(text, 0, delim).ok_or_else(|| unclosed(1))?;
    if names.len() == 1 && names[0].is_empty() {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut raw: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let mut line = 1;
    while pos < text.len() {
        line += 1;
        let (fields, next) = record(text, pos, delim).ok_or_else(|| unclosed(line))?;
        pos = next;
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // blank line
        }
        if fields.len() != names.len() {
            return Err(TableError::Ragged {
                path: path.to_path_buf(),
                line,
                found: fields.len(),
                expected: names.len(),
            });
        }
        for (c, f) in raw.iter_mut().zip(fields) {
            c.push(f);
        }
    }
    let columns = raw.into_iter().map(infer).collect();
    Ok(Table {
        path: path.to_path_buf(),
        names,
        columns,
        dropped: Vec::new(),
    })
}

/// A column of strings becomes numeric when every present value parses as a number.
fn infer(values: Vec<String>) -> Column {
    let missing = |s: &str| MISSING_TOKENS.contains(&s.trim());
    let numeric = values
        .iter()
        .all(|v| missing(v) || v.trim().parse::<f64>().is_ok());
    if numeric && values.iter().any(|v| !missing(v)) {
        Column::Numeric(
            values
                .iter()
                .map(|v| {
                    if missing(v) {
                        f64::NAN
                    } else {
                        v.trim().parse::<f64>().map_or(f64::NAN, finite)
                    }
                })
                .collect(),
        )
    } else {
        Column::Text(
            values
                .into_iter()
                .map(|v| (!missing(&v)).then_some(v))
                .collect(),
        )
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { f64::NAN }
}

fn read_parquet(path: &Path) -> Result<Table, TableError> {
    let perr = |e: &dyn std::fmt::Display| TableError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|source| TableError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| perr(&e))?
        .build()
        .map_err(|e| perr(&e))?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    // Columns of other types (dates, lists, structs, dictionaries of numbers) are set aside with
    // a note rather than refusing the whole table.
    let is_text = |t: &DataType| match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(
            **v,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    };
    let mut names = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    let mut source: Vec<usize> = Vec::new();
    let mut dropped = Vec::new();
    for (k, f) in schema.fields().iter().enumerate() {
        let t = f.data_type();
        let column = if is_text(t) {
            Column::Text(Vec::new())
        } else if numeric_type(t) {
            Column::Numeric(Vec::new())
        } else {
            dropped.push((
                f.name().clone(),
                format!("type {t} is neither numeric nor text"),
            ));
            continue;
        };
        names.push(f.name().clone());
        columns.push(column);
        source.push(k);
    }
    for batch in reader {
        let batch = batch.map_err(|e| perr(&e))?;
        for (c, &k) in columns.iter_mut().zip(&source) {
            let a = batch.column(k);
            match c {
                Column::Numeric(v) => append_numbers(v, a),
                Column::Text(v) => append_text(v, a),
            }
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        names,
        columns,
        dropped,
    })
}

fn numeric_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
    )
}

fn append_numbers(out: &mut Vec<f64>, a: &ArrayRef) {
    macro_rules! prim {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            out.extend((0..p.len()).map(|i| {
                if p.is_valid(i) {
                    finite(p.value(i) as f64)
                } else {
                    f64::NAN
                }
            }));
        }};
    }
    match a.data_type() {
        DataType::Boolean => {
            let b = a.as_boolean();
            out.extend((0..b.len()).map(|i| {
                if b.is_valid(i) {
                    f64::from(u8::from(b.value(i)))
                } else {
                    f64::NAN
                }
            }));
        }
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        _ => prim!(Float64Type),
    }
}

fn append_text(out: &mut Vec<Option<String>>, a: &ArrayRef) {
    let s = crate::validate::text_values(a.as_ref());
    out.extend(s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn csv(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        (dir, path)
    }

    #[test]
    fn infers_types_missing_values_and_semicolons() {
        let (_d, p) = csv("age;job;y\n30;\"admin.\";no\nNA;\"blue;collar\";yes\n41;;no\n");
        let t = read_table(&p).unwrap();
        assert_eq!(t.names, ["age", "job", "y"]);
        match &t.columns[0] {
            Column::Numeric(v) => assert!(v[0] == 30.0 && v[1].is_nan() && v[2] == 41.0),
            c => panic!("{c:?}"),
        }
        assert_eq!(
            t.columns[1],
            Column::Text(vec![
                Some("admin.".into()),
                Some("blue;collar".into()),
                None
            ])
        );
    }

    #[test]
    fn drops_pandas_row_numbers_and_reports_ragged_lines() {
        let (_d, p) = csv(",x,y\n0,1.5,1\n1,2.5,0\n2,inf,1\n");
        let t = read_table(&p).unwrap();
        assert_eq!(t.names, ["x", "y"]);
        assert_eq!(t.dropped.len(), 1);
        assert!(matches!(&t.columns[0], Column::Numeric(v) if v[2].is_nan()));
        let (_d, p) = csv("a,b\n1,2\n3\n");
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.ends_with("line 3 has 1 fields, the header has 2"), "{e}");
    }

    #[test]
    fn parquet_columns_of_other_types_are_set_aside_not_fatal() {
        use arrow_array::types::Int32Type;
        use arrow_array::{
            ArrayRef, Date32Array, DictionaryArray, Float64Array, Int32Array, RecordBatch,
            StringArray,
        };
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let dict: DictionaryArray<Int32Type> = DictionaryArray::new(
            Int32Array::from(vec![0, 1, 0]),
            Arc::new(Int32Array::from(vec![7, 9])),
        );
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))),
            (
                "job",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("b")])),
            ),
            ("opened", Arc::new(Date32Array::from(vec![1, 2, 3]))),
            ("codes", Arc::new(dict)),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let t = read_table(&path).unwrap();
        assert_eq!(t.names, ["x", "job"]);
        assert_eq!(
            t.columns[1],
            Column::Text(vec![Some("a".into()), None, Some("b".into())])
        );
        let dropped: Vec<&str> = t.dropped.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(dropped, ["opened", "codes"]);
    }

    #[test]
    fn empty_and_unreadable_files_are_errors() {
        let (_d, p) = csv("");
        assert!(read_table(&p).unwrap_err().to_string().contains("empty"));
        let (_d, p) = csv("a,b\n");
        assert!(read_table(&p).unwrap_err().to_string().contains("empty"));
        let e = read_table(Path::new("/nonexistent/x.csv")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/x.csv: "), "{e}");
        let (_d, p) = csv("a,b\n\"1,2\n");
        assert!(
            read_table(&p)
                .unwrap_err()
                .to_string()
                .contains("not closed")
        );
    }
}
