//! The web APIs the page uses, wrapped so components stay declarative.
//! Compiled only into the WASM bundle (`hydrate`).

use chrono::{DateTime, Utc};
use shared::{ChatMessage, MessageId};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{EventSource, MessageEvent};

const USERNAME_KEY: &str = "chat.username";

/// A fresh random (v4) client id. `crypto.getRandomValues` works in
/// insecure contexts too, unlike `crypto.randomUUID`.
pub(crate) fn random_uuid() -> Uuid {
    let mut bytes = [0u8; 16];
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
    uuid::Builder::from_random_bytes(bytes).into_uuid()
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

/// `HH:MM` in the browser's local time zone.
pub(crate) fn local_time(timestamp: DateTime<Utc>) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(timestamp.timestamp_millis() as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// An open `EventSource` on `/api/events` and the callbacks it calls.
/// Dropping it closes the stream.
pub(crate) struct EventStream {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl EventStream {
    /// Opens the stream of every message after `after` (or only new ones).
    /// The browser reconnects by itself after a dropped connection and then
    /// resumes from the last event id it saw.
    pub(crate) fn open(
        after: Option<MessageId>,
        mut on_message: impl FnMut(ChatMessage) + 'static,
        mut on_open: impl FnMut() + 'static,
        mut on_error: impl FnMut() + 'static,
    ) -> Result<Self, JsValue> {
        let url = match after {
            Some(id) => format!("/api/events?after={id}"),
            None => "/api/events".to_owned(),
        };
        let source = EventSource::new(&url)?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(data) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ChatMessage>(&data) {
                Ok(message) => on_message(message),
                Err(err) => leptos::logging::warn!("ignoring malformed event: {err}"),
            }
        });
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| on_open());
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| on_error());
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            source,
            _on_message: on_message,
            _on_open: on_open,
            _on_error: on_error,
        })
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.close();
    }
}
