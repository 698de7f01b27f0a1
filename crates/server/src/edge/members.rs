//! A private room's members page, `/r/<name>/members`: who is in it, and
//! for its owners and admins the forms to add, take out and make owners;
//! for any member, to leave. Rendered on the server with no script, as
//! the moderators' pages are (`admin`): plain forms handled by the same
//! caller door methods as the JSON API, then back to the page with what
//! happened. To anyone who may not see the room it is `404`, as the room.

use axum::{
    Router,
    extract::{Query, State},
    response::{Redirect, Response},
    routing::{get, post},
};
use leptos::prelude::*;
use serde::Deserialize;
use shared::{
    account::Role,
    room::{CreateInvite, Invite, path_segment, room_path},
};

use super::shell::{Outcome, PageForm, back_to, outcome_notes, page, refusal};
use crate::{
    AppState, door::caller::Caller, edge::error::ApiError, edge::extract::ApiPath, edge::rate,
};

pub fn router(state: &AppState) -> Router<AppState> {
    let (send, read) = (
        |route| rate::sends(state, route),
        |route| rate::reads(state, route),
    );
    Router::new()
        .route(
            "/r/{room}/members",
            read(get(members)).merge(send(post(add))),
        )
        .route("/r/{room}/members/{username}/owner", send(post(set_owner)))
        .route("/r/{room}/members/{username}/remove", send(post(remove)))
        .route("/r/{room}/invites", send(post(invite)))
        .route("/r/{room}/invites/{code}/revoke", send(post(revoke)))
}

/// The page's own address.
fn members_path(room: &str) -> String {
    format!("/r/{}/members", path_segment(room))
}

async fn members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    Query(outcome): Query<Outcome>,
) -> Response {
    let members = match caller.members(&room).await {
        Ok(members) => members,
        Err(err) => return refused(&state, &room, err),
    };
    let viewer = caller.viewer().await.ok();
    let me = viewer.as_ref().and_then(|viewer| viewer.account.clone());
    let admin = viewer.is_some_and(|viewer| viewer.role == Role::Admin);
    let manages = admin
        || members
            .iter()
            .any(|member| member.owner && Some(&member.username) == me.as_ref());
    // Owners and admins see the room's invite links too.
    let invites = if manages {
        match caller.invites(&room).await {
            Ok(invites) => Some(invites),
            Err(err) => return refused(&state, &room, err),
        }
    } else {
        None
    };
    let here = members_path(&room);
    let rows = members
        .into_iter()
        .map(|member| {
            let base = format!("{here}/{}", path_segment(&member.username));
            let mine = Some(&member.username) == me.as_ref();
            let role = if member.owner { " (owner)" } else { "" };
            view! {
                <li data-test="member">
                    <bdi>{member.username.clone()}</bdi>
                    {role}
                    {manages.then(|| view! {
                        " "
                        <form method="post" action=format!("{base}/owner") class="inline">
                            <input type="hidden" name="owner" value=(!member.owner).to_string() />
                            <button type="submit">
                                {if member.owner { "No longer owner" } else { "Make owner" }}
                            </button>
                        </form>
                    })}
                    {(manages || mine).then(|| view! {
                        " "
                        <form method="post" action=format!("{base}/remove") class="inline">
                            <button type="submit">{if mine { "Leave" } else { "Remove" }}</button>
                        </form>
                    })}
                </li>
            }
        })
        .collect_view();
    let body = view! {
        <main class="admin">
            <h1>"Members of " <bdi>{format!("#{room}")}</bdi></h1>
            <nav>
                <a href=room_path(&room)>"Back to the room"</a>
            </nav>
            {outcome_notes(outcome)}
            <ul>{rows}</ul>
            {manages.then(|| view! {
                <form method="post" action=here.clone() data-test="add-member-form">
                    <label>"Add " <input name="username" required="" placeholder="account name" /></label>
                    " "
                    <button type="submit">"Add"</button>
                </form>
            })}
            {invites.map(|invites| invites_view(&room, invites))}
        </main>
    };
    page(&state, "Members", body.to_html())
}

