//! Direct conversations: a signed-in person opens the one conversation of
//! themself and one to seven other accounts, made on first use and the
//! same whoever of them opens it. Its people are fixed; to anyone else it
//! does not exist, as a private room (it is one, with no owner).

use shared::room::{MAX_DIRECT_PEOPLE, Room};

use super::Caller;
use crate::edge::error::ApiError;

/// How many people a conversation is asked for with.
const PEOPLE: &str = "usernames must name one to seven other people";

impl Caller {
    /// The direct conversation of the caller and the accounts `usernames`
    /// (ignoring case, look-alike letters, repeats and the caller's own
    /// name), made now if it was not: then every tab of each of them lists
    /// it at once.
    pub async fn open_direct(&self, usernames: &[String]) -> Result<Room, ApiError> {
        let account = self.account().await?.ok_or(ApiError::Unauthorized)?;
        self.count_write(account)?;
        if usernames.len() > MAX_DIRECT_PEOPLE * 2 {
            return Err(ApiError::BadBody(PEOPLE));
        }
        let mut people = vec![account.id];
        for username in usernames {
            let person = self
                .state
                .rooms
                .account_named(username)
                .await?
                .ok_or_else(|| ApiError::NoSuchAccount(username.clone()))?;
            if !people.contains(&person.id) {
                people.push(person.id);
            }
        }
        if !(2..=MAX_DIRECT_PEOPLE).contains(&people.len()) {
            return Err(ApiError::BadBody(PEOPLE));
        }
        let (room, created) = self.state.rooms.direct(&people, account.id).await?;
        if created {
            self.members_changed(&room);
        }
        Ok(self.listed(room))
    }
}
