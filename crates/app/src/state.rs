//! The page's state, shared by its components through context.
//!
//! It mirrors the original demo's `state` block (messages, username, text,
//! connected) and adds what exact delivery needs: the link's status and the
//! outbox of messages sent but not yet confirmed as stored.

use leptos::prelude::*;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use shared::{
    ChatMessage, MessageId,
    account::{Role, Viewer},
    message::Quote,
    presence::PresenceEvent,
    room::{ReadPosition, room_key},
    timeline,
};
use uuid::Uuid;

use crate::{api::get_messages, error::CallError, typing::Typists, unread::Tallies};

/// The state of the page's live link to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinkStatus {
    /// Not connected yet (server rendering, hydrating, first attempt).
    Connecting,
    /// The event stream is open.
    Connected,
    /// The stream broke; trying again with backoff.
    Reconnecting,
    /// The browser is offline; waiting for it to come back.
    Offline,
}

/// How this tab takes part in the browser's one shared event stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TabRole {
    /// Holds a stream of its own (rendering on the server, or a browser
    /// without Web Locks or `BroadcastChannel`).
    Solo,
    /// Holds the stream for every tab of this browser and relays it.
    Leader,
    /// Receives messages from the leader tab.
    Follower,
}

impl TabRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Solo => "solo",
            Self::Leader => "leader",
            Self::Follower => "follower",
        }
    }
}

/// Where a message the user sent stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting to go out (offline, or behind earlier messages).
    Queued,
    /// On its way to the server.
    Sending,
    /// Refused for now because the user sends too fast; goes out again by
    /// itself once the server allows it.
    Throttled,
    /// Refused or lost; `Retry` sends it again under the same client id.
    Failed(String),
}

/// A message the user sent that the server has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client_id: Uuid,
    pub what: Pending,
    pub delivery: Delivery,
}

/// What an outbox entry sends: a new message, or a change to a stored one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Message(Draft),
    Change(Change),
}

/// A message to send: who, what, and what it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub username: String,
    pub text: String,
    pub reply: Option<Quote>,
}

/// A change to a stored message, waiting in the outbox like a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Edit {
        id: MessageId,
        text: String,
    },
    /// Deletes one's own message, or (a moderator) removes anyone's, for
    /// the reason given.
    Delete {
        id: MessageId,
        reason: Option<String>,
    },
    /// Gives (`on`) or takes back a reaction; a guest's names the name it
    /// shows under.
    React {
        id: MessageId,
        reaction: String,
        on: bool,
        guest_name: Option<String>,
    },
}

impl Change {
    /// The message it changes.
    pub fn message(&self) -> MessageId {
        match self {
            Self::Edit { id, .. } | Self::Delete { id, .. } | Self::React { id, .. } => *id,
        }
    }
}

impl Outgoing {
    /// The new message it sends, if it is one.
    pub fn draft(&self) -> Option<&Draft> {
        match &self.what {
            Pending::Message(draft) => Some(draft),
            Pending::Change(_) => None,
        }
    }

    /// The change it sends, if it is one.
    pub fn change(&self) -> Option<&Change> {
        match &self.what {
            Pending::Change(change) => Some(change),
            Pending::Message(_) => None,
        }
    }
}

/// What the composer and the pending bubbles can ask of the outbox. In the
/// browser, `crate::live` provides it in context; while rendering on the
/// server there is none (nobody can click there).
#[derive(Clone, Copy)]
pub struct Outbox {
    /// Queue a message and start sending.
    pub submit: Callback<Draft>,
    /// Queue a change to a stored message (after whatever waits already).
    pub change: Callback<Change>,
    /// Send a failed message or change again under its client id.
    pub retry: Callback<Uuid>,
    /// Give up a failed change.
    pub discard: Callback<Uuid>,
}

/// How the page tells the server (signed in) or the browser (a guest), and
/// the browser's other tabs, that the reader has read its room this far.
/// In the browser, `crate::live` provides it in context.
#[derive(Clone, Copy)]
pub struct MarkRead(pub Callback<ReadPosition>);

