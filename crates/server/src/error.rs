//! The JSON API's error type: every failure becomes a status code and an
//! [`ErrorBody`]; internal causes are logged, never sent to the client.

use axum::{
    Json,
    extract::rejection::{JsonRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use shared::{ErrorBody, ValidationError};

use crate::chat::ChatError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The message broke a validation rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The JSON body could not be read (size, content type, syntax, shape).
    #[error(transparent)]
    Json(#[from] JsonRejection),
    /// The query string could not be read.
    #[error(transparent)]
    Query(#[from] QueryRejection),
    /// The query string was read but its parameters do not go together.
    #[error("{0}")]
    BadQuery(&'static str),
    /// Storage failed; the writer logged the cause.
    #[error("the message could not be stored, please retry")]
    Unavailable,
    /// Anything else that is our fault.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid(invalid) => Self::Invalid(invalid),
            ChatError::Storage => Self::Unavailable,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Json(rejection) => rejection.status(),
            Self::Query(rejection) => rejection.status(),
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        match self {
            Self::Invalid(invalid) => ErrorBody::from(invalid),
            Self::Json(rejection) => {
                let code = match rejection {
                    JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
                    JsonRejection::JsonSyntaxError(_) => "malformed_json",
                    JsonRejection::JsonDataError(_) => "invalid_body",
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    _ => "unreadable_body",
                };
                ErrorBody::new(code, rejection.body_text())
            }
            Self::Query(rejection) => ErrorBody::new("invalid_query", rejection.body_text()),
            Self::BadQuery(message) => ErrorBody::new("invalid_query", *message),
            Self::Unavailable => ErrorBody::new("unavailable", self.to_string()),
            Self::Internal(_) => ErrorBody::new("internal", self.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        (self.status_code(), Json(self.body())).into_response()
    }
}
