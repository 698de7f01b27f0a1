//! A message's reactions: each with its count (who gave it on hover or
//! focus), pressed when the reader gave it, a click giving or taking it
//! back; and a picker of a few emoji or a short word of one's own.

use leptos::prelude::*;
use shared::{MessageId, Reaction};

use super::message_list::ReaderRights;
use crate::state::{Change, ChatState, Outbox};

/// What the picker offers before the reader types their own.
const PICKS: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "✅"];

#[component]
pub(super) fn Reactions(id: MessageId, reactions: Vec<Reaction>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let error = RwSignal::new(None::<String>);
    let picking = RwSignal::new(false);
    let own = RwSignal::new(String::new());
    let ReaderRights {
        may_send: may_react,
        ..
    } = expect_context();
    // Absent while rendering on the server, where nobody clicks.
    let outbox = use_context::<Outbox>();
    let react = move |reaction: String, on: bool| {
        picking.set(false);
        send_reaction(state, outbox, id, reaction, on, error);
    };
    let chips = reactions
        .into_iter()
        .map(|reaction| {
            let given = {
                let reaction = reaction.clone();
                Memo::new(move |_| state.gave(&reaction))
            };
            let who = who_reacted(&reaction);
            let name = reaction.reaction.clone();
            view! {
                <button
                    type="button"
                    class="reaction"
                    class:given=given
                    aria-pressed=move || if given.get() { "true" } else { "false" }
                    title=who
                    data-test="reaction"
                    data-reaction=reaction.reaction.clone()
                    disabled=move || !may_react.get()
                    on:click=move |_| react(name.clone(), !given.get_untracked())
                >
                    <span class="reaction-name">{reaction.reaction.clone()}</span>
                    " "
                    <span class="reaction-count" data-test="reaction-count">
                        {reaction.count}
                    </span>
                </button>
            }
        })
        .collect_view();
    let pick_own = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let reaction = own.get_untracked();
        if !reaction.trim().is_empty() {
            own.set(String::new());
            react(reaction, true);
        }
    };
    view! {
        <div class="reactions" data-test="reactions">
            {chips}
            <button
                type="button"
                class="add-reaction"
                data-test="add-reaction"
                aria-label="Add a reaction"
                aria-expanded=move || if picking.get() { "true" } else { "false" }
                on:click=move |_| picking.update(|open| *open = !*open)
            >
                "+"
            </button>
            // Drawn only while open: a list of messages hydrates none.
            {move || picking.get().then(|| picker(react, pick_own, own))}
            {move || {
                error
                    .get()
                    .map(|error| {
                        view! {
                            <p class="failure" role="alert" data-test="reaction-error">
                                {error}
                            </p>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// The picker: a few emoji, or a word of the reader's own.
fn picker(
    react: impl Fn(String, bool) + Copy + 'static,
    pick_own: impl Fn(leptos::ev::SubmitEvent) + 'static,
    own: RwSignal<String>,
) -> AnyView {
    view! {
        <div class="reaction-picker" data-test="reaction-picker">
            {PICKS
                .into_iter()
                .map(|pick| {
                    view! {
                        <button
                            type="button"
                            data-test="pick-reaction"
                            on:click=move |_| react(pick.to_owned(), true)
                        >
                            {pick}
                        </button>
                    }
                })
                .collect_view()}
            <form class="own-reaction" on:submit=pick_own>
                <input
                    type="text"
                    maxlength="16"
                    placeholder="or a word"
                    aria-label="Your own reaction"
                    data-test="own-reaction"
                    bind:value=own
                />
            </form>
        </div>
    }
    .into_any()
}

/// Who gave `reaction`, for its title: the names it lists (guests marked)
/// and how many more.
fn who_reacted(reaction: &Reaction) -> String {
    let mut names: Vec<String> = reaction.people.clone();
    names.extend(reaction.guests.iter().map(|name| format!("{name} (guest)")));
    let others = (reaction.count as usize).saturating_sub(names.len());
    if others > 0 {
        names.push(match others {
            1 => "1 other".to_owned(),
            n => format!("{n} others"),
        });
    }
    names.join(", ")
}

/// Gives or takes back `reaction`, through the outbox (after whatever
/// waits there; when the connection is back if it is not); a guest needs a
/// name to react under.
fn send_reaction(
    state: ChatState,
    outbox: Option<Outbox>,
    id: MessageId,
    reaction: String,
    on: bool,
    error: RwSignal<Option<String>>,
) {
    let account = state.viewer.with_untracked(|viewer| viewer.account.clone());
    let name = state.username.get_untracked().trim().to_owned();
    if account.is_none() && name.is_empty() {
        error.set(Some("Choose a username to react.".to_owned()));
        return;
    }
    error.set(None);
    if let Some(outbox) = outbox {
        outbox.change.run(Change::React {
            id,
            reaction,
            on,
            guest_name: account.is_none().then_some(name),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_names_who_reacted_and_counts_the_rest() {
        let reaction = Reaction {
            reaction: "👍".into(),
            count: 5,
            people: vec!["ada".into(), "bob".into()],
            guests: vec!["cy".into()],
        };
        assert_eq!(who_reacted(&reaction), "ada, bob, cy (guest), 2 others");
        let one = Reaction {
            count: 1,
            guests: Vec::new(),
            people: vec!["ada".into()],
            ..reaction
        };
        assert_eq!(who_reacted(&one), "ada");
    }
}
