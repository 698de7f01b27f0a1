//! The floor of the first load: the smallest Leptos page doing the chat
//! demo's unavoidable part, as the chat does it: hydrate a server-rendered
//! list of messages loaded by a server function (a resource under
//! `Suspense`), send one with another, count them (a memo), and follow an
//! `EventSource` whose events are JSON messages (an effect). Its WASM is
//! what any Leptos page doing this costs (BENCHMARKS.md, "First load").
//! As the chat's, its `Send` is disabled until the WASM has taken the page
//! over, and its subtitle says `Connected` once the stream is open: the
//! two marks scenario 5b times.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, closure::Closure};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    pub id: u64,
    pub username: String,
    pub text: String,
    pub timestamp: String,
}

/// A first visit's page of history, as scenario 5b gives the chat's: 50
/// messages from three people.
#[server]
pub async fn get_messages() -> Result<Vec<ChatMessage>, ServerFnError> {
    let people = ["ada", "grace", "linus"];
    Ok((1..=50)
        .map(|n| ChatMessage {
            id: n,
            username: people[n as usize % people.len()].to_owned(),
            text: format!("Message {n}: shall we move the review to Thursday afternoon?"),
            timestamp: format!("2026-12-08T09:{:02}:00Z", n % 60),
        })
        .collect())
}

#[server]
pub async fn send_message(username: String, text: String) -> Result<ChatMessage, ServerFnError> {
    Ok(ChatMessage {
        id: 0,
        username,
        text,
        timestamp: String::new(),
    })
}

#[component]
pub fn App() -> impl IntoView {
    let messages = RwSignal::new(Vec::<ChatMessage>::new());
    let username = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let connected = RwSignal::new(false);
    let in_browser = RwSignal::new(false);
    let count = Memo::new(move |_| messages.with(Vec::len));
    let history = OnceResource::new(get_messages());
    let send = Action::new(move |(u, t): &(String, String)| send_message(u.clone(), t.clone()));
    Effect::new(move |_| {
        let source = web_sys::EventSource::new("/api/events").unwrap();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(data) = event.data().as_string()
                    && let Ok(message) = serde_json::from_str::<ChatMessage>(&data)
                {
                    messages.update(|held| held.push(message));
                }
            },
        );
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_open = Closure::<dyn FnMut()>::new(move || connected.set(true));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        in_browser.set(true);
    });
    view! {
        <main>
            <p data-test="subtitle">{move || if connected.get() { "Connected" } else { "Connecting" }} " -- " {move || count.get()} " messages"</p>
            <Suspense fallback=|| "Loading">
                {move || Suspend::new(async move {
                    if let Ok(initial) = history.await { messages.set(initial); }
                    view! {
                        <ul>
                            <For each=move || messages.get() key=|m| m.id let:m>
                                <li><b>{m.username}</b> " " <time>{m.timestamp}</time> " " {m.text}</li>
                            </For>
                        </ul>
                    }
                })}
            </Suspense>
            <form on:submit=move |ev| { ev.prevent_default(); send.dispatch((username.get(), text.get())); text.set(String::new()); }>
                <input prop:value=username on:input=move |ev| username.set(event_target_value(&ev)) />
                <input prop:value=text on:input=move |ev| text.set(event_target_value(&ev)) />
                <button type="submit" data-test="send" disabled=move || !in_browser.get()>"Send"</button>
            </form>
        </main>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