/// The page's signals, `Copy` so every closure can hold them.
#[derive(Clone, Copy)]
pub struct ChatState {
    /// The room this page shows, as its address names it.
    pub room: RwSignal<String>,
    /// Every room, with its count and how far the reader has read it.
    pub tallies: RwSignal<Tallies>,
    /// Who has a page open on this room.
    pub present: RwSignal<PresenceEvent>,
    /// Who is typing in this room.
    pub typists: RwSignal<Typists>,
    /// This room's stored messages, sorted by id, each once.
    pub messages: RwSignal<Vec<ChatMessage>>,
    pub username: RwSignal<String>,
    pub text: RwSignal<String>,
    pub status: RwSignal<LinkStatus>,
    /// Sent but not yet confirmed, in the order they were sent.
    pub outbox: RwSignal<Vec<Outgoing>>,
    /// Whether older history exists beyond the first message held.
    pub more_history: RwSignal<bool>,
    pub tab_role: RwSignal<TabRole>,
    /// Who is signed in, and whether guests may send.
    pub viewer: RwSignal<Viewer>,
    /// The message whose text the composer is editing, if any.
    pub editing: RwSignal<Option<MessageId>>,
    /// The message the composer's next message answers, if any.
    pub replying: RwSignal<Option<Quote>>,
    /// The message a reply's quote was followed to, shown for a moment.
    pub highlighted: RwSignal<Option<MessageId>>,
    /// Until when (browser milliseconds) the reader must wait to send
    /// again: the room's slow mode, or the server's send limit.
    pub wait_until: RwSignal<f64>,
    /// The browser's time, ticked each second while the reader waits.
    pub clock: RwSignal<f64>,
    /// The chat's admins and moderators, whose names the page marks.
    pub staff: RwSignal<Vec<shared::account::StaffMember>>,
}

impl ChatState {
    /// The state of a page that shows `room`.
    pub fn new(room: String) -> Self {
        Self {
            present: RwSignal::new(PresenceEvent {
                room: room.clone(),
                ..PresenceEvent::default()
            }),
            room: RwSignal::new(room),
            tallies: RwSignal::new(Tallies::default()),
            typists: RwSignal::new(Typists::default()),
            messages: RwSignal::new(Vec::new()),
            username: RwSignal::new(String::new()),
            text: RwSignal::new(String::new()),
            status: RwSignal::new(LinkStatus::Connecting),
            outbox: RwSignal::new(Vec::new()),
            more_history: RwSignal::new(false),
            tab_role: RwSignal::new(TabRole::Solo),
            viewer: RwSignal::new(Viewer {
                account: None,
                guests_may_send: true,
                role: Role::Member,
                banned: None,
            }),
            editing: RwSignal::new(None),
            replying: RwSignal::new(None),
            highlighted: RwSignal::new(None),
            wait_until: RwSignal::new(0.0),
            clock: RwSignal::new(0.0),
            staff: RwSignal::new(Vec::new()),
        }
    }

    /// What moderators set for this page's room, as last heard.
    pub fn room_settings_untracked(&self) -> shared::room::RoomSettings {
        let room = self.room.get_untracked();
        self.tallies
            .with_untracked(|tallies| tallies.get(&room).map(|tally| tally.settings))
            .unwrap_or_default()
    }

    /// What moderators set for this page's room, as last heard (tracked).
    pub fn room_settings(&self) -> shared::room::RoomSettings {
        let room = self.room.get();
        self.tallies
            .with(|tallies| tallies.get(&room).map(|tally| tally.settings))
            .unwrap_or_default()
    }

    /// The name this page sends under: the account's when signed in, else
    /// the Username field's.
    pub fn sender_name(&self) -> String {
        self.viewer
            .with(|viewer| viewer.account.clone())
            .unwrap_or_else(|| self.username.get())
    }

    /// Whether `message` was sent by whoever uses this page: by the
    /// signed-in account, or as a guest under the Username field's name.
    pub fn is_mine(&self, message: &ChatMessage) -> bool {
        self.viewer.with(|viewer| {
            self.username
                .with(|guest_name| is_mine(viewer.account.as_deref(), guest_name, message))
        })
    }

    /// Whether `message` belongs to the room this page shows.
    pub fn is_here(&self, message: &ChatMessage) -> bool {
        self.room
            .with_untracked(|room| room_key(room) == room_key(&message.room))
    }

