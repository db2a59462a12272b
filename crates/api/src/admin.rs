//! Models, reloads, health and the decision log as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One model being served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    /// Registry kind, the `model` of a score request.
    pub name: String,
    /// Version directory.
    pub version: String,
    /// What it scores: `risk` (from facts or features), `table` (features), `response`
    /// (recommendations).
    pub kind: String,
    /// Model kind used (`gbm`, `scorecard`).
    pub best: String,
    /// Its features, in order.
    pub features: Vec<String>,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// SHA-256 of its `bundle.json`.
    pub checksum: String,
}

/// The models being served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelsResponse {
    /// Models by name.
    pub models: Vec<ModelInfo>,
    /// Version of the eligibility policy and the strategy configuration (SHA-256 prefixes).
    pub policy_version: String,
    /// Version of the strategy configuration.
    pub strategy_version: String,
}

/// A bundle a reload refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReloadRefused {
    /// The model.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReloadResponse {
    /// Models whose version changed, as `name: old -> new`.
    pub changed: Vec<String>,
    /// The models now served.
    pub models: Vec<ModelInfo>,
}

/// Liveness and readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is missing.
    pub status: String,
    /// forbear version.
    pub version: String,
}

/// One logged decision, as `GET /v1/decisions/{id}` returns it: enough to answer a customer
/// who contests an automated decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecisionRecord {
    /// Decision id.
    pub decision_id: String,
    /// `recommend` or `eligibility`.
    pub kind: String,
    /// When it was made.
    pub decided_at: DateTime<Utc>,
    /// The request that asked for it.
    pub request_id: String,
    /// The account.
    pub account_id: String,
    /// The request as received.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The response as sent.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
    /// Versions of models and configuration.
    #[schema(value_type = Object)]
    pub model_versions: serde_json::Value,
    /// The rules that applied (contact rules that blocked channels, the policy rule that
    /// decided).
    pub rules: Vec<String>,
    /// The probability with which the decision was chosen.
    pub propensity: f64,
}
