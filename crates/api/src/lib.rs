//! The wire types of the inference service (`forbear serve`): what `/v1/score`,
//! `/v1/recommend`, `/v1/eligibility`, their batch forms and the admin endpoints take and return,
//! and the RFC 9457 problem document every error is.
//!
//! This crate owns the JSON shapes and their OpenAPI schemas — nothing else. The service
//! (`forbear-serve`) turns them into domain calls; the client (`forbear-client`) sends and reads
//! them, so both sides compile against one definition. Domain names (channels, tones, customer
//! types, currencies, time zones) are the core crate's types, spelled as everywhere else.

mod account;
mod admin;
mod problem;
mod schema;
mod score;
pub mod time;

pub use account::{
    AccountState, Alternative, BillIn, BlockedChannel, ContactIn, DisputeIn, EligibilityRequest,
    EligibilityResponse, PaymentIn, PromiseIn, RecommendRequest, RecommendResponse,
    RecommendedAction,
};
pub use admin::{DecisionRecord, Health, ModelInfo, ModelsResponse, ReloadRefused, ReloadResponse};
pub use problem::{FieldError, Problem};
pub use score::{AccountRef, Explain, FeatureValue, Features, Reason, ScoreRequest, ScoreResponse};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A batch: up to the service's `max_batch` items, each answered on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch<T> {
    /// The items, in order.
    pub items: Vec<T>,
}

/// One item's answer in a batch: its result, or the problem with it (the other items are
/// still answered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemResult<T> {
    /// The item's response.
    Ok(T),
    /// Why the item was refused.
    Error(Problem),
}

/// A batch's answers, in the order of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse<T> {
    /// One per item.
    pub results: Vec<ItemResult<T>>,
}

/// The media type of Arrow IPC streams (bulk scoring).
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The header carrying the request id (accepted from the caller, else generated; always
/// returned).
pub const REQUEST_ID: &str = "x-request-id";
/// The header carrying an API key (`Authorization: Bearer KEY` is accepted too).
pub const API_KEY: &str = "x-api-key";
