//! The page's live connection: after the history it rendered, follow the
//! server's event stream. Browser only (`hydrate`).

use leptos::prelude::*;
use shared::{ChatMessage, timeline};

use crate::browser::EventStream;

/// Opens the event stream once the history has loaded, starting after the
/// newest message the page holds, so nothing slips between the two.
/// `connected` follows the stream's `open` and `error` events. The stream
/// closes when the page's reactive owner is dropped.
pub(crate) fn follow_stream(
    history: OnceResource<Result<Vec<ChatMessage>, ServerFnError>>,
    messages: RwSignal<Vec<ChatMessage>>,
    connected: RwSignal<bool>,
) {
    let stream = StoredValue::new_local(None::<EventStream>);
    Effect::new(move |_| {
        if stream.with_value(Option::is_some) {
            return;
        }
        let Some(loaded) = history.get() else {
            return;
        };
        let newest_loaded = loaded.ok().and_then(|list| list.last().map(|m| m.id));
        let newest_held = messages.with_untracked(|list| list.last().map(|m| m.id));
        let after = newest_loaded.max(newest_held);
        let opened = EventStream::open(
            after,
            move |message| {
                messages.update(|list| {
                    timeline::insert(list, message);
                })
            },
            move || connected.set(true),
            move || connected.set(false),
        );
        match opened {
            Ok(opened) => stream.set_value(Some(opened)),
            Err(err) => leptos::logging::error!("could not open the event stream: {err:?}"),
        }
    });
}
