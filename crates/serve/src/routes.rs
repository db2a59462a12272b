//! The routes and their OpenAPI documentation, registered together (utoipa-axum), and the thin
//! handlers: parse, take the current snapshot, call `decide`, answer.

use crate::decide;
use crate::http::{ApiError, JsonBody, JsonWithBytes, ModelLabel, RequestId, problem_response};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use forbear_api::{
    Batch, BatchResponse, DecisionRecord, EligibilityRequest, EligibilityResponse, Health,
    ItemResult, ModelsResponse, Problem, RecommendRequest, RecommendResponse, ReloadResponse,
    ScoreRequest, ScoreResponse,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "forbear",
        description = "Delinquency risk, next-best contact and prepaid/postpaid eligibility. Every error is an RFC 9457 problem document naming the field at fault.",
    ),
    components(schemas(Problem)),
    modifiers(&Security)
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(forbear_api::API_KEY))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn with_label<T: serde::Serialize>(body: T, version: String) -> Response {
    // Serialized into a buffer sized for a typical answer (axum's `Json` starts at 128 bytes
    // and grows).
    let mut buf = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buf, &body) {
        Ok(()) => json_with_label(buf, version),
        Err(e) => problem_response(&Problem::new(
            500,
            "internal",
            "Cannot write the answer",
            e.to_string(),
        )),
    }
}

/// An answer already serialized (the decision log holds the same text).
fn json_with_label(json: impl Into<axum::body::Body>, version: String) -> Response {
    let mut r = Response::new(json.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.extensions_mut().insert(ModelLabel(version));
    r
}

fn check_batch(state: &AppState, n: usize) -> Result<(), ApiError> {
    if n > state.config.max_batch {
        return Err(ApiError(Problem::new(
            413,
            "too-many-items",
            "Too many items",
            format!(
                "{n} items; at most {} per batch (max_batch)",
                state.config.max_batch
            ),
        )));
    }
    Ok(())
}

/// Runs a batch off the async workers, so that other requests keep being answered and the
/// request timeout can fire while it works (single items take microseconds and run inline).
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(join_failed)
}

/// The answer when work handed to another task panicked or was cancelled.
pub(crate) fn join_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError(Problem::new(
        500,
        "internal",
        "Internal error",
        e.to_string(),
    ))
}

fn batch<T, R>(
    items: &[T],
    mut one: impl FnMut(&T) -> Result<(R, String), Problem>,
) -> (BatchResponse<R>, String) {
    let mut version = String::new();
    let results = items
        .iter()
        .enumerate()
        .map(|(i, item)| match one(item) {
            Ok((r, v)) => {
                version = v;
                ItemResult::Ok(r)
            }
            Err(p) => ItemResult::Error(p.within(&format!("items[{i}]."))),
        })
        .collect();
    (BatchResponse { results }, version)
}

/// Score one account.
#[utoipa::path(post, path = "/v1/score", tag = "score", request_body = ScoreRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = ScoreResponse), (status = "4XX", body = Problem)))]
async fn score(
    State(s): State<Arc<AppState>>,
    JsonBody(req): JsonBody<ScoreRequest>,
) -> Result<Response, ApiError> {
    let snap = s.snapshot();
    let (r, v) = decide::score(&snap, &req)?;
    Ok(with_label(r, v))
}

/// Score up to `max_batch` accounts, each answered on its own.
#[utoipa::path(post, path = "/v1/score/batch", tag = "score", request_body = Batch<ScoreRequest>,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = BatchResponse<ScoreResponse>), (status = "4XX", body = Problem)))]
async fn score_batch(
    State(s): State<Arc<AppState>>,
    JsonBody(req): JsonBody<Batch<ScoreRequest>>,
) -> Result<Response, ApiError> {
    check_batch(&s, req.items.len())?;
    let snap = s.snapshot();
    let (r, v) = blocking(move || batch(&req.items, |item| decide::score(&snap, item))).await?;
    Ok(with_label(r, v))
}

/// Recommend the next contact of one account: channel, send time, tone — or nothing today.
#[utoipa::path(post, path = "/v1/recommend", tag = "recommend", request_body = RecommendRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = RecommendResponse), (status = "4XX", body = Problem), (status = 503, body = Problem)))]
async fn recommend(
    State(s): State<Arc<AppState>>,
    Extension(rid): Extension<RequestId>,
    body: JsonWithBytes<RecommendRequest>,
) -> Result<Response, ApiError> {
    let snap = s.snapshot();
    let input = std::str::from_utf8(&body.bytes).ok();
    let d = decide::recommend(&s, &snap, &body.value, &rid.0, input)?;
    Ok(json_with_label(d.json, d.version))
}

/// Recommend for up to `max_batch` accounts.
#[utoipa::path(post, path = "/v1/recommend/batch", tag = "recommend", request_body = Batch<RecommendRequest>,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = BatchResponse<RecommendResponse>), (status = "4XX", body = Problem)))]
async fn recommend_batch(
    State(s): State<Arc<AppState>>,
    Extension(rid): Extension<RequestId>,
    JsonBody(req): JsonBody<Batch<RecommendRequest>>,
) -> Result<Response, ApiError> {
    check_batch(&s, req.items.len())?;
    let snap = s.snapshot();
    let (r, v) = blocking(move || {
        batch(&req.items, |item| {
            decide::recommend(&s, &snap, item, &rid.0, None).map(decide::Decided::parts)
        })
    })
    .await?;
    Ok(with_label(r, v))
}

