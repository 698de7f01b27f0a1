//! The JSON API of rooms and messages:
//! - `GET /api/rooms` (every room with its count; signed in, the read
//!   positions too) and `POST /api/rooms` (create one, signed in);
//! - `GET /api/rooms/<name>/messages` (history pages) and
//!   `POST /api/rooms/<name>/messages` (send);
//! - `GET` and `POST /api/messages`: the same for `general`;
//! - `PATCH` and `DELETE /api/messages/<id>` (edit, delete: the author's
//!   own message, wherever it is) and the same under
//!   `/api/rooms/<name>/messages/<id>` (the message must be in that room);
//! - `GET /api/messages/<id>/versions`: the texts edits replaced, for the
//!   author;
//! - `PUT` and `DELETE /api/messages/<id>/reactions/<reaction>`: give a
//!   reaction, take it back;
//! - a moderator's `DELETE /api/messages/<id>` removes anyone's message
//!   (with `{"reason": ...}`, kept in the audit log);
//! - `PUT /api/accounts/<name>/role` (admins) and `GET /api/audit`
//!   (moderators and admins);
//! - `POST /api/rooms/<name>/presence` (a page is open on the room, or
//!   leaves it) and `POST /api/rooms/<name>/typing` (see
//!   [`crate::door::presence`]).
//!
//! Each handler translates between HTTP and the [`Caller`], which decides
//! what the caller may do.

use axum::{
    Json, Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post, put},
};
use serde::Deserialize;
use shared::{
    ChatMessage, DEFAULT_PAGE_SIZE, DeleteMessage, EditMessage, GENERAL, MessageId, React,
    SendMessage,
    account::SetRole,
    history::{Page, page_size},
    moderation::{
        AccountRole, ActOnReport, AuditEntry, BanRequest, Banned, Block, BlockRequest,
        DEFAULT_AUDIT_PAGE, Report, ReportMade, ReportRequest, ReportsClosed, Unbanned,
    },
    presence::{Heartbeat, Typing},
    room::{
        AddMember, CreateInvite, CreateRoom, Directory, Invite, Member, OpenDirect, Room,
        RoomSettingsChange, SetOwner,
    },
};

use crate::{
    AppState,
    door::caller::Caller,
    edge::error::ApiError,
    edge::extract::{ApiJson, ApiPath, ApiQuery, MaybeJson},
    edge::rate,
    log::store::Stored,
};

/// The largest request body the server reads: the JSON API's, every
/// form's and the server functions' (see `app()`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: &AppState) -> Router<AppState> {
    let (send, read) = (
        |route| rate::sends(state, route),
        |route| rate::reads(state, route),
    );
    Router::new()
        // Creating a room is counted as a read here, and against the
        // account's send limit at the door.
        .route(
            "/api/rooms",
            read(get(list_rooms)).merge(read(post(create_room))),
        )
        .route(
            "/api/rooms/{room}/messages",
            read(get(list_room_messages)).merge(send(post(create_room_message))),
        )
        .route("/api/rooms/{room}", send(patch(update_room)))
        .route("/api/rooms/{room}/presence", send(post(heartbeat)))
        .route("/api/rooms/{room}/typing", send(post(typing)))
        .route(
            "/api/rooms/{room}/members",
            read(get(list_members)).merge(send(post(add_member))),
        )
        .route(
            "/api/rooms/{room}/members/{username}",
            send(put(set_owner).delete(remove_member)),
        )
        .route(
            "/api/rooms/{room}/invites",
            read(get(list_invites)).merge(send(post(create_invite))),
        )
        .route(
            "/api/rooms/{room}/invites/{code}",
            send(axum::routing::delete(revoke_invite)),
        )
        .route("/api/invites/{code}", send(post(join)))
        .route("/api/direct", send(post(open_direct)))
        .route(
            "/api/messages",
            read(get(list_messages)).merge(send(post(create_message))),
        )
        // A change counts against the send limit like a send.
        .route(
            "/api/messages/{id}",
            send(patch(edit_message).delete(delete_message)),
        )
        .route("/api/messages/{id}/versions", read(get(list_versions)))
        .route(
            "/api/messages/{id}/reactions/{reaction}",
            send(put(add_reaction).delete(remove_reaction)),
        )
        .route(
            "/api/rooms/{room}/messages/{id}",
            send(patch(edit_room_message).delete(delete_room_message)),
        )
        .route("/api/accounts/{name}/role", send(put(set_role)))
        .route(
            "/api/accounts/{name}/ban",
            send(post(ban_account).delete(unban_account)),
        )
        .route("/api/audit", read(get(list_audit)))
        .route("/api/messages/{id}/reports", send(post(report_message)))
        .route("/api/reports", read(get(list_reports)))
        .route("/api/reports/{id}", send(post(act_on_report)))
        .route(
            "/api/blocks",
            read(get(list_blocks)).merge(send(post(block_guests))),
        )
        .route(
            "/api/blocks/{id}",
            send(axum::routing::delete(unblock_guests)),
        )
}