    /// Takes in a message from the stream (or the leader tab): shown if it
    /// is this room's, counted in its room's unread count if not. Returns
    /// `false` if its room is new to the page.
    pub fn receive(&self, message: ChatMessage) -> bool {
        if self.is_here(&message) {
            if !self.typists.with_untracked(Typists::is_empty) {
                self.typists
                    .update(|typists| typists.sent(&message.username));
            }
            self.confirm(message);
            return true;
        }
        self.tallies
            .try_update(|tallies| tallies.received(&message))
            .unwrap_or(true)
    }

    /// Takes in a change to a message (an edit, a deletion): shown in
    /// place if the page holds the message; nothing else moves (a change
    /// adds no message and counts as nothing unread).
    pub fn change(&self, message: ChatMessage) {
        if !self.is_here(&message) {
            return;
        }
        let id = message.id;
        let (held, answered) = self.messages.with_untracked(|list| {
            (
                list.binary_search_by_key(&id, |m| m.id).is_ok(),
                list.iter().any(|m| m.reply_to == Some(id)),
            )
        });
        if message.deleted && self.editing.get_untracked() == Some(id) {
            self.stop_editing();
        }
        if self
            .replying
            .with_untracked(|quote| quote.as_ref().is_some_and(|q| q.id == id))
        {
            self.replying.set(Some(Quote::of(&message)));
        }
        if held || answered {
            // Replies to it quote it as it now is.
            let quote = Quote::of(&message);
            self.messages.update(|list| {
                timeline::replace(list, message);
                for reply in list.iter_mut().filter(|m| m.reply_to == Some(id)) {
                    reply.quote = Some(quote.clone());
                }
            });
        }
    }

    /// Shows message `id` of this room: loads older pages until it is
    /// held (or there is no older history), then scrolls to it and
    /// highlights it for a moment.
    pub async fn jump_to(&self, id: MessageId) -> Result<(), CallError> {
        while self.oldest_id().is_some_and(|oldest| oldest > id)
            && self.more_history.get_untracked()
        {
            self.load_older().await?;
        }
        self.highlighted.set(Some(id));
        Ok(())
    }

    /// The newest message of this room the signed-in reader sent and may
    /// still edit (not deleted): what the Up key in an empty composer
    /// edits.
    pub fn last_editable(&self) -> Option<ChatMessage> {
        let account = self
            .viewer
            .with_untracked(|viewer| viewer.account.clone())?;
        self.messages.with_untracked(|list| {
            list.iter()
                .rev()
                .find(|m| !m.deleted && m.is_by(&account))
                .cloned()
        })
    }

    /// Puts the reader's `message` in the composer to edit it.
    pub fn start_editing(&self, message: &ChatMessage) {
        self.editing.set(Some(message.id));
        self.text.set(message.text.clone());
    }

    /// Leaves editing; the composer is empty again.
    pub fn stop_editing(&self) {
        self.editing.set(None);
        self.text.set(String::new());
    }

    /// Whether the reader gave `reaction` (by the names it lists: an
    /// account by its name, a guest by the Username field's).
    pub fn gave(&self, reaction: &shared::Reaction) -> bool {
        match self.viewer.with(|viewer| viewer.account.clone()) {
            Some(account) => reaction.people.contains(&account),
            None => self
                .username
                .with(|name| reaction.guests.iter().any(|guest| guest == name.trim())),
        }
    }

    /// The entries of the outbox that are new messages, in order.
    pub fn pending_messages(&self) -> Vec<Outgoing> {
        self.outbox.with(|out| {
            out.iter()
                .filter(|entry| entry.draft().is_some())
                .cloned()
                .collect()
        })
    }

    /// Whether this page shows messages the reader sent as a guest (which
    /// only an account may edit).
    pub fn has_guest_messages_of_mine(&self) -> bool {
        self.messages
            .with_untracked(|list| list.iter().any(|m| m.guest && self.is_mine(m)))
    }

