//! The moderators' pages: `/admin` (open reports and what to do about
//! each, blocked guests, and for admins the roles) and `/admin/audit` (the
//! audit log, paged).
//!
//! Rendered on the server with no script at all: plain HTML forms that
//! post to `/admin/…`, each handled by the same caller door methods as the
//! JSON API, then back to the page (post, redirect, get) with what
//! happened. They weigh nothing in the page everyone else loads (the
//! WASM), work with a keyboard as any form does, and live under the same
//! CSP, site guard and limits as every other route.

use axum::{
    Router,
    extract::{Query, State},
    response::{Redirect, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use leptos::prelude::*;
use serde::Deserialize;
use shared::{
    account::Role,
    moderation::{
        ActOnReport, AuditEntry, Block, BlockRequest, DEFAULT_AUDIT_PAGE, Report, ReportAction,
    },
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
        .route("/admin", read(get(moderation)))
        .route("/admin/audit", read(get(audit)))
        .route("/admin/reports/{id}", send(post(act_on_report)))
        .route("/admin/blocks", send(post(block)))
        .route("/admin/blocks/{id}/remove", send(post(unblock)))
        .route("/admin/roles", send(post(set_role)))
}

/// `/admin`: moderators and admins; anyone else gets `403` and a page
/// that says so.
async fn moderation(
    State(state): State<AppState>,
    caller: Caller,
    Query(outcome): Query<Outcome>,
) -> Response {
    let (reports, blocks) = match (caller.reports().await, caller.blocks().await) {
        (Ok(reports), Ok(blocks)) => (reports, blocks),
        (Err(err), _) | (_, Err(err)) => return refused(&state, err),
    };
    let admin = caller
        .viewer()
        .await
        .is_ok_and(|viewer| viewer.role == Role::Admin);
    let body = view! {
        <main class="admin">
            <h1>"Moderation"</h1>
            <nav>
                <a href="/">"Back to the chat"</a>
                " · "
                <a href="/admin/audit">"Audit log"</a>
            </nav>
            {outcome_notes(outcome)}
            <section aria-labelledby="reports">
                <h2 id="reports">{format!("Open reports ({})", reports.len())}</h2>
                {reports.into_iter().map(report_view).collect_view()}
            </section>
            <section aria-labelledby="blocks">
                <h2 id="blocks">"Blocked guests"</h2>
                <ul>{blocks.into_iter().map(block_view).collect_view()}</ul>
                <form method="post" action="/admin/blocks" data-test="block-form">
                    <label>"Guest name " <input name="guest_name" /></label>
                    " or "
                    <label>"address " <input name="address" placeholder="IPv4, or IPv6 (its /64)" /></label>
                    {duration_select("hours", "for")}
                    <label>" Reason " <input name="reason" maxlength="500" /></label>
                    " "
                    <button type="submit">"Block"</button>
                </form>
            </section>
            {admin.then(|| view! {
                <section aria-labelledby="roles">
                    <h2 id="roles">"Roles"</h2>
                    <form method="post" action="/admin/roles" data-test="role-form">
                        <label>"Account " <input name="name" required="" /></label>
                        <label>
                            " becomes "
                            <select name="role">
                                <option value="moderator">"moderator"</option>
                                <option value="admin">"admin"</option>
                                <option value="member">"member"</option>
                            </select>
                        </label>
                        " "
                        <button type="submit">"Set role"</button>
                    </form>
                </section>
            })}
        </main>
    };
    page(&state, "Moderation", body.to_html())
}

fn report_view(report: Report) -> impl IntoView {
    let message = report.message;
    let text = if message.removed {
        "Removed by a moderator".to_owned()
    } else if message.deleted {
        "Message deleted".to_owned()
    } else {
        message.text
    };
    let author = if message.guest {
        format!("{} (guest)", message.username)
    } else {
        message.username
    };
    view! {
        <article class="report" data-test="report">
            <p>
                <strong>{author}</strong>
                {format!(" in #{} at {}: ", message.room, time(message.timestamp))}
                <bdi>{text}</bdi>
            </p>
            <p>
                {format!("Reported by {} at {}", report.reporter, time(report.at))}
                {report.reason.map(|reason| format!(": {reason}"))}
            </p>
            <form method="post" action=format!("/admin/reports/{}", report.id)>
                <label>"Reason " <input name="reason" maxlength="500" /></label>
                " "
                <button type="submit" name="action" value="remove">"Remove message"</button>
                " "
                <button type="submit" name="action" value="dismiss">"Dismiss"</button>
                " "
                <button type="submit" name="action" value="ban">"Ban author"</button>
                {duration_select("ban_hours", "for")}
            </form>
        </article>
    }
}

fn block_view(block: Block) -> impl IntoView {
    let until = block.until.map_or_else(
        || "for good".to_owned(),
        |until| format!("until {}", time(until)),
    );
    view! {
        <li data-test="block">
            {format!("{} {} {until}, by {}", block.kind.as_str(), block.value, block.by)}
            {block.reason.map(|reason| format!(": {reason}"))}
            " "
            <form method="post" action=format!("/admin/blocks/{}/remove", block.id) class="inline">
                <button type="submit">"Lift"</button>
            </form>
        </li>
    }
}

/// A choice of how long a ban or block lasts, in hours ("": for good).
fn duration_select(name: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <label>
            {format!(" {label} ")}
            <select name=name>
                <option value="1">"an hour"</option>
                <option value="24">"a day"</option>
                <option value="168">"a week"</option>
                <option value="">"good"</option>
            </select>
        </label>
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

/// `/admin/audit`: the audit log, newest first, 50 a page.
async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Response {
    let entries = match caller.audit(query.before, DEFAULT_AUDIT_PAGE).await {
        Ok(entries) => entries,
        Err(err) => return refused(&state, err),
    };
    let older = (entries.len() == DEFAULT_AUDIT_PAGE as usize)
        .then(|| {
            entries
                .last()
                .map(|entry| format!("/admin/audit?before={}", entry.id))
        })
        .flatten();
    let body = view! {
        <main class="admin">
            <h1>"Audit log"</h1>
            <nav><a href="/admin">"Moderation"</a></nav>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"About"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>{entries.into_iter().map(audit_row).collect_view()}</tbody>
            </table>
            {older.map(|href| view! { <a href=href data-test="older">"Older entries"</a> })}
        </main>
    };
    page(&state, "Audit log", body.to_html())
}

fn audit_row(entry: AuditEntry) -> impl IntoView {
    let subject = match entry.message_id {
        Some(id) => format!("{} (message {id})", entry.subject),
        None => entry.subject,
    };
    let detail = match entry.text {
        Some(text) => format!("{} {text:?}", entry.detail.unwrap_or_default()),
        None => entry.detail.unwrap_or_default(),
    };
    view! {
        <tr data-test="audit-entry">
            <td>{time(entry.at)}</td>
            <td>{entry.actor}</td>
            <td>{entry.action}</td>
            <td>{subject}</td>
            <td>{entry.reason.unwrap_or_default()}</td>
            <td>{detail}</td>
        </tr>
    }
}

#[derive(Debug, Deserialize)]
struct ReportForm {
    action: ReportAction,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ban_hours: String,
}

async fn act_on_report(
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    PageForm(form): PageForm<ReportForm>,
) -> Redirect {
    let request = ActOnReport {
        action: form.action,
        reason: Some(form.reason).filter(|reason| !reason.trim().is_empty()),
        until: until(&form.ban_hours),
    };
    back(caller.act_on_report(id, request).await.map(|closed| {
        format!(
            "{}: {} report(s) closed",
            form.action.as_str(),
            closed.closed
        )
    }))
}

#[derive(Debug, Deserialize)]
struct BlockForm {
    #[serde(default)]
    guest_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    reason: String,
}

async fn block(caller: Caller, PageForm(form): PageForm<BlockForm>) -> Redirect {
    let given = |value: String| Some(value).filter(|value| !value.trim().is_empty());
    let request = BlockRequest {
        guest_name: given(form.guest_name),
        address: given(form.address),
        until: until(&form.hours),
        reason: given(form.reason),
    };
    back(
        caller
            .block(request)
            .await
            .map(|block| format!("blocked {}", block.value)),
    )
}

async fn unblock(caller: Caller, ApiPath(id): ApiPath<i64>) -> Redirect {
    back(caller.unblock(id).await.map(|()| "block lifted".to_owned()))
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    name: String,
    role: Role,
}

async fn set_role(caller: Caller, PageForm(form): PageForm<RoleForm>) -> Redirect {
    back(
        caller
            .set_role(&form.name, form.role)
            .await
            .map(|set| format!("{} is now {}", set.username, set.role)),
    )
}

/// Back to `/admin`, saying what happened.
fn back(done: Result<String, ApiError>) -> Redirect {
    back_to("/admin", done)
}

/// The end of a ban or block `hours` from now (`""`: none, for good).
fn until(hours: &str) -> Option<DateTime<Utc>> {
    hours
        .parse::<i64>()
        .ok()
        .map(|hours| Utc::now() + Duration::hours(hours))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A page for a caller the door refused (`403` for anyone but a
/// moderator).
fn refused(state: &AppState, err: ApiError) -> Response {
    let back = view! {
        "Only moderators and admins may see this page. " <a href="/">"Back to the chat"</a>
    };
    refusal(state, "Moderation", &err, None, back)
}
