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
    /// A stable, machine-readable kind; [`ErrorBody::status`] lists them
    /// with the status each comes with.
    pub code: String,
    /// A sentence a person can read.
    pub message: String,
    /// For `validation`: which field broke which rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// For `rate_limited`: how long to wait before sending again, in
    /// milliseconds (the `Retry-After` header has it in whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `banned` and `blocked`: why, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<crate::moderation::BanNotice>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
                rule: None,
                retry_after_ms: None,
                ban: None,
            },
        }
    }
}

impl ErrorBody {
    /// `banned`, with the ban.
    pub fn banned(message: impl Into<String>, ban: crate::moderation::BanNotice) -> Self {
        let mut body = Self::new("banned", message);
        body.error.ban = Some(ban);
        body
    }

    /// `rate_limited`, with how long to wait before sending again.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        let mut body = Self::new("rate_limited", message);
        body.error.retry_after_ms = Some(retry_after_ms);
        body
    }

    /// The HTTP status that comes with this error's code, the same for the
    /// JSON API and the server functions.
    pub fn status(&self) -> u16 {
        match self.error.code.as_str() {
            "malformed_json" | "invalid_query" | "invalid_path" | "invalid_arguments"
            | "unreadable_body" => 400,
            "unauthorized" | "wrong_credentials" => 401,
            "cross_site" | "not_author" | "forbidden" | "banned" | "blocked" | "room_locked"
            | "not_owner" => 403,
            "no_such_room" | "no_such_message" | "no_such_account" | "no_such_block"
            | "no_such_report" | "no_such_member" | "no_such_invite" => 404,
            "last_admin"
            | "not_private"
            | "room_full"
            | "report_closed"
            | "too_many_rooms"
            | "too_many_rooms_of_yours"
            | "message_deleted"
            | "too_many_reactions"
            | "too_many_invites"
            | "direct_room" => 409,
            "payload_too_large" => 413,
            "unsupported_media_type" => 415,
            "wrong_host" => 421,
            "validation" | "invalid_body" => 422,
            "rate_limited" | "slow_mode" | "too_many_streams" | "too_many_pages" => 429,
            "unavailable" | "busy" => 503,
            _ => 500,
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
                retry_after_ms: None,
                ban: None,
            },
        }
    }
}