/// Decide postpaid, prepaid or refer, with a credit limit and the top four reasons.
#[utoipa::path(post, path = "/v1/eligibility", tag = "eligibility", request_body = EligibilityRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = EligibilityResponse), (status = "4XX", body = Problem), (status = 503, body = Problem)))]
async fn eligibility(
    State(s): State<Arc<AppState>>,
    Extension(rid): Extension<RequestId>,
    JsonBody(req): JsonBody<EligibilityRequest>,
) -> Result<Response, ApiError> {
    let snap = s.snapshot();
    if !s.reads_crm() {
        let d = decide::eligibility(&s, &snap, &req, &rid.0)?;
        return Ok(json_with_label(d.json, d.version));
    }
    // The CRM flags come from the engine's store: a blocking read, off the async workers.
    let d = blocking(move || decide::eligibility(&s, &snap, &req, &rid.0)).await??;
    Ok(json_with_label(d.json, d.version))
}

/// Decide eligibility for up to `max_batch` applicants.
#[utoipa::path(post, path = "/v1/eligibility/batch", tag = "eligibility", request_body = Batch<EligibilityRequest>,
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = BatchResponse<EligibilityResponse>), (status = "4XX", body = Problem)))]
async fn eligibility_batch(
    State(s): State<Arc<AppState>>,
    Extension(rid): Extension<RequestId>,
    JsonBody(req): JsonBody<Batch<EligibilityRequest>>,
) -> Result<Response, ApiError> {
    check_batch(&s, req.items.len())?;
    let snap = s.snapshot();
    let (r, v) = blocking(move || {
        batch(&req.items, |item| {
            decide::eligibility(&s, &snap, item, &rid.0).map(decide::Decided::parts)
        })
    })
    .await?;
    Ok(with_label(r, v))
}

/// One logged decision with its inputs, model versions, reasons and the rules that applied.
#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "decisions",
    params(("id" = String, Path, description = "Decision id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = DecisionRecord), (status = 404, body = Problem)))]
async fn decision(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if id.len() > 128 {
        return Err(ApiError(Problem::invalid(
            "id",
            "a decision id has at most 128 characters",
        )));
    }
    let st = Arc::clone(&s);
    let lookup = id.clone();
    let found = blocking(move || st.log.get(&lookup)).await?.map_err(|e| {
        ApiError(Problem::new(
            500,
            "decision-log",
            "The decision log cannot be read",
            e.to_string(),
        ))
    })?;
    match found {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(ApiError(Problem::new(
            404,
            "no-such-decision",
            "No such decision",
            format!("no decision {id:?} in the decision log"),
        ))),
    }
}

/// The models being served.
#[utoipa::path(get, path = "/v1/models", tag = "admin",
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = ModelsResponse)))]
async fn models(State(s): State<Arc<AppState>>) -> Json<ModelsResponse> {
    let snap = s.snapshot();
    Json(ModelsResponse {
        models: snap.infos(),
        policy_version: snap.policy_version.clone(),
        strategy_version: snap.strategy_version.clone(),
    })
}

/// Load the registry again: every bundle verified (checksums, features, a smoke prediction)
/// and swapped in atomically; a broken bundle is refused and the current models keep serving.
#[utoipa::path(post, path = "/v1/models/reload", tag = "admin",
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, body = ReloadResponse), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn reload(State(s): State<Arc<AppState>>) -> Result<Json<ReloadResponse>, ApiError> {
    match s.reload().await {
        Ok(changed) => Ok(Json(ReloadResponse {
            changed,
            models: s.snapshot().infos(),
        })),
        Err(e) => Err(ApiError(Problem::new(
            422,
            "reload-refused",
            "The new models were refused; the current ones keep serving",
            e.to_string(),
        ))),
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Readiness: models are loaded and the service is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let snap = s.snapshot();
    let status = if s.draining.load(Ordering::Relaxed) {
        "shutting down"
    } else if snap.models.is_empty() && snap.strategy.is_none() {
        "no models loaded"
    } else {
        "ok"
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Health {
            status: status.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
    )
        .into_response()
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let mut r = s.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The routes with their documentation, before state and layers.
pub fn documented() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(score))
        .routes(routes!(score_batch))
        .routes(routes!(crate::bulk::score_arrow))
        .routes(routes!(recommend))
        .routes(routes!(recommend_batch))
        .routes(routes!(eligibility))
        .routes(routes!(eligibility_batch))
        .routes(routes!(decision))
        .routes(routes!(models))
        .routes(routes!(reload))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The OpenAPI document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// This document (OpenAPI 3.1, generated from the handlers and wire types).
#[utoipa::path(get, path = "/openapi.json", tag = "health", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| openapi().to_pretty_json().unwrap_or_default());
    let mut r = doc.clone().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The answer to a path no route serves.
pub async fn not_found() -> Response {
    problem_response(&Problem::new(
        404,
        "not-found",
        "No such endpoint",
        "see /openapi.json for the endpoints",
    ))
}
