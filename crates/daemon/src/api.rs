//! The engine's HTTP API: ingest events, read an account's timeline and case, record agents'
//! manual actions, see the outbox. Thin handlers: parse, call the store or the engine, answer;
//! errors are RFC 9457 problem documents naming what is wrong.

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use forbear_api::Problem;
use forbear_core::{AccountId, Clock};
use forbear_engine::request::{Action, prepare};
use forbear_engine::{Engine, Event, EventBody, OutboxItem, Store};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::SharedStore;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The store connection for the API.
    pub store: SharedStore,
    /// The engine (scenarios for case views).
    pub engine: Arc<Engine>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// SHA-256 of the bearer token (None: open, `--dev`).
    pub token_sha256: Option<[u8; 32]>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("engine", &self.engine)
            .field("auth", &self.token_sha256.is_some())
            .finish_non_exhaustive()
    }
}

/// A problem as a response.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(Box::new(p))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            serde_json::to_string(&*self.0).unwrap_or_default(),
        )
            .into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("engine api: {e}");
    ApiError::from(Problem::new(
        500,
        "internal",
        "Internal error",
        "the store failed; see the engine's log",
    ))
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/events", post(ingest))
        .route("/v1/accounts/{id}/timeline", get(timeline))
        .route("/v1/accounts/{id}/case", get(case))
        .route("/v1/accounts/{id}/actions", post(act))
        .route("/v1/outbox", get(outbox))
        .route("/v1/queues/{team}", get(queue))
        .route("/v1/accounts/{id}/case-file", get(case_file))
        .route("/v1/reports/cases", get(report))
        .layer(DefaultBodyLimit::max(32 << 20))
        .with_state(state)
}

fn authorize(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(want) = state.token_sha256 else {
        return Ok(());
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| Sha256::digest(t.as_bytes()));
    match got {
        Some(h) if h.iter().zip(want.iter()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0 => Ok(()),
        _ => Err(ApiError::from(Problem::new(
            401,
            "unauthorized",
            "Authentication required",
            "send Authorization: Bearer <token>",
        ))),
    }
}

async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut dyn Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = store.lock().map_err(|_| internal("store lock poisoned"))?;
        f(s.as_mut())
    })
    .await
    .map_err(internal)?
}

fn account(id: i64) -> Result<AccountId, ApiError> {
    AccountId::new(id).map_err(|e| ApiError::from(Problem::invalid("id", e.to_string())))
}

/// `POST /v1/events`: a JSON array of events, or NDJSON (`application/x-ndjson`). Every event
/// is checked before any is stored; the answer counts stored and already-known events.
async fn ingest(
    State(st): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    authorize(&st, &headers)?;
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::from(Problem::new(
            400,
            "malformed",
            "Malformed body",
            e.to_string(),
        ))
    })?;
    let events: Vec<Event> = if ndjson {
        let mut v = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            v.push(serde_json::from_str(line).map_err(|e| {
                ApiError::from(Problem::invalid(format!("line {}", i + 1), e.to_string()))
            })?);
        }
        v
    } else {
        let de = &mut serde_json::Deserializer::from_str(text);
        parse_array(de)?
    };
    for (i, e) in events.iter().enumerate() {
        e.check_external()
            .map_err(|err| ApiError::from(Problem::invalid(format!("[{i}]"), err.to_string())))?;
    }
    let n = events.len();
    let r = blocking(&st.store, move |s| s.ingest(&events).map_err(internal)).await?;
    Ok(
        Json(serde_json::json!({"received": n, "stored": r.stored, "duplicates": r.duplicates}))
            .into_response(),
    )
}

fn parse_array(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
) -> Result<Vec<Event>, ApiError> {
    <Vec<Event> as Deserialize>::deserialize(de).map_err(|e| {
        ApiError::from(Problem::invalid(
            "body",
            format!("expected a JSON array of events: {e}"),
        ))
    })
}

/// An authorized request's account and its log; 404 when the store has no event of it.
async fn account_log(
    st: &ApiState,
    headers: &HeaderMap,
    id: i64,
) -> Result<(AccountId, Vec<Event>), ApiError> {
    authorize(st, headers)?;
    let id = account(id)?;
    let events = blocking(&st.store, move |s| s.events(id).map_err(internal)).await?;
    if events.is_empty() {
        return Err(ApiError::from(Problem::new(
            404,
            "not-found",
            "No such account",
            format!("account {id} has no events"),
        )));
    }
    Ok((id, events))
}

async fn timeline(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (_, events) = account_log(&st, &headers, id).await?;
    Ok(Json(forbear_engine::timeline::timeline(&events)).into_response())
}

