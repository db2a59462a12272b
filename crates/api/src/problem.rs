//! RFC 9457 problem documents: every error the service returns is one, naming the field at
//! fault and why.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One thing wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Where: a path into the request body (`account.bills[3].amount_minor`), a header, or a
    /// query parameter.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for this request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The request this is about (its request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The fields at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of a kind (`https://forbear.dev/problems/<slug>`) with a status and detail.
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("https://forbear.dev/problems/{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            instance: None,
            errors: Vec::new(),
        }
    }

    /// A 422 naming one field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        let mut p = Problem::new(
            422,
            "invalid-field",
            "A field of the request is invalid",
            format!("{field}: {reason}"),
        );
        p.errors.push(FieldError { field, reason });
        p
    }

    /// The same problem with every field path prefixed (`items[3].` for a batch item).
    pub fn within(mut self, prefix: &str) -> Self {
        for e in &mut self.errors {
            e.field = if e.field.is_empty() {
                prefix.trim_end_matches('.').to_owned()
            } else {
                format!("{prefix}{}", e.field)
            };
        }
        if let Some(first) = self.errors.first() {
            self.detail = format!("{}: {}", first.field, first.reason);
        }
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}
