//! Bulk scoring with Arrow IPC streams: `POST /v1/score/arrow?model=NAME` takes a stream whose
//! columns are named by the model's features (numbers of any numeric type, categories as text;
//! nulls and NaN are missing) and an optional `account_id`, and returns a stream of
//! `account_id` (when sent), `probability`, `score` and `risk_band`, row for row.
//!
//! The stream is decoded while it arrives and each batch scored as soon as it is whole, while
//! the next one is received; Float64 columns without nulls are scored where they were received
//! (no copy); a batch's rows are split across the cores. The answer is sent only when every
//! batch is scored: a stream bad half-way is refused whole.

use crate::http::{ApiError, ModelLabel, body_rejection};
use crate::models::TabularModel;
use crate::state::AppState;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use forbear_api::{ARROW_STREAM, Problem};
use forbear_models::{Columns, RawValue};
use serde::Deserialize;
use std::sync::Arc;

/// Query of a bulk request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulkQuery {
    /// The model (default `risk`).
    model: Option<String>,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
    ApiError(Problem::invalid(field, reason))
}

/// One feature column as numbers: borrowed when the input is Float64 without nulls.
enum Col {
    Borrowed(ArrayRef),
    Owned(Vec<f64>),
}

impl Col {
    fn values(&self) -> &[f64] {
        match self {
            Col::Borrowed(a) => a.as_primitive::<Float64Type>().values(),
            Col::Owned(v) => v,
        }
    }
}

fn column(m: &TabularModel, k: usize, a: &ArrayRef) -> Result<Col, ApiError> {
    let spec = &m.bundle.spec;
    let name = &spec.features[k].name;
    let categorical = matches!(
        spec.features[k].kind,
        forbear_models::FeatureKind::Categorical { .. }
    );
    let check = |v: &[f64]| -> Result<(), ApiError> {
        if let Some(i) = v.iter().position(|x| x.is_infinite()) {
            return Err(bad(
                format!("{name}[{i}]"),
                "infinite: not a number the model can take",
            ));
        }
        Ok(())
    };
    match a.data_type() {
        DataType::Float64 if !categorical && a.null_count() == 0 => {
            check(a.as_primitive::<Float64Type>().values())?;
            Ok(Col::Borrowed(Arc::clone(a)))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let cast = arrow_cast_utf8(a);
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                let raw = match cast.as_ref().filter(|c| c.is_valid(i)) {
                    Some(c) => RawValue::Text(c.value(i).to_owned()),
                    None => RawValue::Missing,
                };
                out.push(
                    spec.encode(k, &raw)
                        .map_err(|e| bad(format!("{name}[{i}]"), e.to_string()))?,
                );
            }
            Ok(Col::Owned(out))
        }
        t if t.is_numeric() => {
            let f = numeric_as_f64(a)
                .ok_or_else(|| bad(name.clone(), format!("type {t} cannot be read as numbers")))?;
            let mut out = Vec::with_capacity(f.len());
            for i in 0..f.len() {
                let x = if f.is_valid(i) { f.value(i) } else { f64::NAN };
                out.push(if categorical && !x.is_nan() {
                    spec.encode(k, &RawValue::Number(x))
                        .map_err(|e| bad(format!("{name}[{i}]"), e.to_string()))?
                } else {
                    x
                });
            }
            check(&out)?;
            Ok(Col::Owned(out))
        }
        t => Err(bad(
            name.clone(),
            format!("type {t} is not a number or text column"),
        )),
    }
}

fn arrow_cast_utf8(a: &ArrayRef) -> Option<StringArray> {
    match a.data_type() {
        DataType::Utf8 => a.as_string_opt::<i32>().cloned(),
        DataType::LargeUtf8 => a
            .as_string_opt::<i64>()
            .map(|s| s.iter().collect::<StringArray>()),
        DataType::Utf8View => a
            .as_string_view_opt()
            .map(|s| s.iter().collect::<StringArray>()),
        _ => None,
    }
}

