//! What a page holds when it starts ([`PageStart`]): read by the server
//! before it renders the page, and written into the page's head for the
//! browser, whose hydration starts from the same data at once.
//!
//! One blob read synchronously, rather than a resource per part under a
//! `Suspense`: hydration waits on nothing, and the page's WASM carries no
//! async rendering, resource or suspense code for it.

use serde::{Deserialize, Serialize};
use shared::{
    ChatMessage, MessageCount, account::Viewer, presence::PresenceEvent, room::Directory,
};

use crate::error::CallError;

/// The `id` of the `<script type="application/json">` holding it.
pub const SCRIPT_ID: &str = "page-start";

/// A room's page as it starts. A part the server could not read is
/// missing (`None`), and the page goes on without it, as it would
/// without the server's answer; the history's failure is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageStart {
    /// The room's latest page of messages, oldest first, or why not
    /// (`no_such_room`).
    pub history: Result<Vec<ChatMessage>, CallError>,
    /// Who is signed in (missing: the page shows a guest, who may sign in).
    pub viewer: Option<Viewer>,
    /// How many messages the room holds, as of an id.
    pub count: Option<MessageCount>,
    /// Every room, the reader's read positions, the chat's staff.
    pub directory: Option<Directory>,
    /// Who has a page open on the room.
    pub presence: Option<PresenceEvent>,
}

impl PageStart {
    /// What a page starts from when it has nothing: the server's answer
    /// never arrived (no script in the page, or one it cannot read).
    pub fn unavailable() -> Self {
        Self {
            history: Err(CallError::Unavailable),
            viewer: None,
            count: None,
            directory: None,
            presence: None,
        }
    }

    /// Reads every part for `room`, at once, as the caller may see it.
    #[cfg(feature = "ssr")]
    pub async fn load(chat: &dyn crate::service::ChatService, room: &str) -> Self {
        use shared::history::{Page, page_size};
        let (history, viewer, count, directory, presence) = futures::join!(
            chat.history(room, Page::Latest, page_size(None)),
            chat.viewer(),
            chat.count(room),
            chat.rooms(),
            chat.presence(room),
        );
        Self {
            history,
            viewer: viewer.ok(),
            count: count.ok(),
            directory: directory.ok(),
            presence: presence.ok(),
        }
    }

    /// As the page's head holds it: JSON with every `<` escaped, so that no
    /// text inside (a message's) can end the script element.
    pub fn to_script_text(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    }

    /// Read back from the script's text.
    pub fn from_script_text(text: &str) -> Self {
        crate::json::from_str(text).unwrap_or_else(|_| Self::unavailable())
    }
}

/// The script in the page's head holding the start its server handler
/// provided (nothing on a page without one, such as the not-found page).
pub fn script() -> impl leptos::IntoView {
    use leptos::prelude::*;
    // Read where the handler put it: the start is serialized, not copied.
    with_context(PageStart::to_script_text).map(|text| {
        view! { <script id=SCRIPT_ID type="application/json" inner_html=text></script> }
    })
}

/// The page's start: on the server, the one its page handler provided in
/// context; in the browser, the one in the page's head.
pub(crate) fn page_start() -> PageStart {
    #[cfg(feature = "hydrate")]
    return crate::browser::element_text(SCRIPT_ID).map_or_else(PageStart::unavailable, |text| {
        PageStart::from_script_text(&text)
    });
    #[cfg(not(feature = "hydrate"))]
    leptos::prelude::use_context::<PageStart>().unwrap_or_else(PageStart::unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_reads_back_from_its_script_text_and_no_text_ends_the_script() {
        let message = ChatMessage {
            id: 7,
            username: "ada".into(),
            text: "</script><script>alert(1)</script> <!--".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            ..Default::default()
        };
        let start = PageStart {
            history: Ok(vec![message]),
            viewer: Some(Viewer {
                account: Some("ada".into()),
                guests_may_send: true,
                role: Default::default(),
                banned: None,
            }),
            count: None,
            directory: None,
            presence: None,
        };
        let text = start.to_script_text();
        assert!(!text.contains('<'), "{text}");
        assert_eq!(PageStart::from_script_text(&text), start);
        let refused = PageStart {
            history: Err(CallError::Refused {
                code: "no_such_room".into(),
                message: "there is no room called nope".into(),
            }),
            ..PageStart::unavailable()
        };
        assert_eq!(
            PageStart::from_script_text(&refused.to_script_text()),
            refused
        );
    }

    #[test]
    fn a_page_with_an_unreadable_start_starts_with_nothing() {
        assert_eq!(
            PageStart::from_script_text("{\"history\""),
            PageStart::unavailable()
        );
        assert_eq!(PageStart::from_script_text(""), PageStart::unavailable());
    }
}
