//! Accounts: people sign up with a name and a password, sign in and out,
//! and a signed-in browser carries a session cookie.
//!
//! - Names follow the username rules and are unique by their key
//!   ([`shared::names::name_key`]: compatibility forms, case and the
//!   confusable skeleton of UTS #39 folded), so `Ada`, `ada`, `аda`
//!   (Cyrillic `а`) and `AdA` are one name, as are `paypal` and `paypaI`;
//!   a new name may not use letters that pass for common ones
//!   ([`shared::names::check_letters`]), for accounts and guests alike.
//! - Passwords are hashed with Argon2id ([`password`]); a wrong password
//!   and an unknown name get the same answer after the same work.
//! - Failed sign-ins are limited per name, and all sign-ins and sign-ups
//!   per client ([`attempts`]).
//! - A session is a random 256-bit token in an `HttpOnly`, `SameSite=Lax`
//!   cookie (`Secure` when the site is served over https); the database
//!   keeps only its SHA-256, so a copy of the database signs nobody in.
//!   Every sign-in makes a new token; signing out deletes the session;
//!   a session not seen for [`IDLE_LIMIT`] ends.

mod attempts;
pub use attempts::{ACCOUNTS_PER_DAY, ACCOUNTS_PER_HOUR, DAY, HOUR};
mod free_names;
pub mod password;

use axum_extra::extract::CookieJar;
use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::Utc;
use sha2::{Digest, Sha256};
use shared::{
    Field, Rule, ValidationError,
    account::Credentials,
    check_password,
    names::{check_letters, name_key},
    parse_username,
};
use tokio_util::sync::CancellationToken;

use self::{
    attempts::{Attempts, SignUpRefused},
    free_names::FreeNames,
    password::Hasher,
};
use crate::log::store::{Account, Store, StoreError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chat_session";
/// A session not seen for this long ends.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How stale a session's last-seen time may get before a request updates
/// it (one write an hour per session, not one per request).
const TOUCH_AFTER: i64 = 60 * 60;
/// How often idle sessions are cleared away.
const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
/// How often sign-in counts whose window ended are forgotten.
const FORGET_ATTEMPTS_EVERY: Duration = Duration::from_secs(60);

/// The session token the request's cookie carries, if it has one.
pub fn session_token(jar: &CookieJar) -> Option<Token> {
    Token::from_cookie(jar.get(SESSION_COOKIE)?.value())
}

/// Why an account request failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("too many failed attempts; wait a moment")]
    TooManyAttempts(Duration),
    /// As many accounts were made from the client's address as it may
    /// make in an hour or a day.
    #[error("too many accounts made from this address; try again later")]
    TooManyAccounts(Duration),
    /// The account is banned (the password was right).
    #[error("this account is banned")]
    Banned(shared::moderation::BanNotice),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hashing(#[from] password::HashError),
}

/// `N` random bytes written as `2 * N` lower-case hex digits: a secret
/// not to be guessed (a session token, an invite code).
pub(crate) fn random_hex<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A session token: what the cookie holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    fn new() -> Self {
        Self(random_hex::<32>())
    }

    /// A token as a cookie carried it, if it has a token's shape.
    pub fn from_cookie(value: &str) -> Option<Self> {
        (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(value.to_ascii_lowercase()))
    }

    /// What the database keeps.
    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

/// Never prints the token.
impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The accounts service; cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Store,
    hasher: Hasher,
    attempts: Attempts,
    /// Whether cookies get `Secure` (the site is served over https).
    secure_cookies: bool,
    /// Name keys no account held when last asked, and when that was.
    free_names: Arc<FreeNames>,
}

impl Accounts {
    /// The service, and a task that clears idle sessions every hour and
    /// forgets sign-in counts whose window ended every minute, until `stop`.
    pub fn start(store: Store, secure_cookies: bool, stop: CancellationToken) -> Self {
        Self::start_with(store, secure_cookies, true, stop)
    }

