//! The web APIs the page uses, wrapped so components stay declarative.
//! Compiled only into the WASM bundle (`hydrate`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use shared::{
    ChatMessage, Entry, MessageId,
    message::CHANGE_EVENT,
    moderation::{BANNED_EVENT, BanNotice},
    presence::{PRESENCE_EVENT, PresenceEvent, TYPING_EVENT, TypingEvent},
    room::{ROOM_EVENT, ROOM_LEFT_EVENT, ReadPosition, Room, RoomLeft},
};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};
use web_sys::{BroadcastChannel, EventSource, MessageEvent};

const USERNAME_KEY: &str = "chat.username";
/// Where this browser's id is kept (see [`browser_id`]).
const BROWSER_KEY: &str = "chat.browser";
/// Where a guest's read positions are kept (JSON: room name → position);
/// an account's under this key, a dot and the account's name.
const READ_POSITIONS_KEY: &str = "chat.read";
/// The SSE event type of the server's keep-alive.
const PING_EVENT: &str = "ping";

/// A fresh client id for a message: a UUIDv7, the time in milliseconds
/// followed by random bits, so that ids sent one after another sort
/// together in the server's unique index (cheap to insert) while staying
/// unguessable. `crypto.getRandomValues` works in insecure contexts too,
/// unlike `crypto.randomUUID`.
pub(crate) fn new_client_id() -> Uuid {
    let mut bytes = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        // No Web Crypto: fall back to Math.random, which is good enough to
        // keep one browser's ids apart.
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    let millis = js_sys::Date::now() as u64;
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The username this browser used last, if any.
pub(crate) fn load_username() -> Option<String> {
    local_storage()?.get_item(USERNAME_KEY).ok()?
}

/// Remembers the username for the next visit.
pub(crate) fn save_username(username: &str) {
    if let Some(storage) = local_storage() {
        // A full or disabled storage only costs the user retyping their name.
        let _ = storage.set_item(USERNAME_KEY, username);
    }
}

/// How far the reader (`account`, or the guest) has read each room in
/// this browser (see [`crate::unread`]); empty if nothing (or nothing
/// readable) is stored.
pub(crate) fn load_read_positions(account: Option<&str>) -> HashMap<String, ReadPosition> {
    local_storage()
        .and_then(|storage| storage.get_item(&read_positions_key(account)).ok()?)
        .and_then(|json| crate::json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Remembers that the reader (`account`, or the guest) read `room` as far
/// as `position` in this browser.
pub(crate) fn save_read_position(account: Option<&str>, room: &str, position: ReadPosition) {
    save_read_positions(account, &HashMap::from([(room.to_owned(), position)]));
}

/// Remembers how far the reader (`account`, or the guest) read each room
/// of `read` in this browser (never moving a kept position back).
pub(crate) fn save_read_positions(account: Option<&str>, read: &HashMap<String, ReadPosition>) {
    let Some(storage) = local_storage() else {
        return;
    };
    let mut positions = load_read_positions(account);
    for (room, position) in read {
        let known = positions.entry(room.clone()).or_insert(*position);
        *known = (*known).max(*position);
    }
    if let Ok(json) = serde_json::to_string(&positions) {
        // A full or disabled storage only costs unread counts on the next visit.
        let _ = storage.set_item(&read_positions_key(account), &json);
    }
}

/// Each reader of this browser keeps positions of their own.
fn read_positions_key(account: Option<&str>) -> String {
    match account {
        Some(account) => format!("{READ_POSITIONS_KEY}.{account}"),
        None => READ_POSITIONS_KEY.to_owned(),
    }
}

/// This browser's id, the same in all its tabs and visits (made and kept
/// on first use): the server counts a guest with several tabs once.
pub(crate) fn browser_id() -> Uuid {
    let stored = local_storage()
        .and_then(|storage| storage.get_item(BROWSER_KEY).ok()?)
        .and_then(|id| id.parse().ok());
    stored.unwrap_or_else(|| {
        let id = new_client_id();
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(BROWSER_KEY, &id.to_string());
        }
        id
    })
}

/// Sends `json` to `path` even as the page closes (`navigator.sendBeacon`,
/// which the browser delivers after the page is gone).
pub(crate) fn send_beacon(path: &str, json: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let parts = js_sys::Array::of1(&JsValue::from_str(json));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) {
        let _ = window
            .navigator()
            .send_beacon_with_opt_blob(path, Some(&blob));
    }
}

/// Calls `handler` when the page is being left (`pagehide`).
pub(crate) fn on_page_hide(handler: impl FnMut() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let handler = Closure::<dyn FnMut()>::new(handler);
    if window
        .add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref())
        .is_ok()
    {
        handler.forget();
    }
}

