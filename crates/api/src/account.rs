//! An account's raw facts as a collections engine knows them, and the recommendation and
//! eligibility requests and responses built on them.

use crate::schema;
use crate::{AccountRef, Features};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use forbear_core::{
    AgeBand, Channel, Currency, CustomerType, Product, SendWindow, ServiceLevel, TimeZone, Tone,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A bill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillIn {
    /// Issue date.
    pub issued_on: NaiveDate,
    /// Due date (not before the issue date).
    pub due_on: NaiveDate,
    /// Amount in minor units of the account's currency (≥ 0).
    pub amount_minor: i64,
}

/// A payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// When it was received (RFC 3339).
    pub paid_at: DateTime<Utc>,
    /// Amount in minor units (> 0).
    pub amount_minor: i64,
    /// When it bounced, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_on: Option<NaiveDate>,
}

/// A contact made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// When it was sent (RFC 3339).
    pub sent_at: DateTime<Utc>,
    /// Channel.
    #[schema(schema_with = schema::channel)]
    pub channel: Channel,
    /// Tone.
    #[schema(schema_with = schema::tone)]
    pub tone: Tone,
    /// Read or answered.
    #[serde(default)]
    pub responded: bool,
    /// A call reached the customer and the debt was discussed.
    #[serde(default)]
    pub conversation: bool,
    /// The customer opted out of the channel in response.
    #[serde(default)]
    pub opted_out: bool,
}

/// A promise to pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromiseIn {
    /// When it was made.
    pub made_on: NaiveDate,
    /// When the money was promised for.
    pub due_on: NaiveDate,
    /// Amount promised, minor units (> 0).
    pub amount_minor: i64,
}

/// A dispute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeIn {
    /// When it was opened.
    pub opened_on: NaiveDate,
    /// When it was resolved, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<NaiveDate>,
}

/// What a collections engine knows of an account: its attributes and records. Features are
/// computed from it exactly as in training, from what was known by the evening before `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// The decision day in the customer's time zone (default: today there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// The customer's IANA time zone.
    #[schema(schema_with = schema::time_zone)]
    pub time_zone: TimeZone,
    /// Currency of every amount.
    #[schema(schema_with = schema::currency)]
    pub currency: Currency,
    /// Customer type.
    #[schema(schema_with = schema::customer_type)]
    pub customer_type: CustomerType,
    /// Service level.
    #[schema(schema_with = schema::service_level)]
    pub service_level: ServiceLevel,
    /// Product line.
    #[schema(schema_with = schema::product)]
    pub product: Product,
    /// Age band, for persons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schema::age_band, nullable)]
    pub age_band: Option<AgeBand>,
    /// Services on the account (≥ 1).
    #[serde(default = "one")]
    pub services: u32,
    /// Autopay on file.
    #[serde(default)]
    pub autopay: bool,
    /// Credit limit, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_limit_minor: Option<i64>,
    /// When the account was opened.
    pub opened_on: NaiveDate,
    /// Language of messages (template keys).
    #[serde(default = "english")]
    pub language: String,
    /// Channels the customer consented to.
    #[schema(schema_with = schema::channels)]
    pub consent: Vec<Channel>,
    /// Hardship or vulnerability declared: forbearance, empathetic tone only.
    #[serde(default)]
    pub hardship: bool,
    /// A statutory hold (breathing space, crisis) runs: no contact asking for payment.
    #[serde(default)]
    pub statutory_hold: bool,
    /// Amount due now as the billing system computes it, minor units (≥ 0); default: bills
    /// less payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_minor: Option<i64>,
    /// Bills.
    #[serde(default)]
    pub bills: Vec<BillIn>,
    /// Payments.
    #[serde(default)]
    pub payments: Vec<PaymentIn>,
    /// Contacts made.
    #[serde(default)]
    pub contacts: Vec<ContactIn>,
    /// Promises to pay.
    #[serde(default)]
    pub promises: Vec<PromiseIn>,
    /// Disputes.
    #[serde(default)]
    pub disputes: Vec<DisputeIn>,
}

fn one() -> u32 {
    1
}

fn english() -> String {
    "en".to_owned()
}