    /// [`Self::start`], counting each client address's sign-ins, sign-ups
    /// and accounts made only if `per_address_limits`.
    pub fn start_with(
        store: Store,
        secure_cookies: bool,
        per_address_limits: bool,
        stop: CancellationToken,
    ) -> Self {
        let accounts = Self {
            store,
            hasher: Hasher::new(),
            attempts: Attempts::new(per_address_limits),
            secure_cookies,
            free_names: Arc::default(),
        };
        let sweeper = accounts.clone();
        tokio::spawn(async move {
            let mut sessions = tokio::time::interval(SWEEP_EVERY);
            let mut attempts = tokio::time::interval(FORGET_ATTEMPTS_EVERY);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = sessions.tick() => sweeper.sweep().await,
                    _ = attempts.tick() => sweeper.attempts.forget_old(),
                }
            }
        });
        accounts
    }

    async fn sweep(&self) {
        let cutoff = now() - IDLE_LIMIT.as_secs() as i64;
        match self.store.delete_idle_sessions(cutoff).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "idle sessions ended"),
            Err(err) => tracing::error!(error = %err, "clearing idle sessions failed"),
        }
    }

    /// Creates an account and signs it in.
    pub async fn sign_up(
        &self,
        credentials: Credentials,
        client: IpAddr,
    ) -> Result<(Account, Token), AccountError> {
        let name = parse_username(&credentials.username)?;
        check_letters(Field::Username, &name)?;
        check_password(&credentials.password)?;
        self.attempts
            .begin_sign_up(client)
            .map_err(|refused| match refused {
                SignUpRefused::TooManyAttempts(wait) => AccountError::TooManyAttempts(wait),
                SignUpRefused::TooManyAccounts(wait) => AccountError::TooManyAccounts(wait),
            })?;
        let made = self.make_account(name, credentials.password).await;
        if made.is_err() {
            self.attempts.sign_up_failed(client);
        }
        let account = made?;
        let token = self.new_session(&account).await?;
        Ok((account, token))
    }

    /// Stores a new account called `name` (valid) unless its name is taken.
    async fn make_account(&self, name: String, password: String) -> Result<Account, AccountError> {
        let key = name_key(&name);
        // Before the costly hash: a name taken now is taken.
        if self.store.name_key_taken(&key).await? {
            return Err(taken().into());
        }
        // From now on guests must ask the database about it.
        self.free_names.account_made(&key);
        let password_hash = self.hasher.hash(password).await?;
        let created = self
            .store
            .create_account(&name, &key, &password_hash, now())
            .await;
        // And no answer asked before the commit counts.
        self.free_names.account_made(&key);
        let id = created?.ok_or_else(taken)?;
        Ok(Account {
            id,
            name,
            password_hash,
            role: shared::account::Role::Member,
            banned: false,
            ban_until: None,
            ban_reason: None,
            ban_at: None,
            ban_by: None,
            ban_removes: None,
        })
    }

    /// Signs in with a name and password: a new session each time.
    pub async fn sign_in(
        &self,
        credentials: Credentials,
        client: IpAddr,
    ) -> Result<(Account, Token), AccountError> {
        // A name no account could have counts against the client only
        // (it is still hashed against, so it takes as long as any other).
        let key = parse_username(&credentials.username)
            .ok()
            .map(|name| name_key(&name));
        self.attempts
            .begin_sign_in(key.as_deref(), client)
            .map_err(AccountError::TooManyAttempts)?;
        let account = match &key {
            Some(key) => self.store.account_by_key(key).await?,
            None => None,
        };
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let matches = self.hasher.verify(credentials.password, hash).await;
        match account {
            Some(account) if matches => {
                if let Some(key) = &key {
                    self.attempts.signed_in(key, client);
                }
                if let Some(ban) = account.ban(Utc::now()) {
                    return Err(AccountError::Banned(ban));
                }
                let token = self.new_session(&account).await?;
                Ok((account, token))
            }
            _ => Err(AccountError::WrongCredentials),
        }
    }

    async fn new_session(&self, account: &Account) -> Result<Token, StoreError> {
        let token = Token::new();
        self.store
            .create_session(&token.hash(), account.id, now())
            .await?;
        Ok(token)
    }

    /// Refuses `name` for a guest (sending, or shown in presence and
    /// typing) if an account holds it or one that looks like it
    /// ([`AccountError::Invalid`] with the rule `taken`), or if it uses a
    /// letter no new name may (`restricted_letter`).
    pub async fn check_guest_name(&self, name: &str) -> Result<(), AccountError> {
        check_letters(Field::Username, name)?;
        if self.name_is_taken(name).await? {
            return Err(taken().into());
        }
        Ok(())
    }

    /// Whether an account holds `name` or one that looks like it.
    async fn name_is_taken(&self, name: &str) -> Result<bool, StoreError> {
        let key = name_key(name);
        let now = Instant::now();
        let Err(asked) = self.free_names.check(&key, now) else {
            return Ok(false);
        };
        let taken = self.store.name_key_taken(&key).await?;
        if !taken {
            self.free_names.found_free(key, asked, now);
        }
        Ok(taken)
    }

    /// Ends the session (nothing if it had ended).
    pub async fn sign_out(&self, token: &Token) -> Result<(), StoreError> {
        self.store.delete_session(&token.hash()).await
    }

    /// The account a request with these cookies is signed in as, if any.
    pub async fn of_cookies(&self, jar: &CookieJar) -> Result<Option<Account>, StoreError> {
        match session_token(jar) {
            Some(token) => self.signed_in(&token).await,
            None => Ok(None),
        }
    }

    /// The account signed in with `token`, if its session is still on.
    pub async fn signed_in(&self, token: &Token) -> Result<Option<Account>, StoreError> {
        let now = now();
        let hash = token.hash();
        let seen_since = now - IDLE_LIMIT.as_secs() as i64;
        let Some((account, last_seen)) = self.store.session_account(&hash, seen_since).await?
        else {
            return Ok(None);
        };
        if now - last_seen >= TOUCH_AFTER {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(account))
    }

    /// The chat's admins and moderators.
    pub async fn staff(&self) -> Result<Vec<shared::account::StaffMember>, StoreError> {
        self.store.staff().await
    }

    /// Gives the account whose name has `name_key` the `role`, as `by`,
    /// recorded in the audit log (see [`Store::set_role`]).
    pub async fn set_role(
        &self,
        name_key: &str,
        role: shared::account::Role,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::log::store::RoleSet, StoreError> {
        self.store.set_role(name_key, role, by, at).await
    }

    /// The cookie that carries `token`.
    pub fn cookie(&self, token: &Token) -> Cookie<'static> {
        Cookie::build((SESSION_COOKIE, token.0.clone()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.secure_cookies)
            .max_age(cookie_duration(IDLE_LIMIT))
            .build()
    }

    /// The cookie that removes the session cookie.
    pub fn removal_cookie(&self) -> Cookie<'static> {
        let mut cookie = self.cookie(&Token(String::new()));
        cookie.make_removal();
        cookie
    }
}

