//! axum's `Json`, `Query` and `Path` extractors, with their rejections
//! turned into [`ApiError`]s so that every bad request gets the same JSON
//! error body.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::edge::error::ApiError;

/// `Json<T>` that rejects with an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` that rejects with an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path<T>` that rejects with an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A JSON body that may be left out (`DELETE` with or without one): a
/// request with no body and no `Content-Type` reads as `None`; any other
/// must be JSON, as for [`ApiJson`].
pub struct MaybeJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for MaybeJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        let empty = headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0")
            && !headers.contains_key(header::TRANSFER_ENCODING);
        if empty && !headers.contains_key(header::CONTENT_TYPE) {
            return Ok(Self(None));
        }
        let ApiJson(body) = ApiJson::<T>::from_request(request, state).await?;
        Ok(Self(Some(body)))
    }
}
