//! The JSON body of every API error.

use serde::{Deserialize, Serialize};

use crate::validate::{Field, Rule, ValidationError};

/// `{"error": {...}}`: what a client gets with every 4xx/5xx from the JSON API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The fields of an [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable, machine-readable kind: `validation`, `payload_too_large`,
    /// `unsupported_media_type`, `malformed_json`, `invalid_body`,
    /// `invalid_query`, `internal`.
    pub code: String,
    /// A sentence a person can read.
    pub message: String,
    /// For `validation`: which field broke which rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
                rule: None,
            },
        }
    }
}

impl From<&ValidationError> for ErrorBody {
    fn from(err: &ValidationError) -> Self {
        Self {
            error: ErrorDetail {
                code: "validation".into(),
                message: err.to_string(),
                field: Some(err.field),
                rule: Some(err.rule),
            },
        }
    }
}
