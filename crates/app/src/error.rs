//! Why a call to the server failed, as the page sees it: one type for the
//! server functions and the JSON accounts API alike.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use shared::{ErrorBody, ValidationError};

/// Why a server function call failed. On the wire it is the JSON API's
/// error body (`{"error": {"code": ..., "message": ...}}`), and the server
/// answers it with the API's status for that code (see
/// [`ErrorBody::status`]), so a refused call reads the same whichever way it
/// was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ErrorBody", from = "ErrorBody")]
pub enum CallError {
    /// The message broke a validation rule; nothing was stored.
    #[error(transparent)]
    Invalid(ValidationError),
    /// The server could not store or read messages (the cause is in its log).
    #[error("the server could not store the message, please retry")]
    Unavailable,
    /// The client sends faster than the server allows; nothing was stored,
    /// and the same send may go again after this many milliseconds.
    #[error("sending too fast; waiting to send again")]
    RateLimited { retry_after_ms: u64 },
    /// The server refused the request for another reason: its arguments
    /// were malformed, it came from another site, it was too large.
    #[error("{message}")]
    Refused { code: String, message: String },
    /// The request did not reach the server, or its answer did not come back.
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl From<CallError> for ErrorBody {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Invalid(invalid) => ErrorBody::from(&invalid),
            CallError::Unavailable => ErrorBody::new("unavailable", err.to_string()),
            CallError::RateLimited { retry_after_ms } => {
                ErrorBody::rate_limited(err.to_string(), retry_after_ms)
            }
            CallError::Refused { code, message } => ErrorBody::new(code, message),
            CallError::Transport(_) => ErrorBody::new("unreachable", err.to_string()),
        }
    }
}

impl From<ErrorBody> for CallError {
    fn from(body: ErrorBody) -> Self {
        let detail = body.error;
        match (detail.code.as_str(), detail.field, detail.rule) {
            ("validation", Some(field), Some(rule)) => {
                Self::Invalid(ValidationError { field, rule })
            }
            ("unavailable", _, _) => Self::Unavailable,
            // Without a figure, a second is what `Retry-After` would say.
            // A room's slow mode is waited out the same way: the message
            // goes out when the room allows it.
            ("rate_limited" | "slow_mode", _, _) => Self::RateLimited {
                retry_after_ms: detail.retry_after_ms.unwrap_or(1000),
            },
            _ => Self::Refused {
                code: detail.code,
                message: detail.message,
            },
        }
    }
}

impl FromServerFnError for CallError {
    type Encoder = crate::codec::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let refused = |code: &str| Self::Refused {
            code: code.to_owned(),
            message: value.to_string(),
        };
        match &value {
            // On the server: the request's arguments could not be read.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                refused("invalid_arguments")
            }
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => {
                refused("invalid_arguments")
            }
            ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Registration(_)
                if cfg!(feature = "ssr") =>
            {
                refused("internal")
            }
            // In the browser: the call or its answer went wrong on the way.
            _ => Self::Transport(value.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::{Field, Rule};

    use super::*;

    #[test]
    fn call_errors_travel_as_the_api_error_body() {
        let invalid = CallError::Invalid(ValidationError {
            field: Field::Text,
            rule: Rule::TooLong,
        });
        let json = serde_json::to_value(&invalid).expect("serializes");
        assert_eq!(json["error"]["code"], "validation");
        assert_eq!(json["error"]["field"], "text");
        assert_eq!(json["error"]["rule"], "too_long");
        assert_eq!(
            serde_json::from_value::<CallError>(json).expect("reads"),
            invalid
        );

        let refused = CallError::Refused {
            code: "cross_site".into(),
            message: "no".into(),
        };
        let json = serde_json::to_value(&refused).expect("serializes");
        assert_eq!(json["error"]["code"], "cross_site");
        assert_eq!(
            serde_json::from_value::<CallError>(json).expect("reads"),
            refused
        );
    }
}
