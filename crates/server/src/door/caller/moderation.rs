//! The moderators' and admins' use cases: roles and the audit log. (A
//! moderator's removal of a message is [`Caller::delete`]'s: one door for
//! deleting, which says what the caller's role makes of it.)

use std::net::IpAddr;

use chrono::{Duration, Utc};
use shared::{
    DeleteMessage, GENERAL, MessageId,
    account::Role,
    moderation::{
        AccountRole, ActOnReport, AuditEntry, BanNotice, BanRequest, Banned, Block, BlockKind,
        BlockRequest, MAX_AUDIT_PAGE, MAX_REPORTS_LISTED, RemoveMessages, Report, ReportAction,
        ReportMade, ReportRequest, ReportsClosed, Unbanned,
    },
    room::{MAX_SLOW_MODE_SECS, Room, RoomSettingsChange},
};

use super::Caller;
use crate::{
    edge::error::ApiError,
    log::store::{Account, Actor, BanSet, Edit, Moderation, RoleSet},
};

impl Caller {
    /// The signed-in account, if its role moderates; else `403 forbidden`
    /// (guests included).
    async fn moderator(&self) -> Result<&Account, ApiError> {
        match self.account().await? {
            Some(account) if account.role.moderates() => Ok(account),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// [`Self::moderator`], whose action now counts against its send
    /// limit.
    async fn moderator_acting(&self) -> Result<&Account, ApiError> {
        let moderator = self.moderator().await?;
        self.count_write(moderator)?;
        Ok(moderator)
    }

    /// [`Self::admin`], whose action now counts against its send limit.
    async fn admin_acting(&self) -> Result<&Account, ApiError> {
        let admin = self.admin().await?;
        self.count_write(admin)?;
        Ok(admin)
    }

    /// The signed-in account, if it is an admin; else `403 forbidden`.
    async fn admin(&self) -> Result<&Account, ApiError> {
        match self.account().await? {
            Some(account) if account.role == Role::Admin => Ok(account),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// Gives the account `name` (any spelling of it) the `role`: admins
    /// only, counted against their send limit; the last admin stays one.
    /// Recorded in the audit log; takes effect on the account's next
    /// request.
    pub async fn set_role(&self, name: &str, role: Role) -> Result<AccountRole, ApiError> {
        let admin = self.admin_acting().await?;
        let key = shared::names::name_key(name);
        match self
            .state
            .accounts
            .set_role(&key, role, &admin.name, chrono::Utc::now())
            .await?
        {
            RoleSet::Set { name } => Ok(AccountRole {
                username: name,
                role,
            }),
            RoleSet::NoSuchAccount => Err(ApiError::NoSuchAccount(name.to_owned())),
            RoleSet::LastAdmin => Err(ApiError::LastAdmin),
        }
    }

    /// Up to `limit` (at most [`MAX_AUDIT_PAGE`]) entries of the audit
    /// log before id `before`, newest first: moderators and admins only.
    pub async fn audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, ApiError> {
        self.moderator().await?;
        Ok(self
            .state
            .chat
            .audit(before, limit.clamp(1, MAX_AUDIT_PAGE))
            .await?)
    }

    /// Bans the account `name` (any spelling of it) until `request.until`
    /// (for good without one): moderators and admins; a moderator may not
    /// ban an admin, nor anyone themselves. Its requests get `403 banned`
    /// from now on (signing in too); the messages `request.remove_messages`
    /// names are removed, each a moderator's removal in the log and the
    /// audit; then its pages leave presence and their streams, on every
    /// server, are told and end. Counted against the send limit.
    pub async fn ban(&self, name: &str, request: BanRequest) -> Result<Banned, ApiError> {
        let moderator = self.moderator_acting().await?;
        let now = Utc::now();
        let ban = BanNotice {
            reason: shared::parse_reason(request.reason.as_deref())?,
            until: request.until,
        };
        if !ban.holds_at(now) {
            return Err(ApiError::BadBody(
                "until must be in the future, or null for good",
            ));
        }
        let key = shared::names::name_key(name);
        let may_ban_admins = moderator.role == Role::Admin;
        let (account, name) = match self
            .state
            .chat
            .ban(
                &key,
                &ban,
                request.remove_messages,
                moderator,
                may_ban_admins,
                now,
            )
            .await?
        {
            BanSet::Set { account, name } => (account, name),
            BanSet::NoSuchAccount => return Err(ApiError::NoSuchAccount(name.to_owned())),
            BanSet::Admin => return Err(ApiError::MayNotBan("a moderator may not ban an admin")),
            BanSet::Yourself => return Err(ApiError::MayNotBan("you may not ban yourself")),
        };
        let since = match request.remove_messages {
            RemoveMessages::None => None,
            RemoveMessages::Hour => Some(Some(now - Duration::hours(1))),
            RemoveMessages::Day => Some(Some(now - Duration::days(1))),
            RemoveMessages::All => Some(None),
        };
        let mut removed = 0;
        if let Some(since) = since {
            for id in self.state.chat.messages_of(&name, since).await? {
                let moderation = Some(Moderation {
                    reason: ban.reason.clone(),
                    keep_text: self.state.audit_keeps_text,
                });
                let by = Actor::Account(moderator.name.clone());
                let made = self
                    .change_as(None, id, None, by, Edit::Delete, moderation)
                    .await;
                match made {
                    Ok(made) if made.entry.is_some() => removed += 1,
                    // Deleted meanwhile by its author: nothing to remove.
                    Ok(_) | Err(ApiError::NoSuchMessage(_)) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        // Last, so that its pages saw the removals before their streams end.
        self.state
            .presence
            .banned(account, &format!("account:{name}"), &ban);
        Ok(Banned {
            username: name,
            ban,
            removed,
        })
    }

    /// Ends the ban of the account `name`: moderators and admins. Its
    /// sessions work again.
    pub async fn unban(&self, name: &str) -> Result<Unbanned, ApiError> {
        let moderator = self.moderator_acting().await?;
        let key = shared::names::name_key(name);
        match self
            .state
            .chat
            .unban(&key, &moderator.name, Utc::now())
            .await?
        {
            Some((name, was_banned)) => Ok(Unbanned {
                username: name,
                was_banned,
            }),
            None => Err(ApiError::NoSuchAccount(name.to_owned())),
        }
    }

    /// Blocks guests by name (with every name that looks like it) or by
    /// address (an IPv4 address; an IPv6 address's whole /64), until
    /// `request.until` (for good without one): moderators and admins,
    /// counted against their send limit. Every server applies it at once.
    pub async fn block(&self, request: BlockRequest) -> Result<Block, ApiError> {
        let moderator = self.moderator_acting().await?;
        let reason = shared::parse_reason(request.reason.as_deref())?;
        if request.until.is_some_and(|until| until <= Utc::now()) {
            return Err(ApiError::BadBody(
                "until must be in the future, or null for good",
            ));
        }
        let (kind, value) = match (&request.guest_name, &request.address) {
            (Some(name), None) => (BlockKind::Name, shared::parse_username(name)?),
            (None, Some(address)) => {
                let address: IpAddr = address
                    .trim()
                    .parse()
                    .map_err(|_| ApiError::BadBody("address must be an IPv4 or IPv6 address"))?;
                (BlockKind::Address, address.to_string())
            }
            _ => {
                return Err(ApiError::BadBody("give one of guest_name and address"));
            }
        };
        let id = self
            .state
            .blocks
            .add(
                kind,
                &value,
                request.until,
                reason.as_deref(),
                &moderator.name,
            )
            .await?;
        self.state.presence.blocks_changed();
        self.state
            .blocks
            .list()
            .into_iter()
            .find(|block| block.id == id)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("block {id} not read back")))
    }

    /// The guest blocks that hold now, newest first: moderators and
    /// admins.
    pub async fn blocks(&self) -> Result<Vec<Block>, ApiError> {
        self.moderator().await?;
        Ok(self.state.blocks.list())
    }

    /// Removes guest block `id`: moderators and admins.
    pub async fn unblock(&self, id: i64) -> Result<(), ApiError> {
        let moderator = self.moderator_acting().await?;
        match self.state.blocks.remove(id, &moderator.name).await? {
            Some(_) => {
                self.state.presence.blocks_changed();
                Ok(())
            }
            None => Err(ApiError::NoSuchBlock(id)),
        }
    }

    /// Changes what moderators set for `room` (slow mode, locked,
    /// archived, guests): moderators and admins, counted against their
    /// send limit. Every stream hears the room as it now is, and every
    /// server applies it at once. `general` cannot be archived.
    pub async fn update_room(
        &self,
        room: &str,
        change: RoomSettingsChange,
    ) -> Result<Room, ApiError> {
        let moderator = self.moderator_acting().await?;
        let room = self.room(room).await?;
        if change
            .slow_mode_secs
            .is_some_and(|secs| secs > MAX_SLOW_MODE_SECS)
        {
            return Err(ApiError::BadBody(
                "slow_mode_secs must be at most 21600 (six hours)",
            ));
        }
        if change.archived == Some(true) && room.name == GENERAL {
            return Err(ApiError::BadBody("general cannot be archived"));
        }
        let settings = change.applied_to(self.state.rooms.settings(room.id));
        self.state
            .rooms
            .set_settings(&room, settings, &moderator.name)
            .await?;
        let room = self.listed(room);
        self.state.presence.room_settings_changed(&room);
        Ok(room)
    }

    /// Reports message `id` to the moderators, as any reader may (a guest
    /// where guests may write), with a reason; counted against the send
    /// limit like a send. One open report per reader and message: the
    /// same report again answers the first.
    pub async fn report(
        &self,
        id: MessageId,
        request: ReportRequest,
    ) -> Result<ReportMade, ApiError> {
        let reason = shared::parse_reason(request.reason.as_deref())?;
        let name = match self.author().await? {
            super::Author::Account { name } => name,
            super::Author::Guest => "guest".to_owned(),
        };
        let reporter = self.writer_key(self.account().await?);
        let message = self.seen_message(id).await?;
        if message.deleted {
            return Err(ApiError::MessageDeleted);
        }
        let report = self
            .state
            .chat
            .report(id, &reporter, &name, reason.as_deref())
            .await?;
        Ok(ReportMade {
            id: report,
            message_id: id,
        })
    }

    /// The open reports, oldest first, each with its message as it now
    /// is: moderators and admins.
    pub async fn reports(&self) -> Result<Vec<Report>, ApiError> {
        self.moderator().await?;
        let mut reports = Vec::new();
        for (id, message, reporter, reason, at) in
            self.state.chat.open_reports(MAX_REPORTS_LISTED).await?
        {
            if let Some(message) = self.state.chat.message(message).await? {
                reports.push(Report {
                    id,
                    message,
                    reporter,
                    reason,
                    at,
                });
            }
        }
        Ok(reports)
    }

    /// Acts on report `id`: removes its message, bans its author (an
    /// account; a guest is blocked instead) and removes the message, or
    /// dismisses it; every open report of that message closes with it.
    /// Moderators and admins.
    pub async fn act_on_report(
        &self,
        id: i64,
        request: ActOnReport,
    ) -> Result<ReportsClosed, ApiError> {
        let moderator = self.moderator().await?.name.clone();
        let (message_id, open) = self
            .state
            .chat
            .report_by_id(id)
            .await?
            .ok_or(ApiError::NoSuchReport(id))?;
        if !open {
            return Err(ApiError::ReportClosed);
        }
        let remove = DeleteMessage {
            client_id: None,
            reason: request.reason.clone(),
        };
        match request.action {
            ReportAction::Remove => {
                self.delete(None, message_id, remove).await?;
            }
            ReportAction::Ban => {
                let message = self
                    .state
                    .chat
                    .message(message_id)
                    .await?
                    .ok_or(ApiError::NoSuchMessage(message_id))?;
                if message.guest {
                    return Err(ApiError::BadBody(
                        "a guest has no account to ban: block the guest instead",
                    ));
                }
                let ban = BanRequest {
                    reason: request.reason.clone(),
                    until: request.until,
                    remove_messages: RemoveMessages::None,
                };
                self.ban(&message.username, ban).await?;
                match self.delete(None, message_id, remove).await {
                    // Gone already (its author deleted it): nothing to remove.
                    Ok(_) | Err(ApiError::MessageDeleted) => {}
                    Err(err) => return Err(err),
                }
            }
            ReportAction::Dismiss => {}
        }
        let closed = self
            .state
            .chat
            .close_reports(message_id, request.action, &moderator)
            .await?;
        Ok(ReportsClosed {
            message_id,
            action: request.action,
            closed,
        })
    }
}