/// Loads the page at `path` (a room's page: each is rendered by the
/// server).
/// The text of the page's element `id` (a script's JSON), if it has one.
pub(crate) fn element_text(id: &str) -> Option<String> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .text_content()
}

/// The path of the page shown (`/`, `/r/<escaped name>`).
pub(crate) fn page_path() -> String {
    web_sys::window()
        .and_then(|window| window.location().pathname().ok())
        .unwrap_or_default()
}

pub(crate) fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}

/// `HH:MM` in the browser's local time zone.
pub(crate) fn local_time(timestamp: DateTime<Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(timestamp.timestamp_millis() as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// The calendar day of `timestamp` in the browser's local time zone.
pub(crate) fn local_date(timestamp: DateTime<Utc>) -> Option<NaiveDate> {
    let date = js_sys::Date::new(&JsValue::from_f64(timestamp.timestamp_millis() as f64));
    NaiveDate::from_ymd_opt(
        date.get_full_year() as i32,
        date.get_month() + 1,
        date.get_date(),
    )
}

/// Whether the browser believes it is online (`navigator.onLine`).
pub(crate) fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Whether the page is visible (`document.visibilityState`).
pub(crate) fn is_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A random number in `[0, 1)`, for jitter.
pub(crate) fn random() -> f64 {
    js_sys::Math::random()
}

/// Calls `handler` on every `event` of the document, for the page's lifetime.
pub(crate) fn on_document_event(event: &str, handler: impl FnMut() + 'static) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let handler = Closure::<dyn FnMut()>::new(handler);
    if document
        .add_event_listener_with_callback(event, handler.as_ref().unchecked_ref())
        .is_ok()
    {
        // The page lives as long as the document: keep the handler forever.
        handler.forget();
    }
}

/// A passing event of the stream: who is in a room, who is typing, which
/// room was just created.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Passing {
    Presence(PresenceEvent),
    Typing(TypingEvent),
    Room(Room),
    /// The signed-in account was banned; its stream ends.
    Banned(BanNotice),
    /// The signed-in account was taken out of a private room (or left).
    RoomLeft(RoomLeft),
}

/// The callbacks of an [`EventStream`].
pub(crate) struct StreamHandlers<M, P, A, O, E> {
    /// An entry of the log: a new message, or a change to one.
    pub(crate) message: M,
    /// A passing event.
    pub(crate) passing: P,
    /// Any sign of life: a message or a keep-alive ping.
    pub(crate) activity: A,
    pub(crate) open: O,
    pub(crate) error: E,
}

/// An open `EventSource` on `/api/events` and the callbacks it calls.
/// Dropping it closes the stream.
pub(crate) struct EventStream {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_change: Closure<dyn FnMut(MessageEvent)>,
    _on_presence: Closure<dyn FnMut(MessageEvent)>,
    _on_typing: Closure<dyn FnMut(MessageEvent)>,
    _on_room: Closure<dyn FnMut(MessageEvent)>,
    _on_banned: Closure<dyn FnMut(MessageEvent)>,
    _on_room_left: Closure<dyn FnMut(MessageEvent)>,
    _on_ping: Closure<dyn FnMut(JsValue)>,
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl EventStream {
    /// Opens the stream of every message after `after` (or only new ones).
    pub(crate) fn open(
        after: Option<MessageId>,
        handlers: StreamHandlers<
            impl FnMut(Entry) + 'static,
            impl Fn(Passing) + 'static,
            impl Fn() + 'static,
            impl FnMut() + 'static,
            impl FnMut() + 'static,
        >,
    ) -> Result<Self, JsValue> {
        let StreamHandlers {
            message: on_message,
            passing,
            activity,
            open: mut on_open,
            error: mut on_error,
        } = handlers;
        let activity = std::rc::Rc::new(activity);
        let url = match after {
            Some(id) => format!("/api/events?after={id}"),
            None => "/api/events".to_owned(),
        };
        let source = EventSource::new(&url)?;
        let on_message = std::rc::Rc::new(std::cell::RefCell::new(on_message));
        // A new message's entry id is its own; a change's is the event's.
        let on_entry = |change: bool| {
            let (activity, on_message) = (activity.clone(), on_message.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                activity();
                let Some(data) = event.data().as_string() else {
                    return;
                };
                let message = match crate::json::from_str::<ChatMessage>(&data) {
                    Ok(message) => message,
                    Err(err) => return leptos::logging::warn!("ignoring malformed event: {err}"),
                };
                let entry = if change {
                    match event.last_event_id().parse() {
                        Ok(id) => Entry { id, message },
                        Err(_) => return leptos::logging::warn!("ignoring a change without id"),
                    }
                } else {
                    Entry::sent(message)
                };
                (on_message.borrow_mut())(entry);
            })
        };
        let (on_message, on_change) = (on_entry(false), on_entry(true));
        source
            .add_event_listener_with_callback(CHANGE_EVENT, on_change.as_ref().unchecked_ref())?;
        let passing = std::rc::Rc::new(passing);
        let on_passing = |read: fn(&str) -> Option<Passing>| {
            let passing = passing.clone();
            let activity = activity.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                activity();
                match event.data().as_string().as_deref().and_then(read) {
                    Some(event) => passing(event),
                    None => leptos::logging::warn!("ignoring a malformed passing event"),
                }
            })
        };
        let on_presence =
            on_passing(|data| crate::json::from_str(data).ok().map(Passing::Presence));
        let on_typing = on_passing(|data| crate::json::from_str(data).ok().map(Passing::Typing));
        let on_room = on_passing(|data| crate::json::from_str(data).ok().map(Passing::Room));
        let on_banned = on_passing(|data| crate::json::from_str(data).ok().map(Passing::Banned));
        let on_room_left =
            on_passing(|data| crate::json::from_str(data).ok().map(Passing::RoomLeft));
        source.add_event_listener_with_callback(
            PRESENCE_EVENT,
            on_presence.as_ref().unchecked_ref(),
        )?;
        source
            .add_event_listener_with_callback(TYPING_EVENT, on_typing.as_ref().unchecked_ref())?;
        source.add_event_listener_with_callback(ROOM_EVENT, on_room.as_ref().unchecked_ref())?;
        source
            .add_event_listener_with_callback(BANNED_EVENT, on_banned.as_ref().unchecked_ref())?;
        source.add_event_listener_with_callback(
            ROOM_LEFT_EVENT,
            on_room_left.as_ref().unchecked_ref(),
        )?;
        let on_ping = Closure::<dyn FnMut(JsValue)>::new(move |_| activity());
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| on_open());
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| on_error());
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        source.add_event_listener_with_callback(PING_EVENT, on_ping.as_ref().unchecked_ref())?;
        Ok(Self {
            source,
            _on_message: on_message,
            _on_change: on_change,
            _on_presence: on_presence,
            _on_typing: on_typing,
            _on_room: on_room,
            _on_banned: on_banned,
            _on_room_left: on_room_left,
            _on_ping: on_ping,
            _on_open: on_open,
            _on_error: on_error,
        })
    }
}

