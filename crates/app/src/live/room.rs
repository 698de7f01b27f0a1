//! The room this page shows, as the live link sees it: messages of other
//! rooms counted as unread, read positions kept, who is here and who is
//! typing.

use std::time::Duration;

use leptos::{prelude::*, task::spawn_local};
use shared::{
    ChatMessage, GENERAL,
    presence::{Heartbeat, Typing},
    room::{ReadPosition, room_api_path, room_key, room_path},
};

use super::{Live, MARK_READ_DELAY_MS, TabSignal};
use crate::{
    api::{get_rooms, mark_read, presence as presence_api},
    browser::{self, Passing},
    state::TabRole,
};

impl Live {
    /// A passing event, from the stream or the leader: shown if it is
    /// about this room (or lists a new room), relayed if this tab leads.
    pub(super) fn passing(self, event: Passing) {
        if self.state.tab_role.get_untracked() == TabRole::Leader {
            self.tell_tabs(&TabSignal::Passing(event.clone()));
        }
        let here = |room: &str| {
            self.state
                .room
                .with_untracked(|shown| room_key(shown) == room_key(room))
        };
        match event {
            Passing::Presence(event) if here(&event.room) => self.state.present.set(event),
            Passing::Typing(event) if here(&event.room) => {
                self.state.typists.update(|typists| {
                    typists.heard(&event.name, event.typing, browser::now_ms());
                });
                self.expire_typists_later();
            }
            // Listed at once; a room the page knows stays as it is.
            Passing::Room(room) => self
                .state
                .tallies
                .update(|tallies| tallies.merge(vec![room])),
            // Every tab of the browser stops offering to write.
            Passing::Banned(ban) => self.state.viewer.update(|viewer| viewer.banned = Some(ban)),
            // Out of the list; a tab showing it goes to general.
            Passing::RoomLeft(left) => {
                if here(&left.room) {
                    browser::go_to(&room_path(GENERAL));
                }
                self.state
                    .tallies
                    .update(|tallies| tallies.remove(&left.room));
            }
            Passing::Presence(_) | Passing::Typing(_) => {}
        }
    }

    /// Forgets the typists who fall silent, when the first of them does.
    pub(super) fn expire_typists_later(self) {
        let Some(next) = self.state.typists.with_untracked(|t| t.next_expiry()) else {
            return;
        };
        let delay = (next - browser::now_ms()).max(0.0) as u64 + 50;
        let timer = set_timeout_with_handle(
            move || {
                self.web.update_value(|web| web.typing_expiry = None);
                self.state
                    .typists
                    .update(|typists| _ = typists.expire(browser::now_ms()));
                self.expire_typists_later();
            },
            Duration::from_millis(delay),
        )
        .ok();
        self.web.update_value(|web| {
            if let Some(old) = std::mem::replace(&mut web.typing_expiry, timer) {
                old.clear();
            }
        });
    }

    /// The name this tab's reader is known by here: the account's, else
    /// the Username field's, else the one this browser remembers (none if
    /// empty).
    pub(super) fn reader_name(self) -> Option<String> {
        let name = untrack(|| self.state.sender_name());
        let name = match name.trim() {
            "" => browser::load_username()?,
            name => name.to_owned(),
        };
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_owned())
    }

    /// Tells the server this page is open on its room, or (`leaving`) that
    /// it closes.
    pub(super) fn heartbeat(self, leaving: bool) {
        let room = self.state.room.get_untracked();
        let beat = Heartbeat {
            browser: self.browser,
            tab: self.tab,
            name: self.reader_name(),
            leaving,
        };
        if leaving {
            if let Ok(json) = serde_json::to_string(&beat) {
                browser::send_beacon(&room_api_path(&room, "presence"), &json);
            }
            return;
        }
        spawn_local(async move {
            match presence_api::heartbeat(&room, &beat).await {
                Ok(here) => self.state.present.set(here),
                Err(err) => leptos::logging::warn!("could not say this page is here: {err}"),
            }
        });
    }

    /// The composer's text changed: tells the room the reader types, or
    /// stopped, when [`Announcer`] says so.
    pub(super) fn text_changed(self, empty: bool) {
        // Nameless, nobody can be shown typing: nothing is told (and so
        // there is nothing to take back once a name is given).
        let Some(name) = self.reader_name() else {
            return;
        };
        let now = browser::now_ms();
        let Some(typing) = self
            .web
            .try_update_value(|web| web.announcer.text_changed(empty, now))
            .flatten()
        else {
            return;
        };
        let room = self.state.room.get_untracked();
        let typing = Typing {
            browser: self.browser,
            name: Some(name),
            typing,
        };
        spawn_local(async move {
            if let Err(err) = presence_api::typing(&room, &typing).await {
                leptos::logging::warn!("could not say who types: {err}");
            }
        });
    }

    /// Shows a message of this room, or counts one of another; reads the
    /// room list again when the message's room is new to the page.
    pub(super) fn receive(self, message: ChatMessage) {
        if self.state.receive(message) {
            return;
        }
        spawn_local(async move {
            match get_rooms().await {
                Ok(directory) => self
                    .state
                    .tallies
                    .update(|tallies| tallies.merge(directory.rooms)),
                Err(err) => leptos::logging::warn!("could not read the rooms: {err}"),
            }
        });
    }

    /// The reader has seen this page's room as far as `position`: every
    /// tab's unread count follows, and it is kept (signed in: by the
    /// server, soon; a guest: in this browser). A hidden tab keeps it until
    /// it is seen.
    pub(super) fn mark_read(self, position: ReadPosition) {
        if !browser::is_visible() {
            self.web
                .update_value(|web| web.unseen_read = Some(position));
            return;
        }
        let room = self.state.room.get_untracked();
        self.state
            .tallies
            .update(|tallies| tallies.read(&room, position));
        self.tell_tabs(&TabSignal::Read(room.clone(), position));
        let account = self
            .state
            .viewer
            .with_untracked(|viewer| viewer.account.clone());
        browser::save_read_position(account.as_deref(), &room, position);
        if account.is_none() {
            return;
        }
        let waiting = self
            .web
            .try_update_value(|web| web.unsent_read.replace(position).is_some())
            .unwrap_or(true);
        if waiting {
            return;
        }
        set_timeout(
            move || {
                let Some(position) = self
                    .web
                    .try_update_value(|web| web.unsent_read.take())
                    .flatten()
                else {
                    return;
                };
                spawn_local(async move {
                    if let Err(err) = mark_read(room, position).await {
                        leptos::logging::warn!("could not keep the read position: {err}");
                    }
                });
            },
            Duration::from_millis(MARK_READ_DELAY_MS),
        );
    }
}
