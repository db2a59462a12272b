//! A typed Rust client of the forbear inference service (`forbear serve`): the same wire types
//! the service is built on (`forbear-api`), every endpoint as one async method, and refusals
//! returned as the service's problem documents.
//!
//! ```no_run
//! # async fn demo() -> Result<(), forbear_client::ClientError> {
//! let client = forbear_client::Client::new("http://127.0.0.1:8080", Some("fbk_…".into()))?;
//! let models = client.models().await?;
//! # Ok(()) }
//! ```

use forbear_api::{
    ARROW_STREAM, Batch, BatchResponse, DecisionRecord, EligibilityRequest, EligibilityResponse,
    Health, ItemResult, ModelsResponse, Problem, RecommendRequest, RecommendResponse,
    ReloadResponse, ScoreRequest, ScoreResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached, or the connection failed.
    #[error("forbear service at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The service refused the request; its problem document says why.
    #[error("forbear service refused {url}: {problem}")]
    Refused { url: String, problem: Box<Problem> },
    /// The service answered something this client does not understand.
    #[error("forbear service at {url} answered {status}: {body}")]
    Unexpected {
        url: String,
        status: u16,
        body: String,
    },
    /// The base URL is not usable.
    #[error("{0}")]
    BadUrl(String),
}

impl ClientError {
    /// The problem document of a refusal.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Refused { problem, .. } => Some(problem.as_ref()),
            _ => None,
        }
    }
}

/// A client of one service.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Client {
    /// A client of the service at `base_url` (`http://host:port`), with an API key unless the
    /// service runs with `--dev`. Requests time out after 30 s.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Self, ClientError> {
        Self::with_timeout(base_url, api_key, Duration::from_secs(30))
    }

    /// As [`Client::new`], with a request timeout.
    pub fn with_timeout(
        base_url: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl(format!(
                "{base_url:?} is not an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|source| ClientError::Transport {
                url: base.clone(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            key: api_key,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> (String, reqwest::RequestBuilder) {
        let url = format!("{}{path}", self.base);
        let mut b = self.http.request(method, &url);
        if let Some(k) = &self.key {
            b = b.header(forbear_api::API_KEY, k);
        }
        (url, b)
    }

    /// The body of a 2xx answer; a refusal as the service's problem document.
    async fn answer(url: &str, b: reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let transport = |source| ClientError::Transport {
            url: url.to_owned(),
            source,
        };
        let r = b.send().await.map_err(transport)?;
        let status = r.status();
        let bytes = r.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => ClientError::Refused {
                url: url.to_owned(),
                problem: Box::new(problem),
            },
            Err(_) => ClientError::Unexpected {
                url: url.to_owned(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    async fn send<T: DeserializeOwned>(
        url: String,
        b: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let bytes = Self::answer(&url, b).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            url,
            status: 200,
            body: format!("{e}: {}", String::from_utf8_lossy(&bytes)),
        })
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let (url, b) = self.request(reqwest::Method::POST, path);
        Self::send(url, b.json(body)).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let (url, b) = self.request(reqwest::Method::GET, path);
        Self::send(url, b).await
    }

    /// `POST /v1/score`.
    pub async fn score(&self, req: &ScoreRequest) -> Result<ScoreResponse, ClientError> {
        self.post("/v1/score", req).await
    }

    /// `POST /v1/score/batch`: one result per item, in order.
    pub async fn score_batch(
        &self,
        items: Vec<ScoreRequest>,
    ) -> Result<Vec<ItemResult<ScoreResponse>>, ClientError> {
        let r: BatchResponse<ScoreResponse> =
            self.post("/v1/score/batch", &Batch { items }).await?;
        Ok(r.results)
    }

    /// `POST /v1/score/arrow?model=NAME`: an Arrow IPC stream in, one out.
    pub async fn score_arrow(&self, model: &str, stream: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let (url, b) = self.request(reqwest::Method::POST, "/v1/score/arrow");
        let b = b
            .query(&[("model", model)])
            .header(reqwest::header::CONTENT_TYPE, ARROW_STREAM)
            .body(stream);
        Self::answer(&url, b).await
    }

    /// `POST /v1/recommend`.
    pub async fn recommend(
        &self,
        req: &RecommendRequest,
    ) -> Result<RecommendResponse, ClientError> {
        self.post("/v1/recommend", req).await
    }

    /// `POST /v1/recommend/batch`.
    pub async fn recommend_batch(
        &self,
        items: Vec<RecommendRequest>,
    ) -> Result<Vec<ItemResult<RecommendResponse>>, ClientError> {
        let r: BatchResponse<RecommendResponse> =
            self.post("/v1/recommend/batch", &Batch { items }).await?;
        Ok(r.results)
    }

    /// `POST /v1/eligibility`.
    pub async fn eligibility(
        &self,
        req: &EligibilityRequest,
    ) -> Result<EligibilityResponse, ClientError> {
        self.post("/v1/eligibility", req).await
    }

    /// `POST /v1/eligibility/batch`.
    pub async fn eligibility_batch(
        &self,
        items: Vec<EligibilityRequest>,
    ) -> Result<Vec<ItemResult<EligibilityResponse>>, ClientError> {
        let r: BatchResponse<EligibilityResponse> =
            self.post("/v1/eligibility/batch", &Batch { items }).await?;
        Ok(r.results)
    }

    /// `GET /v1/decisions/{id}`.
    pub async fn decision(&self, id: &str) -> Result<DecisionRecord, ClientError> {
        let id: String = id
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        self.get(&format!("/v1/decisions/{id}")).await
    }

    /// `GET /v1/models`.
    pub async fn models(&self) -> Result<ModelsResponse, ClientError> {
        self.get("/v1/models").await
    }

    /// `POST /v1/models/reload` (admin key).
    pub async fn reload(&self) -> Result<ReloadResponse, ClientError> {
        self.post("/v1/models/reload", &serde_json::json!({})).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the service is ready when this returns `Ok`.
    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.get("/readyz").await
    }
}
