//! The page an invite link opens, `/invite/<code>`: which room it lets
//! the visitor join, and a button that joins (a signed-in visitor) or the
//! way to sign in first (a guest). Rendered on the server with no script,
//! as the members page is; joining posts to the same address and goes on
//! to the room, through the same caller door method as `POST
//! /api/invites/<code>`.

use axum::{
    Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use leptos::prelude::*;
use shared::{
    account::SIGN_IN_PATH,
    room::{invite_path, path_segment, room_path},
};

use super::shell::{page, refusal};
use crate::{
    AppState, door::caller::Caller, edge::error::ApiError, edge::extract::ApiPath, edge::rate,
};

pub fn router(state: &AppState) -> Router<AppState> {
    // Joining counts against the account's send limit at the door.
    Router::new().route(
        "/invite/{code}",
        rate::reads(state, get(invitation).post(join)),
    )
}

async fn invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Response {
    let room = match caller.invited_to(&code).await {
        Ok(room) => room,
        Err(err) => return refused(&state, err),
    };
    let signed_in = caller.signed_in().await;
    let body = view! {
        <main class="admin">
            <h1>"You are invited to " <bdi>{format!("#{room}")}</bdi></h1>
            {if signed_in {
                view! {
                    <form method="post" action=invite_path(&code) data-test="join-form">
                        <button type="submit">"Join the room"</button>
                    </form>
                }
                .into_any()
            } else {
                // The sign-in page comes back here, signed in.
                let sign_in = format!("{SIGN_IN_PATH}?invite={}", path_segment(&code));
                view! {
                    <p data-test="sign-in-first">
                        <a href=sign_in>"Sign in or make an account"</a>
                        " to join."
                    </p>
                }
                .into_any()
            }}
        </main>
    };
    page(&state, "Invitation", body.to_html())
}

async fn join(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Response {
    match caller.join(&code).await {
        Ok(room) => Redirect::to(&room_path(&room.name)).into_response(),
        Err(err) => refused(&state, err),
    }
}

/// The page for a link that lets nobody in (any more), or a join refused.
fn refused(state: &AppState, err: ApiError) -> Response {
    let back = view! { <a href="/">"Go to the chat"</a> };
    refusal(state, "Invitation", &err, Some("invite-error"), back)
}