fn numeric_as_f64(a: &ArrayRef) -> Option<Float64Array> {
    use arrow_array::types::*;
    macro_rules! conv {
        ($($t:ty),*) => {
            $(if let Some(p) = a.as_primitive_opt::<$t>() {
                return Some(p.iter().map(|v| v.map(|x| x as f64)).collect());
            })*
        };
    }
    conv!(
        Int8Type,
        Int16Type,
        Int32Type,
        Int64Type,
        UInt8Type,
        UInt16Type,
        UInt32Type,
        UInt64Type,
        Float32Type,
        Float64Type
    );
    None
}

/// Scores one input batch into an output batch.
fn score_batch(m: &TabularModel, batch: &RecordBatch) -> Result<RecordBatch, ApiError> {
    let spec = &m.bundle.spec;
    let mut cols = Vec::with_capacity(spec.features.len());
    for (k, f) in spec.features.iter().enumerate() {
        let a = batch.column_by_name(&f.name).ok_or_else(|| {
            bad(
                f.name.clone(),
                format!(
                    "the stream has no column {:?}; model {} takes: {}",
                    f.name,
                    m.name,
                    spec.names().join(", ")
                ),
            )
        })?;
        cols.push(column(m, k, a)?);
    }
    let n = batch.num_rows();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let chunk = n.div_ceil(threads).max(16_384);
    let mut probability = vec![0.0; n];
    let model_error = |e: forbear_models::ModelError| {
        ApiError(Problem::new(
            500,
            "model",
            "The model failed",
            e.to_string(),
        ))
    };
    std::thread::scope(|s| -> Result<(), ApiError> {
        let handles: Vec<_> = probability
            .chunks_mut(chunk)
            .enumerate()
            .map(|(c, out)| {
                let cols = &cols;
                s.spawn(move || -> Result<(), forbear_models::ModelError> {
                    let start = c * chunk;
                    let view = Columns::new(
                        cols.iter()
                            .map(|col| &col.values()[start..start + out.len()])
                            .collect(),
                    )?;
                    out.copy_from_slice(&m.bundle.predict_columns(&view)?);
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| {
                    ApiError(Problem::new(
                        500,
                        "model",
                        "The model failed",
                        "a scoring thread panicked",
                    ))
                })?
                .map_err(model_error)?;
        }
        Ok(())
    })?;
    let score: Float64Array = probability
        .iter()
        .map(|p| Some((forbear_models::score_points(*p) * 10.0).round() / 10.0))
        .collect();
    let band: StringArray = probability
        .iter()
        .map(|p| Some(forbear_models::risk_band(*p)))
        .collect();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    if let Some(id) = batch.column_by_name("account_id") {
        fields.push(Field::new("account_id", id.data_type().clone(), true));
        arrays.push(Arc::clone(id));
    }
    fields.push(Field::new("probability", DataType::Float64, false));
    arrays.push(Arc::new(Float64Array::from(probability)));
    fields.push(Field::new("score", DataType::Float64, false));
    arrays.push(Arc::new(score));
    fields.push(Field::new("risk_band", DataType::Utf8, false));
    arrays.push(Arc::new(band));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| {
        ApiError(Problem::new(
            500,
            "arrow",
            "Cannot build the answer",
            e.to_string(),
        ))
    })
}

fn cannot_write(e: arrow_schema::ArrowError) -> ApiError {
    ApiError(Problem::new(
        500,
        "arrow",
        "Cannot write the answer",
        e.to_string(),
    ))
}

/// Writes scored batches into one IPC stream, built in memory and answered only when whole.
#[derive(Default)]
struct Answer {
    writer: Option<arrow_ipc::writer::StreamWriter<Vec<u8>>>,
    batches: usize,
}

impl Answer {
    /// Scores batch number `self.batches` and appends it.
    fn push(&mut self, m: &TabularModel, batch: &RecordBatch) -> Result<(), ApiError> {
        let b = self.batches;
        let scored = score_batch(m, batch)
            .map_err(|e| ApiError(e.0.within(&format!("batch[{b}].column."))))?;
        let w = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(
                arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &scored.schema())
                    .map_err(cannot_write)?,
            ),
        };
        w.write(&scored).map_err(cannot_write)?;
        self.batches += 1;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, ApiError> {
        let Some(mut w) = self.writer else {
            return Err(bad("body", "the stream holds no record batch"));
        };
        w.finish().map_err(cannot_write)?;
        w.into_inner().map_err(cannot_write)
    }
}