    /// Adds a stored message of this room (from history, the stream, or a
    /// send's reply) and retires its outbox entry, so it shows once
    /// whichever came first.
    pub fn confirm(&self, message: ChatMessage) {
        let client_id = message.client_id;
        if self
            .outbox
            .with_untracked(|out| out.iter().any(|o| o.client_id == client_id))
        {
            self.outbox
                .update(|out| out.retain(|o| o.client_id != client_id));
        }
        self.messages.update(|list| {
            timeline::insert(list, message);
        });
    }

    /// Adds a page of stored messages (history or catch-up) at once.
    pub fn confirm_all(&self, page: Vec<ChatMessage>) {
        if page.is_empty() {
            return;
        }
        let confirmed = |o: &Outgoing| page.iter().any(|m| m.client_id == o.client_id);
        if self.outbox.with_untracked(|out| out.iter().any(confirmed)) {
            self.outbox.update(|out| out.retain(|o| !confirmed(o)));
        }
        self.messages.update(|list| {
            timeline::extend(list, page);
        });
    }

    /// Loads the page of history before the oldest message held and
    /// records whether still older history remains.
    pub async fn load_older(&self) -> Result<(), CallError> {
        let Some(oldest) = self.oldest_id() else {
            self.more_history.set(false);
            return Ok(());
        };
        let page = get_messages(self.room.get_untracked(), Some(oldest), None).await?;
        self.more_history
            .set(page.len() == shared::DEFAULT_PAGE_SIZE as usize);
        self.confirm_all(page);
        Ok(())
    }

    /// The id of the oldest message held, where older history would start.
    pub fn oldest_id(&self) -> Option<MessageId> {
        self.messages
            .with_untracked(|list| list.first().map(|m| m.id))
    }
}

/// The subtitle under the header.
pub fn subtitle(status: LinkStatus, message_count: usize) -> String {
    match status {
        LinkStatus::Connected if message_count == 1 => "Connected -- 1 message".to_owned(),
        LinkStatus::Connected => format!("Connected -- {message_count} messages"),
        LinkStatus::Connecting => "Connecting…".to_owned(),
        LinkStatus::Reconnecting => "Reconnecting…".to_owned(),
        LinkStatus::Offline => "Disconnected".to_owned(),
    }
}

/// See [`ChatState::is_mine`]. An account's message is never a guest's,
/// even under the same name (a guest cannot take it, but one may have used
/// it before the account existed).
pub fn is_mine(account: Option<&str>, guest_name: &str, message: &ChatMessage) -> bool {
    match account {
        Some(name) => message.is_by(name),
        None => message.guest && message.username == guest_name.trim(),
    }
}

/// What a day separator in the message list says for `day`, seen on
/// `today`: "Today", "Yesterday", the weekday and date within the year,
/// else the date with its year.
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(day) {
        "Yesterday".to_owned()
    } else if day.year() == today.year() {
        let weekday = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
        format!("{weekday}, {} {}", day.day(), month_name(day))
    } else {
        full_date(day)
    }
}

/// `day` with its year: "30 November 2026".
pub fn full_date(day: NaiveDate) -> String {
    format!("{} {} {}", day.day(), month_name(day), day.year())
}

// English names, spelled out here: chrono's `format` would bring its
// whole strftime parser and formatter into the WASM for three labels.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(day: NaiveDate) -> &'static str {
    MONTHS[day.month0() as usize]
}

/// The messages (sorted by id) that begin a calendar day, each with its
/// day, as `day_of` tells the day of a message.
pub fn day_starts(
    messages: &[ChatMessage],
    day_of: impl Fn(&ChatMessage) -> NaiveDate,
) -> HashMap<MessageId, NaiveDate> {
    let mut starts = HashMap::new();
    let mut previous = None;
    for message in messages {
        let day = day_of(message);
        if previous != Some(day) {
            starts.insert(message.id, day);
        }
        previous = Some(day);
    }
    starts
}

/// The first reconnect waits about this long; each further one twice as long.
const RETRY_BASE_MS: f64 = 500.0;
/// No reconnect waits longer than this.
const RETRY_MAX_MS: f64 = 15_000.0;

