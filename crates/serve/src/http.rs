//! The HTTP edge shared by every handler: problem responses, the JSON body extractor that
//! names the field at fault, request ids, and the guard every request passes (concurrency
//! limit, authentication and roles, timeout, metrics).

use crate::config::Role;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use forbear_api::{PROBLEM_JSON, Problem, REQUEST_ID};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An error answered as a problem document.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(p)
    }
}

/// A problem document as a response.
pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_default();
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

/// The request id of the request being answered.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The model version that answered, for the latency histogram (set by handlers on responses).
#[derive(Debug, Clone)]
pub struct ModelLabel(pub String);

/// A JSON body of type `T`: 415 unless the content type is JSON, 413 when too large, 400 when
/// it is not JSON, 422 naming the field when it does not fit `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Whether a request says its body is JSON.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// Parses JSON bytes into `T`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // The common case pays nothing for paths; a refused body is parsed again to name the field.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let reason = inner.to_string();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let field = if path == "." { String::new() } else { path };
                    let mut p = Problem::invalid(field.clone(), reason);
                    if field.is_empty() {
                        p.detail = p.errors[0].reason.clone();
                    }
                    Err(p)
                }
                _ => Err(Problem::new(
                    400,
                    "malformed-json",
                    "The body is not valid JSON",
                    reason,
                )),
            }
        }
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = JsonWithBytes::<T>::from_request(req, state).await?;
        Ok(JsonBody(body.value))
    }
}

/// A JSON body parsed into `T`, with its bytes: what a decision log records as the request's
/// input, as it came, without writing it again.
#[derive(Debug)]
pub struct JsonWithBytes<T> {
    /// The parsed body.
    pub value: T,
    /// The body as received (valid UTF-8: it parsed as JSON).
    pub bytes: Bytes,
}

impl<S, T> FromRequest<S> for JsonWithBytes<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    /// 415 unless the request says its body is JSON, 413 beyond the limit, 400 or 422 naming
    /// the field at fault.
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError(Problem::new(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            )));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError(body_rejection(r.status(), &r.body_text())))?;
        Ok(JsonWithBytes {
            value: parse_json(&bytes)?,
            bytes,
        })
    }
}

/// A problem for a body that could not be read.
pub fn body_rejection(status: StatusCode, text: &str) -> Problem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            413,
            "body-too-large",
            "The body is too large",
            "the body exceeds the service's limit (max_body_bytes; Arrow bodies: max_arrow_bytes)",
        )
    } else {
        Problem::new(
            status.as_u16(),
            "unreadable-body",
            "The body cannot be read",
            text,
        )
    }
}

fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What a path requires.
fn required_role(path: &str) -> Option<Role> {
    match path {
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" => None,
        "/v1/models/reload" => Some(Role::Admin),
        _ => Some(Role::Score),
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(k) = headers
        .get(forbear_api::API_KEY)
        .and_then(|v| v.to_str().ok())
    {
        return Some(k.trim());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Every request passes here: request id, concurrency limit, authentication and role, timeout,
/// metrics.
pub async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid: Arc<str> = match req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(v) if valid_request_id(v) => Arc::from(v),
        _ => Arc::from(state.next_id("r").as_str()),
    };
    // The route's pattern (`/v1/decisions/{id}`): a cheap clone, and no caller-chosen text in
    // metrics labels or logs.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let path = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let mut response = 'answer: {
        let Ok(_permit) = state.limit.clone().try_acquire_owned() else {
            let mut r = problem_response(&Problem::new(
                503,
                "overloaded",
                "Too many requests in flight",
                format!(
                    "more than {} requests in flight (concurrency_limit); retry shortly",
                    state.config.concurrency_limit
                ),
            ));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            break 'answer r;
        };
        if let Some(role) = required_role(path)
            && !state.config.dev
        {
            match state.authenticate(presented_key(req.headers())) {
                None => {
                    tracing::warn!(request_id = %rid, path, "refused: missing or unknown API key");
                    let mut r = problem_response(&Problem::new(
                        401,
                        "unauthenticated",
                        "An API key is required",
                        "send a valid key in the X-API-Key header or as Authorization: Bearer KEY",
                    ));
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    break 'answer r;
                }
                Some((name, have)) if have == Role::Score && role == Role::Admin => {
                    tracing::warn!(request_id = %rid, path, key = %name, "refused: admin endpoint, score key");
                    break 'answer problem_response(&Problem::new(
                        403,
                        "forbidden",
                        "This key's role may not do this",
                        format!("{path} needs an admin key; key {name:?} has the score role"),
                    ));
                }
                Some(_) => {}
            }
        }
        req.extensions_mut().insert(RequestId(Arc::clone(&rid)));
        let timeout = Duration::from_millis(state.config.request_timeout_ms);
        match tokio::time::timeout(timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(request_id = %rid, path, "timed out");
                problem_response(&Problem::new(
                    503,
                    "timeout",
                    "The request took too long",
                    format!(
                        "not answered within {} ms (request_timeout_ms)",
                        state.config.request_timeout_ms
                    ),
                ))
            }
        }
    };
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::error!(request_id = %rid, path, status, "server error");
    } else {
        tracing::debug!(request_id = %rid, path, status, "answered");
    }
    let version = response
        .extensions()
        .get::<ModelLabel>()
        .map_or("", |m| m.0.as_str());
    state
        .metrics
        .request(path, status, version, started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&rid) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}