async fn case(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (id, events) = account_log(&st, &headers, id).await?;
    let now = st.clock.now();
    let state = forbear_engine::AccountState::replay(id, &events, Some(now));
    Ok(Json(forbear_engine::view::case_view(
        &state,
        st.engine.scenarios(),
        now,
    ))
    .into_response())
}

/// `POST /v1/accounts/{id}/actions`: an agent's, the customer's or a client's action on the
/// account (`forbear_engine::request::Action`, tagged by `action`): checked in full — the
/// policy's limits included — then stored; 422 names the field and the limit broken.
async fn act(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let action: Action = serde_json::from_slice(&body)
        .map_err(|e| ApiError::from(Problem::invalid("body", e.to_string())))?;
    let (id, events) = account_log(&st, &headers, id).await?;
    let now = st.clock.now();
    let state = forbear_engine::AccountState::replay(id, &events, Some(now));
    let prepared = prepare(&state, st.engine.scenarios(), action, now)
        .map_err(|r| ApiError::from(Problem::invalid(r.field, r.reason)))?;
    let ev = prepared.event;
    if let EventBody::ContactOutcome {
        item: Some(item), ..
    } = &ev.body
    {
        let item = item.clone();
        let worked = blocking(&st.store, move |s| {
            s.work_done(id, &item, now).map_err(internal)
        })
        .await?;
        if !worked {
            return Err(ApiError::from(Problem::invalid(
                "item",
                "no open work-queue item with this key on the account",
            )));
        }
    }
    let (eid, kind) = (ev.id.to_string(), ev.body.kind());
    let closes = prepared.closes;
    let r = blocking(&st.store, move |s| {
        let r = s.ingest(&[ev]).map_err(internal)?;
        if r.stored > 0 {
            for key in &closes {
                s.work_done(id, key, now).map_err(internal)?;
            }
        }
        Ok(r)
    })
    .await?;
    if r.stored == 0 {
        return Err(ApiError::from(Problem::new(
            409,
            "conflict",
            "Already recorded",
            format!("{eid} is already recorded; read the case and retry if it is another request"),
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"event": eid, "type": kind, "at": now, "detail": prepared.detail})),
    )
        .into_response())
}

/// Query of a case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuery {
    /// `json` (default) or `html`.
    #[serde(default)]
    format: Option<String>,
}

/// `GET /v1/accounts/{id}/case-file[?format=html]`: the case file an agency or a lawyer
/// receives — JSON, or an HTML document to print.
async fn case_file(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let html = match q.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::from(Problem::invalid(
                "format",
                format!("json or html, not {other:?}"),
            )));
        }
    };
    let (id, events) = account_log(&st, &headers, id).await?;
    let Some(file) = forbear_engine::casefile::case_file(&events, st.clock.now()) else {
        return Err(ApiError::from(Problem::new(
            404,
            "not-found",
            "No such account",
            format!("account {id} has no account_opened event"),
        )));
    };
    Ok(if html {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            forbear_engine::casefile::html(&file),
        )
            .into_response()
    } else {
        Json(file).into_response()
    })
}

/// `GET /v1/reports/cases`: the case report of the whole store (one pass over every account's
/// log: a batch job on large portfolios).
async fn report(State(st): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&st, &headers)?;
    let engine = st.engine.clone();
    let now = st.clock.now();
    let r = blocking(&st.store, move |s| {
        engine.report(s, now, &mut |_| {}).map_err(internal)
    })
    .await?;
    Ok(Json(r).into_response())
}

/// Query of a work queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    /// Items due by this instant (default: now).
    #[serde(default)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many (default 50, at most 1000).
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /v1/queues/{team}`: the team's open work items (call-backs, disputes, hardship reviews)
/// due by `until`, earliest first, each with its due time in the customer's local time, the
/// tone and the talking points; `all` lists every team's.
async fn queue(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(team): Path<String>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    authorize(&st, &headers)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::from(Problem::invalid(
            "limit",
            format!("1 to 1000, got {limit}"),
        )));
    }
    let until = q.until.unwrap_or_else(|| st.clock.now());
    let team = (team != "all").then_some(team);
    let items = blocking(&st.store, move |s| {
        s.work_items(team.as_deref(), until, limit)
            .map_err(internal)
    })
    .await?;
    let items: Vec<serde_json::Value> = items.iter().map(OutboxItem::work_item).collect();
    Ok(Json(serde_json::json!({"until": until, "items": items})).into_response())
}

async fn outbox(State(st): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&st, &headers)?;
    let (p, d, c) = blocking(&st.store, |s| s.outbox_counts().map_err(internal)).await?;
    Ok(Json(serde_json::json!({"pending": p, "delivered": d, "cancelled": c})).into_response())
}