fn cookie_duration(duration: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(duration.as_secs() as i64)
}

/// The operator's `server admin grant NAME --role ROLE`: gives the
/// account `name` (any spelling of it) the `role` on the database at
/// `database_url`, whether or not servers run on it (see
/// [`crate::log::store::set_role_at`]), recorded in the audit log as the
/// command line's. The account's name as it was chosen.
pub async fn grant(
    database_url: &str,
    name: &str,
    role: shared::account::Role,
) -> anyhow::Result<String> {
    use crate::log::store::RoleSet;
    let key = name_key(name);
    let by = shared::moderation::COMMAND_LINE;
    match crate::log::store::set_role_at(database_url, &key, role, by, Utc::now()).await? {
        RoleSet::Set { name } => Ok(name),
        RoleSet::NoSuchAccount => anyhow::bail!("there is no account named {name:?}"),
        RoleSet::LastAdmin => {
            anyhow::bail!("{name} is the last admin; make another admin first")
        }
    }
}

/// The name is an account's, or looks like one.
pub fn taken() -> ValidationError {
    ValidationError {
        field: Field::Username,
        rule: Rule::Taken,
    }
}

/// Unix seconds.
fn now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    #[tokio::test]
    async fn a_session_not_seen_for_30_days_has_ended() {
        let (_dir, store) = temp_store().await;
        let accounts = Accounts::start(store.clone(), false, CancellationToken::new());
        let id = store
            .create_account("ada", "ada", "not a real hash", now())
            .await
            .expect("creates")
            .expect("free name");
        let day = 24 * 60 * 60;
        let (stale, fresh) = (Token::new(), Token::new());
        let thirty_days_ago = now() - 30 * day - 1;
        store
            .create_session(&stale.hash(), id, thirty_days_ago)
            .await
            .expect("stores");
        let twenty_nine_days_ago = now() - 29 * day;
        store
            .create_session(&fresh.hash(), id, twenty_nine_days_ago)
            .await
            .expect("stores");
        assert_eq!(accounts.signed_in(&stale).await.expect("reads"), None);
        let account = accounts.signed_in(&fresh).await.expect("reads");
        assert_eq!(account.map(|a| a.name), Some("ada".into()));
        // Seen now: it lasts another 30 days from today.
        let (_, last_seen) = store
            .session_account(&fresh.hash(), 0)
            .await
            .expect("reads")
            .expect("still there");
        assert!(now() - last_seen < 60, "{last_seen}");
        // And the sweep forgets the stale one (the service sweeps once at
        // start too: whichever ran, it is gone).
        store
            .delete_idle_sessions(now() - IDLE_LIMIT.as_secs() as i64)
            .await
            .expect("deletes");
        assert!(
            store
                .session_account(&stale.hash(), 0)
                .await
                .expect("reads")
                .is_none()
        );
    }

    #[test]
    fn tokens_are_256_random_bits_and_only_their_hash_is_kept() {
        let token = Token::new();
        assert_eq!(token.0.len(), 64);
        assert_ne!(token, Token::new());
        assert_eq!(Token::from_cookie(&token.0), Some(token.clone()));
        assert_eq!(token.hash().len(), 32);
        assert_ne!(token.hash(), token.0.as_bytes());
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(Token::from_cookie(bad), None, "{bad}");
        }
        assert_eq!(format!("{token:?}"), "Token(…)");
    }
}
