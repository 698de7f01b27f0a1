//! axum's `Json` and `Query` extractors, with their rejections turned into
//! [`ApiError`]s so that every bad request gets the same JSON error body.

use axum::extract::{FromRequest, FromRequestParts};

use crate::edge::error::ApiError;

/// `Json<T>` that rejects with an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` that rejects with an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
