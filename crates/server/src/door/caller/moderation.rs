//! The moderators' and admins' use cases: roles and the audit log. (A
//! moderator's removal of a message is [`Caller::delete`]'s: one door for
//! deleting, which says what the caller's role makes of it.)

use shared::{
    account::Role,
    moderation::{AccountRole, AuditEntry, MAX_AUDIT_PAGE},
};

use super::Caller;
use crate::{
    edge::error::ApiError,
    log::store::{Account, RoleSet},
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
        let admin = self.admin().await?;
        self.state
            .send_limiter
            .check_account(admin.id)
            .map_err(ApiError::RateLimited)?;
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
}