/// Gives an account a role (`{"role": "admin" | "moderator" |
/// "member"}`): `200` with the account's name and role; `403 forbidden`
/// for anyone but an admin, `404 no_such_account`, `409 last_admin` when
/// the last admin would stop being one.
async fn set_role(
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<SetRole>,
) -> Result<Json<AccountRole>, ApiError> {
    Ok(Json(caller.set_role(&name, request.role).await?))
}

/// Bans an account (`{"reason": ..., "until": <RFC 3339 or null for
/// good>, "remove_messages": "none" | "hour" | "day" | "all"}`): `200`
/// with the account's name, the ban and how many messages went with it;
/// `403 forbidden` for anyone but a moderator or an admin, and for a
/// moderator banning an admin or anyone banning themselves; `404
/// no_such_account`; `422` for an `until` already past or a reason too
/// long.
async fn ban_account(
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<BanRequest>,
) -> Result<Json<Banned>, ApiError> {
    Ok(Json(caller.ban(&name, request).await?))
}

/// Ends an account's ban: `200` with its name and whether it was banned;
/// refused as a ban is.
async fn unban_account(
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Unbanned>, ApiError> {
    Ok(Json(caller.unban(&name).await?))
}

/// Reports a message to the moderators (`{"reason": "..."}`, optional):
/// `201` with the report's id; the same reader's second report of it
/// answers the first. Anyone who may write; counted like a send; `404`
/// for no such message, `409 message_deleted` for a deleted one.
async fn report_message(
    caller: Caller,
    ApiPath(id): ApiPath<MessageId>,
    MaybeJson(request): MaybeJson<ReportRequest>,
) -> Result<(StatusCode, Json<ReportMade>), ApiError> {
    let made = caller.report(id, request.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// The open reports, oldest first, each with its message as it now is
/// (moderators and admins; at most 100).
async fn list_reports(caller: Caller) -> Result<Json<Vec<Report>>, ApiError> {
    Ok(Json(caller.reports().await?))
}

/// Acts on a report (`{"action": "remove" | "ban" | "dismiss", "reason":
/// ..., "until": ...}`): `200` with how many open reports of its message
/// it closed; `404 no_such_report`, `409 report_closed`, `422` for a ban
/// of a guest's message (block the guest instead).
async fn act_on_report(
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ActOnReport>,
) -> Result<Json<ReportsClosed>, ApiError> {
    Ok(Json(caller.act_on_report(id, request).await?))
}

/// Changes a room's settings (`{"slow_mode_secs": N, "locked": bool,
/// "archived": bool, "guests": bool}`, any of them): `200` with the room
/// as listed now; `403 forbidden` for anyone but a moderator or an admin,
/// `404 no_such_room`, `422` for an unknown field, a slow mode over six
/// hours, or archiving `general`.
async fn update_room(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    ApiJson(change): ApiJson<RoomSettingsChange>,
) -> Result<Json<Room>, ApiError> {
    Ok(Json(caller.update_room(&room, change).await?))
}

/// Blocks guests (`{"guest_name": "..."}` or `{"address": "..."}`, with
/// `"until"` and `"reason"`): `201` with the block; from then on such a
/// guest's writes get `403 blocked` with its end; `403 forbidden` for
/// anyone but a moderator or an admin; `422` for neither or both, an
/// address that is none, an `until` already past.
async fn block_guests(
    caller: Caller,
    ApiJson(request): ApiJson<BlockRequest>,
) -> Result<(StatusCode, Json<Block>), ApiError> {
    Ok((StatusCode::CREATED, Json(caller.block(request).await?)))
}

/// The guest blocks that hold now, newest first (moderators and admins).
async fn list_blocks(caller: Caller) -> Result<Json<Vec<Block>>, ApiError> {
    Ok(Json(caller.blocks().await?))
}

/// Removes a guest block: `204`; `404 no_such_block`.
async fn unblock_guests(caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    caller.unblock(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

/// The audit log, newest first: `?limit=` entries (50 unless said, at
/// most 200) before `?before=<id>`; `403 forbidden` for anyone but a
/// moderator or an admin.
async fn list_audit(
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    Ok(Json(caller.audit(query.before, limit).await?))
}

/// Every room, oldest first, with how many messages each holds; signed
/// in, also how far the account has read each.
async fn list_rooms(caller: Caller) -> Result<Json<Directory>, ApiError> {
    Ok(Json(caller.rooms().await?))
}

/// Creates a room: `201` with it; `401` for a guest; `422` for a name that
/// breaks the rules or is taken (ignoring case and look-alike letters);
/// `409` when the chat holds as many rooms as it may.
async fn create_room(
    caller: Caller,
    ApiJson(request): ApiJson<CreateRoom>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    let room = caller.create_room(&request.name, request.private).await?;
    Ok((StatusCode::CREATED, Json(room)))
}

/// A private room's members, in the order they joined, each with whether
/// they are an owner: for its members and admins; `404 no_such_room` for
/// anyone else, `409 not_private` for a public room.
async fn list_members(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(caller.members(&room).await?))
}

/// Adds an account to a private room (`{"username": "..."}`): `200` with
/// the member; the room's owners and admins only (`403 not_owner` for
/// another member), `404 no_such_account`, `409 room_full`.
async fn add_member(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    ApiJson(request): ApiJson<AddMember>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(caller.add_member(&room, &request.username).await?))
}

/// Makes a member an owner or not (`{"owner": bool}`): `200` with the
/// member; owners and admins only; `404 no_such_member`.
async fn set_owner(
    caller: Caller,
    ApiPath((room, username)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<SetOwner>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        caller.set_owner(&room, &username, request.owner).await?,
    ))
}

/// The direct conversation of the caller and the accounts named
/// (`{"usernames": ["bob", ...]}`, one to seven others): `200` and the
/// room (`"kind": "direct"`, its `"people"`), the same one whoever of them
/// asks, made on first use; `401` for a guest, `404 no_such_account`,
/// `422` for none or too many people.
async fn open_direct(
    caller: Caller,
    ApiJson(request): ApiJson<OpenDirect>,
) -> Result<Json<Room>, ApiError> {
    Ok(Json(caller.open_direct(&request.usernames).await?))
}

/// Makes an invite link to a private room (`{"expires_in_secs": N,
/// "uses": N}`, both optional: a week, any number): `201` with its code
/// and link; owners and admins only (`403 not_owner`), `409
/// too_many_invites` past [`shared::room::MAX_INVITES`] live ones.
async fn create_invite(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
    MaybeJson(request): MaybeJson<CreateInvite>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let invite = caller
        .create_invite(&room, request.unwrap_or_default())
        .await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

/// A private room's live invite links, newest first: owners and admins.
async fn list_invites(
    caller: Caller,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<Vec<Invite>>, ApiError> {
    Ok(Json(caller.invites(&room).await?))
}

/// Revokes an invite link: `204`; owners and admins; `404
/// no_such_invite`.
async fn revoke_invite(
    caller: Caller,
    ApiPath((room, code)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.revoke_invite(&room, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Joins the signed-in caller to an invite link's room: `200` with the
/// room (also when they were in it, taking no use); `401` for a guest,
/// `404 no_such_invite` once the link expired, ran out or was revoked,
/// `409 room_full`.
async fn join(caller: Caller, ApiPath(code): ApiPath<String>) -> Result<Json<Room>, ApiError> {
    Ok(Json(caller.join(&code).await?))
}

/// Takes a member out of a private room: `204`; owners and admins, or the
/// member themself (leaving); `404 no_such_member`.
async fn remove_member(
    caller: Caller,
    ApiPath((room, username)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.remove_member(&room, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page is open on the room in the path: `200` with who is there now
/// (it among them), so a page knows at once, whether or not its stream is
/// open yet; or with `leaving`, closed (`204`). It says so again every
/// 15 s; one not heard from for 45 s has left. Counted against the
/// sender's send limit like a send.
async fn heartbeat(
    caller: Caller,
    Path(room): Path<String>,
    ApiJson(beat): ApiJson<Heartbeat>,
) -> Result<Response, ApiError> {
    Ok(match caller.heartbeat(&room, beat).await? {
        Some(people) => Json(people).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The sender is typing in the room in the path, or stopped (`204`
/// either way: a start more often than every 2 s per room is dropped).
/// A guest must give a name, and may type only where guests may send.
async fn typing(
    caller: Caller,
    Path(room): Path<String>,
    ApiJson(typing): ApiJson<Typing>,
) -> Result<StatusCode, ApiError> {
    caller.typing(&room, typing).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// [`list_messages`] of the room in the path (`404` if there is none).
async fn list_room_messages(
    caller: Caller,
    Path(room): Path<String>,
    query: ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    history(&caller, &room, query.0).await
}

/// [`create_message`] in the room in the path (`404` if there is none).
async fn create_room_message(
    caller: Caller,
    Path(room): Path<String>,
    ApiJson(request): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<ChatMessage>), ApiError> {
    send(&caller, &room, request).await
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<u32>,
    before: Option<MessageId>,
    after: Option<MessageId>,
}

/// The latest page of `general`'s messages, the page just before
/// `?before=<id>`, or the first page after `?after=<id>`; oldest first.
/// `?limit=` defaults to 50 and is capped at 500. The latest page comes
/// from memory when it holds it (see [`crate::log::recent`]); older and newer
/// pages from the store.
async fn list_messages(
    caller: Caller,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    history(&caller, GENERAL, query).await
}

async fn history(caller: &Caller, room: &str, query: HistoryQuery) -> Result<Response, ApiError> {
    let limit = page_size(query.limit);
    let page = match (query.before, query.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadQuery("use either before or after, not both"));
        }
        (Some(before), None) => Page::Before(before),
        (None, Some(after)) => Page::After(after),
        (None, None) if limit == DEFAULT_PAGE_SIZE => {
            let json = caller.latest_json(room).await?;
            return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
        }
        (None, None) => Page::Latest,
    };
    Ok(Json(caller.history(room, page, limit).await?).into_response())
}

/// Stores and broadcasts a message in `general`: `201` with the stored
/// message, or `200` with the earlier one when its `client_id` was already
/// sent. Signed in (the session cookie), it is sent under the account's
/// name.
async fn create_message(
    caller: Caller,
    ApiJson(request): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<ChatMessage>), ApiError> {
    send(&caller, GENERAL, request).await
}

async fn send(
    caller: &Caller,
    room: &str,
    request: SendMessage,
) -> Result<(StatusCode, Json<ChatMessage>), ApiError> {
    Ok(match caller.send(room, request).await? {
        Stored::New(message) => (StatusCode::CREATED, Json(message)),
        Stored::Existing(message) => (StatusCode::OK, Json(message)),
    })
}

/// Edits the caller's own message: `200` with the message as it now is
/// (also when its `client_id` was applied before, or the text is the same);
/// `401` for a guest, `403 not_author` for someone else's message, `404`
/// for no such message, `409 message_deleted` for a deleted one, `422`
/// for a text that breaks the rules.
async fn edit_message(
    caller: Caller,
    ApiPath(id): ApiPath<MessageId>,
    ApiJson(request): ApiJson<EditMessage>,
) -> Result<Response, ApiError> {
    Ok(made(caller.edit(None, id, request).await?))
}

/// Deletes the caller's own message: `200` with the message as it now is
/// (`"deleted": true`, `"text": ""`), again if it was deleted before; the
/// body (`{"client_id": ..., "reason": ...}`) may be left out. Refused as
/// for an edit, except that a moderator removes anyone's message
/// (`"removed": true`; the reason goes to the audit log).
async fn delete_message(
    caller: Caller,
    ApiPath(id): ApiPath<MessageId>,
    MaybeJson(request): MaybeJson<DeleteMessage>,
) -> Result<Response, ApiError> {
    Ok(made(
        caller.delete(None, id, request.unwrap_or_default()).await?,
    ))
}

/// [`edit_message`] of a message of the room in the path (`404` if it is
/// in another room, or there is no such room).
async fn edit_room_message(
    caller: Caller,
    ApiPath((room, id)): ApiPath<(String, MessageId)>,
    ApiJson(request): ApiJson<EditMessage>,
) -> Result<Response, ApiError> {
    Ok(made(caller.edit(Some(&room), id, request).await?))
}

/// [`delete_message`] of a message of the room in the path.
async fn delete_room_message(
    caller: Caller,
    ApiPath((room, id)): ApiPath<(String, MessageId)>,
    MaybeJson(request): MaybeJson<DeleteMessage>,
) -> Result<Response, ApiError> {
    Ok(made(
        caller
            .delete(Some(&room), id, request.unwrap_or_default())
            .await?,
    ))
}

/// The texts that edits of the caller's own message replaced, oldest
/// first (none once deleted): `401` for a guest, `403 not_author` for
/// someone else's message.
async fn list_versions(
    caller: Caller,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(caller.versions(id).await?))
}

/// Gives the caller's reaction (the last path segment, percent-encoded):
/// `200` with the message as it now is, also when it was given before. A
/// guest's body names its browser and name (`{"browser": "<uuid>",
/// "name": "..."}`); `422` for a reaction that breaks the rules, `409
/// message_deleted`, `409 too_many_reactions` for a new kind on a message
/// that holds 20.
async fn add_reaction(
    caller: Caller,
    ApiPath((id, reaction)): ApiPath<(MessageId, String)>,
    MaybeJson(request): MaybeJson<React>,
) -> Result<Response, ApiError> {
    let request = request.unwrap_or_default();
    Ok(made(
        caller.react(None, id, &reaction, true, request).await?,
    ))
}

/// Takes the caller's reaction back: `200` with the message as it now is,
/// also when it was not given.
async fn remove_reaction(
    caller: Caller,
    ApiPath((id, reaction)): ApiPath<(MessageId, String)>,
    MaybeJson(request): MaybeJson<React>,
) -> Result<Response, ApiError> {
    let request = request.unwrap_or_default();
    Ok(made(
        caller.react(None, id, &reaction, false, request).await?,
    ))
}

/// The header that answers a change with its own entry in the log (the
/// id a stream carries it under), when it made one.
pub const ENTRY_ID: &str = "chat-entry-id";

/// A change's answer: `200` with the message as it now is, and the
/// change's entry id in [`ENTRY_ID`] if it made one.
fn made(made: crate::door::caller::Made) -> Response {
    let mut response = Json(made.message).into_response();
    if let Some(entry) = made.entry {
        response.headers_mut().insert(ENTRY_ID, entry.into());
    }
    response
}
