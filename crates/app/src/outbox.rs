//! The outbox's decisions as a plain state machine: which message (or
//! change to one) goes out next, and what a send's reply does to it.
//!
//! Messages wait in the page's outbox (`ChatState::outbox`) in the order
//! they were written. One [`Flusher`] sends them one at a time, in order,
//! each under its client id, so that sending again never stores twice:
//! [`Flusher::step`] takes what happened and the outbox, updates the
//! entries' delivery, and answers what to do next ([`Next`]). `crate::live`
//! makes the calls and runs the timers.

use uuid::Uuid;

use crate::state::{Delivery, Outgoing};

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message was queued, the link came back, or anything else after
    /// which waiting messages may go out.
    Flush,
    /// `Retry` on a failed message.
    Retry(Uuid),
    /// The server answered the send of `client_id`.
    Replied { client_id: Uuid, reply: Reply },
    /// The wait the server asked for before sending `client_id` again is over.
    WaitOver(Uuid),
}

/// How a send ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Stored (the caller confirms the stored message, which retires the
    /// entry).
    Stored,
    /// Refused for now as too fast: nothing was stored; the same send may
    /// go again after this many milliseconds.
    TooFast { retry_after_ms: u64 },
    /// The request or its answer was lost on the way.
    Unreachable(String),
    /// Refused for good (with why), or failed on the server.
    Refused(String),
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Send this entry (under its client id) and report the reply.
    Send(Outgoing),
    /// Report [`Event::WaitOver`] for this entry after this long.
    Wait { client_id: Uuid, ms: u64 },
}

/// Whether a send or a wait is under way; one at a time, so messages go out
/// in the order they were written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flusher {
    busy: bool,
}

/// The link as the flusher needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// `navigator.onLine`.
    pub online: bool,
    /// Whether the event stream (this tab's or the leader's) is open.
    pub connected: bool,
}

impl Flusher {
    /// Takes `event`, updating the deliveries in `outbox`; answers what to
    /// do next, if anything.
    pub fn step(&mut self, outbox: &mut [Outgoing], event: Event, link: Link) -> Option<Next> {
        match event {
            Event::Flush => {}
            Event::Retry(client_id) => set(outbox, client_id, Delivery::Queued),
            Event::Replied { client_id, reply } => {
                self.busy = false;
                match reply {
                    Reply::Stored => {}
                    Reply::TooFast { retry_after_ms } => {
                        set(outbox, client_id, Delivery::Throttled);
                        self.busy = true;
                        return Some(Next::Wait {
                            client_id,
                            ms: retry_after_ms,
                        });
                    }
                    Reply::Unreachable(_) if !link.online || !link.connected => {
                        // Goes out when the connection returns.
                        set(outbox, client_id, Delivery::Queued);
                        return None;
                    }
                    Reply::Unreachable(reason) | Reply::Refused(reason) => {
                        set(outbox, client_id, Delivery::Failed(reason));
                    }
                }
            }
            Event::WaitOver(client_id) => {
                self.busy = false;
                set(outbox, client_id, Delivery::Queued);
            }
        }
        self.next(outbox, link)
    }

    /// The first queued entry, marked as sending, unless a send or a wait
    /// is under way or the browser is offline.
    fn next(&mut self, outbox: &mut [Outgoing], link: Link) -> Option<Next> {
        if self.busy || !link.online {
            return None;
        }
        let entry = outbox
            .iter_mut()
            .find(|entry| entry.delivery == Delivery::Queued)?;
        entry.delivery = Delivery::Sending;
        self.busy = true;
        Some(Next::Send(entry.clone()))
    }
}

