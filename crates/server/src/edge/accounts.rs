//! The accounts API: `POST /api/accounts` (sign up, 201), and on
//! `/api/session`: `POST` (sign in), `DELETE` (sign out, 204) and `GET`
//! (who is signed in; 401 when nobody). Signing up or in sets the session
//! cookie; signing out removes it. The site guard refuses these from other
//! sites' pages like every state change.

use std::net::IpAddr;

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use axum_extra::extract::CookieJar;
use shared::account::{Credentials, SignedIn};

use crate::{
    AppState,
    door::accounts::{AccountError, session_token},
    edge::{client::ClientIp, error::ApiError, extract::ApiJson, rate},
    log::store::Account,
};

/// The routes, each counted as a read (signing up and in are limited
/// further by [`crate::door::accounts`]).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/accounts", rate::reads(state, post(sign_up)))
        .route(
            "/api/session",
            rate::reads(state, post(sign_in).delete(sign_out).get(signed_in)),
        )
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(invalid) => Self::Invalid(invalid),
            AccountError::WrongCredentials => Self::WrongCredentials,
            AccountError::TooManyAttempts(wait) => Self::TooManyAttempts(wait),
            AccountError::TooManyAccounts(wait) => Self::TooManyAccounts(wait),
            AccountError::Banned(ban) => Self::Banned(ban),
            AccountError::Store(err) => err.into(),
            AccountError::Hashing(err) => Self::Internal(err.into()),
        }
    }
}

/// Makes an account and signs its maker in: the session cookie added to
/// `jar`. For `POST /api/accounts` and the sign-in page alike.
pub(super) async fn start_new_account(
    state: &AppState,
    client: IpAddr,
    jar: CookieJar,
    credentials: Credentials,
) -> Result<(CookieJar, SignedIn), ApiError> {
    let (account, token) = state.accounts.sign_up(credentials, client).await?;
    let jar = jar.add(state.accounts.cookie(&token));
    Ok((jar, signed_in_as(account)))
}

/// Signs in: the session cookie added to `jar`, in place of the one this
/// browser had. For `POST /api/session` and the sign-in page alike.
pub(super) async fn start_session(
    state: &AppState,
    client: IpAddr,
    jar: CookieJar,
    credentials: Credentials,
) -> Result<(CookieJar, SignedIn), ApiError> {
    let (account, token) = state.accounts.sign_in(credentials, client).await?;
    // A session this browser had is replaced, not left behind; only once
    // the sign-in succeeded (a mistyped password signs nobody out).
    if let Some(old) = session_token(&jar) {
        state.accounts.sign_out(&old).await?;
    }
    let jar = jar.add(state.accounts.cookie(&token));
    Ok((jar, signed_in_as(account)))
}

/// What the accounts API answers of the account signed in.
fn signed_in_as(account: Account) -> SignedIn {
    SignedIn {
        username: account.name,
        role: account.role,
    }
}

async fn sign_up(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<(StatusCode, CookieJar, Json<SignedIn>), ApiError> {
    let (jar, signed_in) = start_new_account(&state, client, jar, credentials).await?;
    Ok((StatusCode::CREATED, jar, Json(signed_in)))
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<(CookieJar, Json<SignedIn>), ApiError> {
    let (jar, signed_in) = start_session(&state, client, jar, credentials).await?;
    Ok((jar, Json(signed_in)))
}

/// Signs out: the browser's session ended, and `jar` removing its cookie.
/// For `DELETE /api/session` and the header's `Sign out` form alike.
pub(super) async fn end_session(state: &AppState, jar: CookieJar) -> Result<CookieJar, ApiError> {
    if let Some(token) = session_token(&jar) {
        state.accounts.sign_out(&token).await?;
    }
    Ok(jar.add(state.accounts.removal_cookie()))
}

async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(StatusCode, CookieJar), ApiError> {
    Ok((StatusCode::NO_CONTENT, end_session(&state, jar).await?))
}

async fn signed_in(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Json<SignedIn>, ApiError> {
    match state.accounts.of_cookies(&jar).await? {
        Some(account) => Ok(Json(signed_in_as(account))),
        None => Err(ApiError::Unauthorized),
    }
}