/// How long to wait before reconnect attempt `attempt` (0-based), given a
/// `random` number in `[0, 1)`: exponential backoff with "equal jitter",
/// half fixed and half random, so that many pages cut off at once do not
/// all come back at the same moment.
pub fn retry_delay_ms(attempt: u32, random: f64) -> f64 {
    let ceiling = (RETRY_BASE_MS * 2f64.powi(attempt.min(16) as i32)).min(RETRY_MAX_MS);
    ceiling / 2.0 + ceiling / 2.0 * random.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_then_stays_under_the_cap() {
        assert_eq!(retry_delay_ms(0, 0.0), 250.0);
        assert_eq!(retry_delay_ms(0, 1.0), 500.0);
        assert_eq!(retry_delay_ms(1, 0.0), 500.0);
        assert_eq!(retry_delay_ms(3, 1.0), 4_000.0);
        for attempt in [5, 10, 100, u32::MAX] {
            let delay = retry_delay_ms(attempt, 0.999);
            assert!((7_500.0..=15_000.0).contains(&delay), "{attempt}: {delay}");
        }
    }

    #[test]
    fn mine_means_the_accounts_messages_when_signed_in_else_the_guest_names() {
        let message = |username: &str, guest: bool| ChatMessage {
            id: 1,
            room: shared::GENERAL.into(),
            client_id: Uuid::nil(),
            username: username.into(),
            text: "hi".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            guest,
            ..Default::default()
        };
        assert!(is_mine(Some("ada"), "", &message("ada", false)));
        assert!(!is_mine(Some("ada"), "ada", &message("ada", true)));
        assert!(!is_mine(Some("ada"), "", &message("bob", false)));
        assert!(is_mine(None, " ada ", &message("ada", true)));
        assert!(!is_mine(None, "ada", &message("ada", false)));
    }

    #[test]
    fn days_are_today_yesterday_then_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
        assert_eq!(day_label(today, today), "Today");
        assert_eq!(day_label(day(11, 29), today), "Yesterday");
        assert_eq!(day_label(day(11, 28), today), "Saturday, 28 November");
        assert_eq!(
            day_label(NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"), today),
            "31 December 2025"
        );
        let new_year = NaiveDate::from_ymd_opt(2027, 1, 1).expect("date");
        assert_eq!(day_label(day(12, 31), new_year), "Yesterday");
    }

    #[test]
    fn day_labels_name_every_weekday_and_month_as_chrono_does() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        let mut day = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        while day < today.pred_opt().expect("date") {
            assert_eq!(day_label(day, today), day.format("%A, %-d %B").to_string());
            assert_eq!(full_date(day), day.format("%-d %B %Y").to_string());
            day = day.succ_opt().expect("date");
        }
    }

    #[test]
    fn a_day_starts_at_its_first_message() {
        let at = |id: MessageId, day: u32| ChatMessage {
            id,
            room: shared::GENERAL.into(),
            client_id: Uuid::nil(),
            username: "ada".into(),
            text: "hi".into(),
            timestamp: NaiveDate::from_ymd_opt(2026, 11, day)
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .expect("time")
                .and_utc(),
            guest: true,
            ..Default::default()
        };
        let messages = [at(1, 28), at(2, 28), at(3, 29), at(5, 30), at(8, 30)];
        let starts = day_starts(&messages, |m| m.timestamp.date_naive());
        let mut ids: Vec<_> = starts.keys().copied().collect();
        ids.sort();
        assert_eq!(ids, [1, 3, 5]);
        assert_eq!(
            starts[&3],
            NaiveDate::from_ymd_opt(2026, 11, 29).expect("date")
        );
        assert!(day_starts(&[], |m| m.timestamp.date_naive()).is_empty());
    }

    #[test]
    fn subtitle_says_disconnected_only_when_offline() {
        assert_eq!(
            subtitle(LinkStatus::Connected, 3),
            "Connected -- 3 messages"
        );
        assert_eq!(subtitle(LinkStatus::Connected, 1), "Connected -- 1 message");
        assert_eq!(
            subtitle(LinkStatus::Connected, 0),
            "Connected -- 0 messages"
        );
        assert_eq!(subtitle(LinkStatus::Reconnecting, 3), "Reconnecting…");
        assert_eq!(subtitle(LinkStatus::Connecting, 3), "Connecting…");
        assert_eq!(subtitle(LinkStatus::Offline, 3), "Disconnected");
    }
}