/// Sets the delivery of the entry `client_id`, if still there (a confirmed
/// one has left the outbox).
fn set(outbox: &mut [Outgoing], client_id: Uuid, delivery: Delivery) {
    if let Some(entry) = outbox.iter_mut().find(|o| o.client_id == client_id) {
        entry.delivery = delivery;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Draft, Pending};

    const UP: Link = Link {
        online: true,
        connected: true,
    };

    fn outbox(texts: &[&str]) -> Vec<Outgoing> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| Outgoing {
                client_id: Uuid::from_u128(i as u128 + 1),
                what: Pending::Message(Draft {
                    username: "ada".into(),
                    text: (*text).into(),
                    reply: None,
                }),
                delivery: Delivery::Queued,
            })
            .collect()
    }

    fn sent(next: Option<Next>) -> String {
        match next {
            Some(Next::Send(entry)) => entry.draft().expect("a message").text.clone(),
            other => panic!("expected a send, got {other:?}"),
        }
    }

    fn stored(out: &mut Vec<Outgoing>, flusher: &mut Flusher, client_id: Uuid) -> Option<Next> {
        // What confirming the stored message does.
        out.retain(|o| o.client_id != client_id);
        flusher.step(
            out,
            Event::Replied {
                client_id,
                reply: Reply::Stored,
            },
            UP,
        )
    }

    #[test]
    fn messages_go_out_one_at_a_time_in_the_order_written() {
        let mut out = outbox(&["one", "two"]);
        let mut flusher = Flusher::default();
        assert_eq!(sent(flusher.step(&mut out, Event::Flush, UP)), "one");
        assert_eq!(out[0].delivery, Delivery::Sending);
        // Another flush while "one" is on its way sends nothing more.
        assert_eq!(flusher.step(&mut out, Event::Flush, UP), None);
        assert_eq!(out[1].delivery, Delivery::Queued);
        let first = out[0].client_id;
        assert_eq!(sent(stored(&mut out, &mut flusher, first)), "two");
        let second = out[0].client_id;
        assert_eq!(stored(&mut out, &mut flusher, second), None);
        assert!(out.is_empty());
    }

    #[test]
    fn too_fast_waits_as_long_as_asked_then_sends_the_same_message_first() {
        let mut out = outbox(&["one", "two"]);
        let mut flusher = Flusher::default();
        flusher.step(&mut out, Event::Flush, UP);
        let id = out[0].client_id;
        let next = flusher.step(
            &mut out,
            Event::Replied {
                client_id: id,
                reply: Reply::TooFast {
                    retry_after_ms: 1_500,
                },
            },
            UP,
        );
        assert_eq!(
            next,
            Some(Next::Wait {
                client_id: id,
                ms: 1_500
            })
        );
        assert_eq!(out[0].delivery, Delivery::Throttled);
        // "two" does not overtake it meanwhile.
        assert_eq!(flusher.step(&mut out, Event::Flush, UP), None);
        let again = flusher.step(&mut out, Event::WaitOver(id), UP);
        assert_eq!(again, Some(Next::Send(out[0].clone())));
        assert_eq!(out[0].client_id, id);
    }

    #[test]
    fn lost_on_the_way_while_the_link_is_down_waits_for_it_to_return() {
        let mut out = outbox(&["one", "two"]);
        let mut flusher = Flusher::default();
        flusher.step(&mut out, Event::Flush, UP);
        let down = Link {
            online: true,
            connected: false,
        };
        let id = out[0].client_id;
        let next = flusher.step(
            &mut out,
            Event::Replied {
                client_id: id,
                reply: Reply::Unreachable("network".into()),
            },
            down,
        );
        assert_eq!(next, None);
        assert_eq!(out[0].delivery, Delivery::Queued);
        // Nothing goes out offline; back up, the same message goes first.
        let offline = Link {
            online: false,
            connected: false,
        };
        assert_eq!(flusher.step(&mut out, Event::Flush, offline), None);
        assert_eq!(sent(flusher.step(&mut out, Event::Flush, UP)), "one");
    }

    #[test]
    fn a_refused_message_shows_why_and_the_next_goes_on_until_retry() {
        let mut out = outbox(&["bad", "good"]);
        let mut flusher = Flusher::default();
        flusher.step(&mut out, Event::Flush, UP);
        let bad = out[0].client_id;
        let next = flusher.step(
            &mut out,
            Event::Replied {
                client_id: bad,
                reply: Reply::Refused("text must not be empty".into()),
            },
            UP,
        );
        assert_eq!(sent(next), "good");
        assert_eq!(
            out[0].delivery,
            Delivery::Failed("text must not be empty".into())
        );
        // Lost on the way while the link is up is a failure too.
        let good = out[1].client_id;
        flusher.step(
            &mut out,
            Event::Replied {
                client_id: good,
                reply: Reply::Unreachable("reset".into()),
            },
            UP,
        );
        assert_eq!(out[1].delivery, Delivery::Failed("reset".into()));

        let again = flusher.step(&mut out, Event::Retry(bad), UP);
        assert_eq!(sent(again), "bad");
        assert_eq!(out[0].client_id, bad, "under the same client id");
    }
}