/// Ask for the next contact of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    /// The account.
    pub account_id: AccountRef,
    /// What is known of it.
    pub account: AccountState,
    /// No contact before this instant (default: the start of the decision day, local time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// How many ranked alternatives to return (default 5, at most 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<u8>,
}

/// A contact, when to send it, and what it is expected to bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendedAction {
    /// Channel.
    #[schema(schema_with = schema::channel)]
    pub channel: Channel,
    /// Send window, the customer's local time.
    #[schema(schema_with = schema::window)]
    pub window: SendWindow,
    /// Tone.
    #[schema(schema_with = schema::tone)]
    pub tone: Tone,
    /// Earliest allowed send time, UTC.
    #[serde(serialize_with = "crate::time::utc")]
    pub send_at_utc: DateTime<Utc>,
    /// The same instant in the customer's local time.
    #[serde(serialize_with = "crate::time::local")]
    pub send_at_local: NaiveDateTime,
    /// Message template key (channel, tone, language).
    pub template: String,
}

/// One valued option (`action` absent: no contact today).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alternative {
    /// The contact; absent for "no contact today".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RecommendedAction>,
    /// Expected value against no contact, base-currency minor units, net of cost and the
    /// complaint penalty.
    pub value: f64,
    /// P(the contact is read or answered).
    pub p_respond: f64,
    /// P(payment within 7 days).
    pub p_pay: f64,
    /// Expected amount paid within 7 days, the account's minor units.
    pub expected_paid_minor: f64,
    /// P(complaint or opt-out).
    pub p_complaint: f64,
    /// Contact cost, base-currency minor units.
    pub cost: f64,
}

/// A channel ruled out today, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlockedChannel {
    /// The channel.
    #[schema(schema_with = schema::channel)]
    pub channel: Channel,
    /// The contact rule that blocks it.
    pub rule: String,
}

/// The next contact for an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendResponse {
    /// Id of this decision in the decision log (`GET /v1/decisions/{id}`).
    pub decision_id: String,
    /// The account.
    pub account_id: AccountRef,
    /// The decision day, local time.
    pub date: NaiveDate,
    /// What to do: a contact, or absent for "no contact today".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RecommendedAction>,
    /// The chosen option's expected value (0 for no contact).
    pub expected_value: f64,
    /// The probability with which the option was chosen (1 without exploration).
    pub propensity: f64,
    /// Chosen by exploration rather than greedily.
    pub explored: bool,
    /// Why, in words.
    pub reason: String,
    /// The best options by value, the chosen one included.
    pub alternatives: Vec<Alternative>,
    /// Channels the contact rules rule out today.
    pub blocked: Vec<BlockedChannel>,
    /// Versions of the models and configuration that decided.
    pub model_versions: BTreeMap<String, String>,
}

/// Decide prepaid, postpaid or refer for an applicant or account, from its features or its
/// facts (exactly one).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRequest {
    /// The applicant or account.
    pub account_id: AccountRef,
    /// The model scoring it (default `risk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Customer type (policy segment); from `account` when given, else `consumer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schema::customer_type, nullable)]
    pub customer_type: Option<CustomerType>,
    /// Months of history (from `account.opened_on` when given; else unknown, which a thin-file
    /// rule does not apply to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenure_months: Option<f64>,
    /// On the blacklist.
    #[serde(default)]
    pub blacklisted: bool,
    /// Days since a write-off, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_since_write_off: Option<u32>,
    /// The model's features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// The account's facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountState>,
}

/// A credit decision with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EligibilityResponse {
    /// Id of this decision in the decision log.
    pub decision_id: String,
    /// The applicant or account.
    pub account_id: AccountRef,
    /// `postpaid`, `prepaid` or `refer` (to a person).
    pub decision: String,
    /// Credit limit for postpaid, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_limit_minor: Option<i64>,
    /// Probability of going bad.
    pub probability: f64,
    /// Score in points (higher is safer).
    pub score: f64,
    /// Risk band `A`–`E`.
    pub risk_band: String,
    /// The policy rule or cut-off that decided.
    pub rule: String,
    /// The top four reasons (adverse factors first).
    pub reasons: Vec<String>,
    /// Versions of the model and policy that decided.
    pub model_versions: BTreeMap<String, String>,
}