/// The room's live invite links, each with its revoke button, and the
/// form that makes one.
fn invites_view(room: &str, invites: Vec<Invite>) -> impl IntoView {
    let base = format!("/r/{}/invites", path_segment(room));
    let rows = invites
        .into_iter()
        .map(|invite| {
            let uses = invite.uses_left.map_or_else(
                || "any number of uses".to_owned(),
                |uses| format!("{uses} use{} left", if uses == 1 { "" } else { "s" }),
            );
            let expires = invite
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            view! {
                <li data-test="invite">
                    <input readonly="" size="60" value=invite.url.clone() aria-label="Invite link" />
                    {format!(" expires {expires}, {uses} ")}
                    <form method="post" action=format!("{base}/{}/revoke", invite.code) class="inline">
                        <button type="submit">"Revoke"</button>
                    </form>
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="invites">
            <h2 id="invites">"Invite links"</h2>
            <p>"Whoever opens a link, signed in, may join the room until it expires or its uses run out."</p>
            <ul>{rows}</ul>
            <form method="post" action=base.clone() data-test="invite-form">
                <label>
                    "Expires after "
                    <select name="expires_in_secs">
                        <option value="3600">"an hour"</option>
                        <option value="86400">"a day"</option>
                        <option value="604800" selected="">"a week"</option>
                        <option value="2592000">"thirty days"</option>
                    </select>
                </label>
                <label>
                    " uses "
                    <input name="uses" type="number" min="1" max="1000" placeholder="any number" />
                </label>
                " "
                <button type="submit">"Make an invite link"</button>
            </form>
        </section>
    }
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    expires_in_secs: u64,
    /// Empty: any number.
    #[serde(default)]
    uses: String,
}

async fn invite(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    PageForm(form): PageForm<InviteForm>,
) -> Redirect {
    let uses = form.uses.trim();
    let uses = if uses.is_empty() {
        None
    } else {
        match uses.parse() {
            Ok(uses) => Some(uses),
            Err(_) => {
                let wrong = Err(ApiError::BadBody("uses must be from 1 to 1000"));
                return back_to(&members_path(&room), wrong);
            }
        }
    };
    let limits = CreateInvite {
        expires_in_secs: Some(form.expires_in_secs),
        uses,
    };
    let done = caller
        .create_invite(&room, limits)
        .await
        .map(|invite| format!("Invite link made: {}", invite.url));
    back_to(&members_path(&room), done)
}

async fn revoke(caller: Caller, ApiPath((room, code)): ApiPath<(String, String)>) -> Redirect {
    let done = caller
        .revoke_invite(&room, &code)
        .await
        .map(|()| "Invite link revoked".to_owned());
    back_to(&members_path(&room), done)
}

#[derive(Debug, Deserialize)]
struct AddForm {
    username: String,
}

async fn add(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    PageForm(form): PageForm<AddForm>,
) -> Redirect {
    let done = caller
        .add_member(&room, &form.username)
        .await
        .map(|member| format!("{} is a member now", member.username));
    back_to(&members_path(&room), done)
}

#[derive(Debug, Deserialize)]
struct OwnerForm {
    owner: bool,
}

async fn set_owner(
    caller: Caller,
    ApiPath((room, username)): ApiPath<(String, String)>,
    PageForm(form): PageForm<OwnerForm>,
) -> Redirect {
    let done = caller
        .set_owner(&room, &username, form.owner)
        .await
        .map(|member| {
            let now = if member.owner {
                "an owner"
            } else {
                "no longer an owner"
            };
            format!("{} is {now}", member.username)
        });
    back_to(&members_path(&room), done)
}

async fn remove(caller: Caller, ApiPath((room, username)): ApiPath<(String, String)>) -> Redirect {
    let me = caller.viewer().await.ok().and_then(|viewer| viewer.account);
    let done = caller.remove_member(&room, &username).await;
    if done.is_ok() && me.as_deref() == Some(username.as_str()) {
        // Left: the room is no longer theirs to see.
        return Redirect::to("/");
    }
    back_to(
        &members_path(&room),
        done.map(|()| format!("{username} is no longer a member")),
    )
}

/// The page for a room the caller may not see, or may not list.
fn refused(state: &AppState, room: &str, err: ApiError) -> Response {
    let back = view! { <a href=room_path(room)>"Back"</a> };
    refusal(state, "Members", &err, None, back)
}