/// Decodes an IPC stream handed over in pieces of any size: a batch whose bytes arrive in one
/// piece is a view of them, not a copy.
struct Decoder {
    inner: arrow_ipc::reader::StreamDecoder,
    batches: usize,
}

impl Decoder {
    fn new() -> Decoder {
        Decoder {
            inner: arrow_ipc::reader::StreamDecoder::new(),
            batches: 0,
        }
    }

    /// Every batch `piece` completes.
    fn feed(&mut self, piece: axum::body::Bytes) -> Result<Vec<RecordBatch>, ApiError> {
        let mut input = arrow_buffer::Buffer::from(piece);
        let mut out = Vec::new();
        while !input.is_empty() {
            match self.inner.decode(&mut input) {
                Ok(Some(batch)) => {
                    self.batches += 1;
                    out.push(batch);
                }
                Ok(None) => {}
                Err(e) if self.batches == 0 && self.inner.schema().is_none() => {
                    return Err(bad("body", format!("not an Arrow IPC stream: {e}")));
                }
                Err(e) => return Err(bad(format!("body.batch[{}]", self.batches), e.to_string())),
            }
        }
        Ok(out)
    }

    /// Checks the stream ended where a message ends.
    fn finish(&mut self) -> Result<(), ApiError> {
        self.inner.finish().map_err(|e| {
            bad(
                format!("body.batch[{}]", self.batches),
                format!("the stream is cut short: {e}"),
            )
        })
    }
}

/// Scores the stream while it arrives: the body's pieces are decoded on the request's task and
/// each complete batch goes to one blocking thread that scores it (across the cores) while the
/// next is received. The answer is sent only once every batch is scored, so a stream that
/// turns out bad half-way is refused whole.
async fn score_body(
    m: Arc<TabularModel>,
    body: axum::body::Body,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    // Two batches in waiting at most: reading waits for scoring, so memory stays bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(2);
    let scorer = tokio::task::spawn_blocking(move || {
        let mut answer = Answer::default();
        while let Some(batch) = rx.blocking_recv() {
            answer.push(&m, &batch)?;
        }
        Ok::<_, ApiError>(answer)
    });
    let received = async {
        let mut body = body;
        let mut decoder = Decoder::new();
        let mut read = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ApiError(body_rejection(
                    axum::http::StatusCode::BAD_REQUEST,
                    &e.to_string(),
                ))
            })?;
            let Ok(piece) = frame.into_data() else {
                continue;
            };
            read += piece.len();
            if read > limit {
                return Err(ApiError(body_rejection(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("length limit exceeded: more than {limit} bytes (max_arrow_bytes)"),
                )));
            }
            for batch in decoder.feed(piece)? {
                // The scorer stopped: its error is the answer.
                if tx.send(batch).await.is_err() {
                    return Ok(());
                }
            }
        }
        decoder.finish()
    }
    .await;
    drop(tx);
    let scored = scorer.await.map_err(crate::routes::join_failed)?;
    received?;
    scored?.finish()
}

/// Score many accounts at once: an Arrow IPC stream in, an Arrow IPC stream out.
#[utoipa::path(post, path = "/v1/score/arrow", tag = "score", params(BulkQuery),
    request_body(content = Vec<u8>, content_type = "application/vnd.apache.arrow.stream",
        description = "Columns named by the model's features, and optionally account_id."),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.apache.arrow.stream",
        description = "account_id (when sent), probability, score, risk_band."),
        (status = "4XX", body = Problem)))]
pub async fn score_arrow(
    State(s): State<Arc<AppState>>,
    Query(q): Query<BulkQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with(ARROW_STREAM) {
        return Err(ApiError(Problem::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            format!("send the body as {ARROW_STREAM}"),
        )));
    }
    let snap = s.snapshot();
    let name = q.model.unwrap_or_else(|| "risk".to_owned());
    let m = snap.models.get(&name).cloned().ok_or_else(|| {
        bad(
            "model",
            format!(
                "no model {name:?} is served; served: {}",
                snap.models.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let version = m.version.clone();
    let out = score_body(m, req.into_body(), s.config.max_arrow_bytes).await?;
    let mut r = out.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ARROW_STREAM));
    r.extensions_mut().insert(ModelLabel(version));
    Ok(r)
}
