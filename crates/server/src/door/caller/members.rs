//! Private rooms' members: who may list, add, take out and make owners.
//! A private room's owners and the chat's admins manage its members; any
//! member lists them and may leave. To anyone else the room does not
//! exist (`404 no_such_room`), as for every other use case
//! ([`Caller::room`]).

use shared::{
    account::Role,
    room::{Member, RoomKind},
};

use super::Caller;
use crate::{
    edge::error::ApiError,
    log::store::{Account, MemberAdded, RoomRecord},
};

/// Who acts on a private room's members, and what they may do there.
pub(super) struct Manager<'a> {
    pub(super) account: &'a Account,
    pub(super) room: RoomRecord,
    /// An owner of the room, or an admin of the chat.
    pub(super) manages: bool,
}

impl Caller {
    /// The private room `name` as a signed-in member or admin acts on its
    /// members (counted against the account's send limit); a public room
    /// is `409 not_private`.
    pub(super) async fn managing(&self, name: &str) -> Result<Manager<'_>, ApiError> {
        let account = self.account().await?;
        let admin = account.is_some_and(|account| account.role == Role::Admin);
        let viewer = account.map(|account| account.id);
        // An admin manages any private room's members, but sees no direct
        // conversation of others: who talks with whom is theirs.
        let room = match self.state.rooms.find(name).await? {
            Some(room)
                if self.state.rooms.sees(&room, viewer)
                    || (admin && room.kind == RoomKind::Private) =>
            {
                room
            }
            _ => return Err(ApiError::NoSuchRoom(name.to_owned())),
        };
        if room.kind == RoomKind::Public {
            return Err(ApiError::NotPrivate);
        }
        // A guest sees no private room: only an account comes this far.
        let account = account.ok_or(ApiError::Unauthorized)?;
        self.count_write(account)?;
        let manages =
            room.kind == RoomKind::Private && (admin || self.state.rooms.owns(&room, account.id));
        Ok(Manager {
            account,
            room,
            manages,
        })
    }

    /// [`Self::managing`] to change who is in the room: a direct
    /// conversation's people are fixed (`409 direct_room`).
    pub(super) async fn changing(&self, name: &str) -> Result<Manager<'_>, ApiError> {
        let manager = self.managing(name).await?;
        if manager.room.kind == RoomKind::Direct {
            return Err(ApiError::DirectRoom);
        }
        Ok(manager)
    }

    /// The member `username` of `manager`'s room.
    async fn member(&self, room: &RoomRecord, username: &str) -> Result<Account, ApiError> {
        match self.state.rooms.account_named(username).await? {
            Some(account) if self.state.rooms.sees(room, Some(account.id)) => Ok(account),
            _ => Err(ApiError::NoSuchMember(username.to_owned())),
        }
    }

    /// The private room `room`'s members, in the order they joined: for its
    /// members and admins.
    pub async fn members(&self, room: &str) -> Result<Vec<Member>, ApiError> {
        let manager = self.managing(room).await?;
        Ok(self
            .state
            .rooms
            .member_names(&manager.room)
            .await?
            .into_iter()
            .map(|(username, owner)| Member { username, owner })
            .collect())
    }

    /// Adds the account `username` to the private room `room`: its owners
    /// and admins may. Their every tab lists the room at once.
    pub async fn add_member(&self, room: &str, username: &str) -> Result<Member, ApiError> {
        let manager = self.changing(room).await?;
        if !manager.manages {
            return Err(ApiError::NotOwner);
        }
        let account = self
            .state
            .rooms
            .account_named(username)
            .await?
            .ok_or_else(|| ApiError::NoSuchAccount(username.to_owned()))?;
        match self
            .state
            .rooms
            .add_member(&manager.room, account.id)
            .await?
        {
            MemberAdded::Added | MemberAdded::Already => {}
            MemberAdded::Full => return Err(ApiError::RoomFull),
        }
        self.members_changed(&manager.room);
        let owner = self.state.rooms.owns(&manager.room, account.id);
        Ok(Member {
            username: account.name,
            owner,
        })
    }

    /// Takes `username` out of the private room `room`: its owners and
    /// admins may, and any member may leave. Their streams stop carrying
    /// the room at once.
    pub async fn remove_member(&self, room: &str, username: &str) -> Result<(), ApiError> {
        let manager = self.changing(room).await?;
        let member = self.member(&manager.room, username).await?;
        if !manager.manages && member.id != manager.account.id {
            return Err(ApiError::NotOwner);
        }
        self.state
            .rooms
            .remove_member(&manager.room, member.id)
            .await?;
        self.members_changed(&manager.room);
        self.state.presence.left(member.id, &manager.room.name);
        Ok(())
    }

    /// Makes the member `username` of the private room `room` an owner or
    /// not: its owners and admins may.
    pub async fn set_owner(
        &self,
        room: &str,
        username: &str,
        owner: bool,
    ) -> Result<Member, ApiError> {
        let manager = self.changing(room).await?;
        if !manager.manages {
            return Err(ApiError::NotOwner);
        }
        let member = self.member(&manager.room, username).await?;
        self.state
            .rooms
            .set_owner(&manager.room, member.id, owner)
            .await?;
        self.members_changed(&manager.room);
        Ok(Member {
            username: member.name,
            owner,
        })
    }

    /// Every stream that may see `room` now hears of it (a member added
    /// lists it at once), and the other servers read its members again.
    pub(super) fn members_changed(&self, room: &RoomRecord) {
        let listed = self.listed(room.clone());
        self.state.presence.room_settings_changed(&listed);
    }
}