impl EventStream {
    /// Stops the stream (and the browser's own retries) without dropping
    /// the callbacks, which may be running right now.
    pub(crate) fn close(&self) {
        self.source.close();
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.close();
    }
}

// The Web Locks API is behind `web_sys_unstable_apis`, which cannot be set
// for cargo-leptos builds; these two declarations are all the page needs.
#[wasm_bindgen]
extern "C" {
    type LockManager;

    #[wasm_bindgen(method)]
    fn request(this: &LockManager, name: &str, callback: &js_sys::Function) -> js_sys::Promise;
}

/// Asks for the browser-wide lock `name` and calls `on_granted` once this
/// tab holds it. The lock is then held until the tab closes, when the
/// browser passes it to the next tab waiting. Returns `false` where the
/// Web Locks API is missing.
pub(crate) fn hold_lock_while_open(name: &str, on_granted: impl FnOnce() + 'static) -> bool {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).unwrap_or_default();
    if locks.is_undefined() || locks.is_null() {
        return false;
    }
    let locks: LockManager = locks.unchecked_into();
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        on_granted();
        // Never settles: the lock is released only when the tab goes away.
        js_sys::Promise::new(&mut |_, _| {}).into()
    });
    let _ = locks.request(name, callback.unchecked_ref());
    true
}

/// A `BroadcastChannel` to this site's other tabs, carrying JSON strings.
/// Dropping it closes the channel.
pub(crate) struct TabChannel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl TabChannel {
    /// Opens the channel `name`, or `None` where the API is missing.
    pub(crate) fn open(name: &str, mut on_message: impl FnMut(String) + 'static) -> Option<Self> {
        let channel = BroadcastChannel::new(name).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = event.data().as_string() {
                on_message(data);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            channel,
            _on_message: on_message,
        })
    }

    /// Sends `json` to every other tab (not to this one).
    pub(crate) fn post(&self, json: &str) {
        if let Err(err) = self.channel.post_message(&JsValue::from_str(json)) {
            leptos::logging::warn!("could not post to other tabs: {err:?}");
        }
    }
}

impl Drop for TabChannel {
    fn drop(&mut self) {
        self.channel.close();
    }
}
