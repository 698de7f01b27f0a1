//! Invite links to private rooms: a private room's owners (and admins)
//! make, list and revoke them; whoever holds a live one, signed in, joins
//! the room with it. Whoever may not see the room gets `404
//! no_such_room` for the first three, as for every use case naming it.

use chrono::{DateTime, Utc};
use shared::room::{
    CreateInvite, INVITE_DEFAULT_SECS, INVITE_MAX_SECS, INVITE_MIN_SECS, Invite, MAX_MEMBERS, Room,
    invite_path,
};

use super::{Caller, members::Manager};
use crate::{
    door::accounts::random_hex,
    edge::error::ApiError,
    log::store::{InviteCreated, InviteRecord, MemberAdded},
};

/// How many random bytes a code holds (written as twice as many hex
/// digits): not to be guessed.
const CODE_BYTES: usize = 16;

impl Caller {
    /// The private room `room` as one of its owners or an admin acts on
    /// its invites.
    async fn inviting(&self, room: &str) -> Result<Manager<'_>, ApiError> {
        let manager = self.changing(room).await?;
        if !manager.manages {
            return Err(ApiError::NotOwner);
        }
        Ok(manager)
    }

    /// Makes an invite link to the private room `room`, lasting and
    /// letting in as many people as `limits` say.
    pub async fn create_invite(
        &self,
        room: &str,
        limits: CreateInvite,
    ) -> Result<Invite, ApiError> {
        let secs = limits.expires_in_secs.unwrap_or(INVITE_DEFAULT_SECS);
        if !(INVITE_MIN_SECS..=INVITE_MAX_SECS).contains(&secs) {
            return Err(ApiError::BadBody(
                "expires_in_secs must be from 60 (a minute) to 2592000 (thirty days)",
            ));
        }
        if limits
            .uses
            .is_some_and(|uses| uses == 0 || uses as usize > MAX_MEMBERS)
        {
            return Err(ApiError::BadBody("uses must be from 1 to 1000"));
        }
        let manager = self.inviting(room).await?;
        let expires_at = Utc::now().timestamp() + secs as i64;
        let invite = InviteRecord {
            code: random_hex::<CODE_BYTES>(),
            room_id: manager.room.id,
            expires_at,
            uses_left: limits.uses.map(i64::from),
        };
        match self
            .state
            .rooms
            .create_invite(&invite, manager.account.id)
            .await?
        {
            InviteCreated::Created => Ok(self.shown(invite)),
            InviteCreated::Full => Err(ApiError::TooManyInvites),
        }
    }

    /// The private room `room`'s live invite links, newest first.
    pub async fn invites(&self, room: &str) -> Result<Vec<Invite>, ApiError> {
        let manager = self.inviting(room).await?;
        let invites = self.state.rooms.invites(&manager.room).await?;
        Ok(invites
            .into_iter()
            .map(|invite| self.shown(invite))
            .collect())
    }

    /// Revokes the private room `room`'s invite link `code`: nobody joins
    /// with it any more.
    pub async fn revoke_invite(&self, room: &str, code: &str) -> Result<(), ApiError> {
        let manager = self.inviting(room).await?;
        if self.state.rooms.revoke_invite(&manager.room, code).await? {
            Ok(())
        } else {
            Err(ApiError::NoSuchInvite)
        }
    }

    /// The room the live invite link `code` lets the caller join, as the
    /// page that link opens names it.
    pub async fn invited_to(&self, code: &str) -> Result<String, ApiError> {
        if !is_code(code) {
            return Err(ApiError::NoSuchInvite);
        }
        match self.state.rooms.invited_to(code).await? {
            Some(room) => Ok(room.name),
            None => Err(ApiError::NoSuchInvite),
        }
    }

    /// Joins the signed-in caller to the room of the live invite link
    /// `code` (taking one of its uses; none if they were in it already):
    /// their every tab lists it at once.
    pub async fn join(&self, code: &str) -> Result<Room, ApiError> {
        let account = self.account().await?.ok_or(ApiError::Unauthorized)?;
        self.count_write(account)?;
        if !is_code(code) {
            return Err(ApiError::NoSuchInvite);
        }
        let (room, added) = self
            .state
            .rooms
            .use_invite(code, account.id)
            .await?
            .ok_or(ApiError::NoSuchInvite)?;
        match added {
            MemberAdded::Added => self.members_changed(&room),
            MemberAdded::Already => {}
            MemberAdded::Full => return Err(ApiError::RoomFull),
        }
        Ok(self.listed(room))
    }

    /// An invite as its room's owners see it, with its link on the chat's
    /// public address.
    fn shown(&self, invite: InviteRecord) -> Invite {
        Invite {
            url: format!("{}{}", self.state.site.origin(), invite_path(&invite.code)),
            expires_at: DateTime::from_timestamp(invite.expires_at, 0).unwrap_or_default(),
            uses_left: invite
                .uses_left
                .map(|uses| u32::try_from(uses).unwrap_or(0)),
            code: invite.code,
        }
    }
}

/// Whether `code` has a code's shape, lower-case hex digits (so that
/// nothing else is looked up).
fn is_code(code: &str) -> bool {
    code.len() == CODE_BYTES * 2
        && code
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}
