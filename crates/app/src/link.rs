//! The live link's decisions as a plain state machine: which tab holds the
//! event stream, when it opens, breaks and reopens, where it resumes, and
//! what the page says about it.
//!
//! [`Link::step`] takes what happened ([`Input`]) and what the browser says
//! now ([`Env`]: the time, whether it is online, a random number for
//! jitter) and answers what to do ([`Action`]). `crate::live` carries the
//! actions out with web APIs and feeds their outcomes back in; nothing here
//! touches the browser, so `cargo test` covers every decision.

use shared::{KEEP_ALIVE_SECS, MessageId};

use crate::state::{LinkStatus, TabRole, retry_delay_ms};

/// A stream silent (no message, no ping) this long is presumed dead.
pub const SILENCE_LIMIT_MS: f64 = 2.0 * KEEP_ALIVE_SECS as f64 * 1000.0;

/// What the browser says at the moment of an input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Env {
    /// Milliseconds since the epoch.
    pub now_ms: f64,
    /// `navigator.onLine`.
    pub online: bool,
    /// A random number in `[0, 1)`, for the reconnect's jitter.
    pub random: f64,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// This tab joined the browser's other tabs (it has the tabs' channel
    /// and Web Locks) and waits for the leader lock as a follower.
    JoinedTabs,
    /// This tab now holds the leader lock.
    BecameLeader,
    /// The history rendered with the page has loaded, ending at this id
    /// (0 when empty); `None` when it failed to load.
    HistoryLoaded(Option<MessageId>),
    /// The event stream is open.
    StreamOpened,
    /// The event stream failed, or could not be opened.
    StreamFailed,
    /// A message arrived on this tab's stream.
    StreamMessage(MessageId),
    /// A message arrived in order from the leader tab, or a catch-up page
    /// ending at this id.
    Received(MessageId),
    /// A keep-alive ping arrived on this tab's stream.
    Ping,
    /// The reconnect timer fired.
    RetryDue,
    /// The browser came online.
    Online,
    /// The browser went offline.
    Offline,
    /// The page became visible.
    Visible,
    /// The watchdog's regular look at the stream.
    Tick,
    /// The leader tab's link status.
    LeaderStatus(LinkStatus),
    /// A new tab asks the leader for its status.
    Hello,
    /// The browser's signed-in account changed (in this tab or another):
    /// the tab holding the stream opens it again, as the new viewer's.
    ViewerChanged,
}

/// What to do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open the event stream after this id (only new messages without
    /// one), closing and dropping any open one first.
    OpenStream { after: Option<MessageId> },
    /// Stop the stream and the browser's own retries. Its callbacks may be
    /// running: they are dropped at the next `OpenStream` or `DropStream`.
    CloseStream,
    /// Close the stream and drop it.
    DropStream,
    /// Call back with [`Input::RetryDue`] after this long.
    ScheduleRetry { delay_ms: u64 },
    /// Forget the scheduled retry.
    CancelRetry,
    /// Show this status.
    ShowStatus(LinkStatus),
    /// Tell the other tabs this status (the leader does).
    TellStatus(LinkStatus),
    /// Tell the other tabs the message just received on the stream.
    RelayMessage,
    /// Ask the leader tab for its status.
    SayHello,
    /// Read what came after this id over HTTP, page by page.
    CatchUp { after: MessageId },
    /// Send what waits in the outbox.
    Flush,
}

/// The link's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    role: TabRole,
    status: LinkStatus,
    /// Where a reconnect resumes: the newest id received in order (not
    /// from this tab's own sends, whose replies can overtake older ones).
    cursor: Option<MessageId>,
    /// Whether the history has loaded, so the cursor is known.
    ready: bool,
    /// Failed attempts since the stream was last open.
    attempt: u32,
    retry_scheduled: bool,
    last_heard_ms: f64,
}

impl Link {
    /// A tab that holds its own stream until it joins the others.
    pub fn new(now_ms: f64) -> Self {
        Self {
            role: TabRole::Solo,
            status: LinkStatus::Connecting,
            cursor: None,
            ready: false,
            attempt: 0,
            retry_scheduled: false,
            last_heard_ms: now_ms,
        }
    }

    pub fn role(&self) -> TabRole {
        self.role
    }

    pub fn status(&self) -> LinkStatus {
        self.status
    }

    pub fn cursor(&self) -> Option<MessageId> {
        self.cursor
    }

    fn holds_stream(&self) -> bool {
        self.role != TabRole::Follower
    }

    /// Takes `input` as of `env`; answers what to do.
    pub fn step(&mut self, input: Input, env: Env) -> Vec<Action> {
        let mut actions = Vec::new();
        match input {
            Input::JoinedTabs => {
                self.role = TabRole::Follower;
                actions.push(Action::SayHello);
            }
            Input::BecameLeader => {
                self.role = TabRole::Leader;
                if self.ready {
                    self.connect(env, &mut actions);
                }
            }
            Input::HistoryLoaded(newest) => {
                self.cursor = self.cursor.max(newest);
                self.ready = true;
                match (self.role, newest) {
                    (TabRole::Follower, Some(after)) => actions.push(Action::CatchUp { after }),
                    (TabRole::Follower, None) => {}
                    (TabRole::Solo | TabRole::Leader, _) => self.connect(env, &mut actions),
                }
            }
            Input::StreamOpened => {
                self.attempt = 0;
                self.last_heard_ms = env.now_ms;
                self.set_status(LinkStatus::Connected, &mut actions);
                actions.push(Action::Flush);
            }
            Input::StreamFailed => self.failed(env, &mut actions),
            Input::StreamMessage(id) => {
                self.cursor = self.cursor.max(Some(id));
                self.last_heard_ms = env.now_ms;
                if self.role == TabRole::Leader {
                    actions.push(Action::RelayMessage);
                }
            }
            Input::Received(id) => self.cursor = self.cursor.max(Some(id)),
            Input::Ping => self.last_heard_ms = env.now_ms,
            Input::RetryDue => {
                self.retry_scheduled = false;
                self.connect(env, &mut actions);
            }
            Input::Online => self.reconnect_now(env, &mut actions),
            Input::Visible if self.status != LinkStatus::Connected => {
                self.reconnect_now(env, &mut actions)
            }
            Input::Visible => {}
            Input::ViewerChanged if self.holds_stream() && self.ready => {
                self.attempt = 0;
                self.connect(env, &mut actions);
            }
            Input::ViewerChanged => {}
            Input::Offline => {
                actions.push(Action::DropStream);
                self.cancel_retry(&mut actions);
                self.set_status(LinkStatus::Offline, &mut actions);
            }
            Input::Tick => {
                let silent = env.now_ms - self.last_heard_ms > SILENCE_LIMIT_MS;
                if self.holds_stream() && self.status == LinkStatus::Connected && silent {
                    self.set_status(LinkStatus::Reconnecting, &mut actions);
                    self.connect(env, &mut actions);
                }
            }
            Input::LeaderStatus(status) if self.role == TabRole::Follower => {
                self.set_status(status, &mut actions);
                if status == LinkStatus::Connected {
                    actions.push(Action::Flush);
                }
            }
            Input::LeaderStatus(_) => {}
            Input::Hello if self.role == TabRole::Leader => {
                actions.push(Action::TellStatus(self.status));
            }
            Input::Hello => {}
        }
        actions
    }

    fn set_status(&mut self, status: LinkStatus, actions: &mut Vec<Action>) {
        self.status = status;
        actions.push(Action::ShowStatus(status));
        if self.role == TabRole::Leader {
            actions.push(Action::TellStatus(status));
        }
    }

    fn cancel_retry(&mut self, actions: &mut Vec<Action>) {
        if self.retry_scheduled {
            self.retry_scheduled = false;
            actions.push(Action::CancelRetry);
        }
    }

    /// Opens a fresh stream after the cursor, replacing any open one.
    fn connect(&mut self, env: Env, actions: &mut Vec<Action>) {
        if !self.holds_stream() {
            return;
        }
        self.cancel_retry(actions);
        if !env.online {
            actions.push(Action::DropStream);
            self.set_status(LinkStatus::Offline, actions);
            return;
        }
        actions.push(Action::OpenStream { after: self.cursor });
    }

    /// The stream broke: stop the browser's own retries and schedule ours,
    /// unless one is already scheduled.
    fn failed(&mut self, env: Env, actions: &mut Vec<Action>) {
        actions.push(Action::CloseStream);
        let status = if env.online {
            LinkStatus::Reconnecting
        } else {
            LinkStatus::Offline
        };
        self.set_status(status, actions);
        if self.retry_scheduled {
            return;
        }
        let delay_ms = retry_delay_ms(self.attempt, env.random) as u64;
        self.attempt = self.attempt.saturating_add(1);
        self.retry_scheduled = true;
        actions.push(Action::ScheduleRetry { delay_ms });
    }

    /// Back online, or visible while not connected: reconnect without
    /// waiting for the backoff (a follower sends what waits instead).
    fn reconnect_now(&mut self, env: Env, actions: &mut Vec<Action>) {
        if !self.holds_stream() {
            actions.push(Action::Flush);
            return;
        }
        self.attempt = 0;
        if self.ready {
            self.connect(env, actions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONLINE: Env = Env {
        now_ms: 1_000.0,
        online: true,
        random: 0.0,
    };
    const OFFLINE: Env = Env {
        online: false,
        ..ONLINE
    };

    fn at(now_ms: f64) -> Env {
        Env { now_ms, ..ONLINE }
    }

    /// A solo tab whose history ended at `newest`, its stream open.
    fn connected(newest: MessageId) -> Link {
        let mut link = Link::new(0.0);
        link.step(Input::HistoryLoaded(Some(newest)), ONLINE);
        link.step(Input::StreamOpened, ONLINE);
        link
    }

    fn opens(actions: &[Action]) -> Vec<Option<MessageId>> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::OpenStream { after } => Some(*after),
                _ => None,
            })
            .collect()
    }

    fn retries(actions: &[Action]) -> Vec<u64> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::ScheduleRetry { delay_ms } => Some(*delay_ms),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_solo_tab_streams_after_the_history_it_rendered() {
        let mut link = Link::new(0.0);
        assert_eq!(link.step(Input::Tick, ONLINE), []);
        let actions = link.step(Input::HistoryLoaded(Some(42)), ONLINE);
        assert_eq!(opens(&actions), [Some(42)]);
        let actions = link.step(Input::StreamOpened, ONLINE);
        assert_eq!(
            actions,
            [Action::ShowStatus(LinkStatus::Connected), Action::Flush]
        );
    }

    #[test]
    fn an_empty_history_streams_after_id_0_and_a_failed_one_only_new_messages() {
        let mut link = Link::new(0.0);
        assert_eq!(
            opens(&link.step(Input::HistoryLoaded(Some(0)), ONLINE)),
            [Some(0)]
        );
        let mut link = Link::new(0.0);
        assert_eq!(
            opens(&link.step(Input::HistoryLoaded(None), ONLINE)),
            [None]
        );
    }

    #[test]
    fn the_cursor_follows_messages_received_in_order() {
        let mut link = connected(42);
        link.step(Input::StreamMessage(43), ONLINE);
        link.step(Input::StreamMessage(44), ONLINE);
        // A catch-up page that overlaps what came already moves nothing back.
        link.step(Input::Received(40), ONLINE);
        assert_eq!(link.cursor(), Some(44));
        link.step(Input::StreamFailed, ONLINE);
        assert_eq!(opens(&link.step(Input::RetryDue, ONLINE)), [Some(44)]);
    }

    #[test]
    fn a_broken_stream_waits_longer_each_time_then_resets_once_open() {
        let mut link = connected(1);
        let first = link.step(Input::StreamFailed, ONLINE);
        assert_eq!(first[0], Action::CloseStream);
        assert!(first.contains(&Action::ShowStatus(LinkStatus::Reconnecting)));
        assert_eq!(retries(&first), [250]);
        // The browser may report the same failure twice: one timer only.
        assert!(retries(&link.step(Input::StreamFailed, ONLINE)).is_empty());

        link.step(Input::RetryDue, ONLINE);
        assert_eq!(retries(&link.step(Input::StreamFailed, ONLINE)), [500]);
        link.step(Input::RetryDue, ONLINE);
        assert_eq!(retries(&link.step(Input::StreamFailed, ONLINE)), [1_000]);

        link.step(Input::RetryDue, ONLINE);
        link.step(Input::StreamOpened, ONLINE);
        assert_eq!(retries(&link.step(Input::StreamFailed, ONLINE)), [250]);
    }

    #[test]
    fn offline_drops_the_stream_and_online_reconnects_at_once() {
        let mut link = connected(7);
        link.step(Input::StreamFailed, ONLINE);
        let actions = link.step(Input::Offline, OFFLINE);
        assert_eq!(
            actions,
            [
                Action::DropStream,
                Action::CancelRetry,
                Action::ShowStatus(LinkStatus::Offline)
            ]
        );
        assert_eq!(link.status(), LinkStatus::Offline);
        // A retry that fires while offline opens nothing.
        assert!(opens(&link.step(Input::RetryDue, OFFLINE)).is_empty());

        let actions = link.step(Input::Online, ONLINE);
        assert_eq!(opens(&actions), [Some(7)]);
        link.step(Input::StreamOpened, ONLINE);
        // The backoff started over.
        assert_eq!(retries(&link.step(Input::StreamFailed, ONLINE)), [250]);
    }

    #[test]
    fn a_new_viewer_gets_a_stream_of_its_own_where_the_last_one_ended() {
        let mut link = connected(7);
        link.step(Input::StreamMessage(9), ONLINE);
        assert_eq!(opens(&link.step(Input::ViewerChanged, ONLINE)), [Some(9)]);
        // A follower has no stream to open again.
        let mut follower = Link::new(0.0);
        follower.step(Input::JoinedTabs, ONLINE);
        follower.step(Input::HistoryLoaded(Some(3)), ONLINE);
        assert!(opens(&follower.step(Input::ViewerChanged, ONLINE)).is_empty());
    }

    #[test]
    fn a_stream_that_fails_while_offline_says_disconnected() {
        let mut link = connected(1);
        let actions = link.step(Input::StreamFailed, OFFLINE);
        assert!(actions.contains(&Action::ShowStatus(LinkStatus::Offline)));
    }

    #[test]
    fn a_silent_stream_is_reopened_and_pings_or_messages_keep_it() {
        let mut link = connected(5);
        link.step(Input::StreamMessage(6), at(SILENCE_LIMIT_MS / 2.0));
        assert_eq!(link.step(Input::Tick, at(SILENCE_LIMIT_MS + 1.0)), []);
        let later = SILENCE_LIMIT_MS - 1.0;
        link.step(Input::Ping, at(later));
        assert_eq!(link.step(Input::Tick, at(later + SILENCE_LIMIT_MS)), []);
        let actions = link.step(Input::Tick, at(later + SILENCE_LIMIT_MS + 2.0));
        assert!(actions.contains(&Action::ShowStatus(LinkStatus::Reconnecting)));
        assert_eq!(opens(&actions), [Some(6)]);
    }

    #[test]
    fn becoming_visible_reconnects_only_a_link_that_is_down() {
        let mut link = connected(3);
        assert_eq!(link.step(Input::Visible, ONLINE), []);
        link.step(Input::StreamFailed, ONLINE);
        let actions = link.step(Input::Visible, ONLINE);
        assert!(actions.contains(&Action::CancelRetry));
        assert_eq!(opens(&actions), [Some(3)]);
    }

    #[test]
    fn a_follower_catches_up_over_http_and_never_opens_a_stream() {
        let mut link = Link::new(0.0);
        assert_eq!(link.step(Input::JoinedTabs, ONLINE), [Action::SayHello]);
        let actions = link.step(Input::HistoryLoaded(Some(10)), ONLINE);
        assert_eq!(actions, [Action::CatchUp { after: 10 }]);
        for input in [
            Input::StreamFailed,
            Input::RetryDue,
            Input::Tick,
            Input::Visible,
        ] {
            assert!(opens(&link.step(input, at(1e9))).is_empty(), "{input:?}");
        }
        // Messages relayed by the leader move the cursor, relayed no further.
        assert_eq!(link.step(Input::Received(11), ONLINE), []);
        assert_eq!(link.cursor(), Some(11));
        // Back online, a follower sends what waits; the leader reconnects.
        assert_eq!(link.step(Input::Online, ONLINE), [Action::Flush]);
    }

    #[test]
    fn a_follower_shows_the_leaders_status_and_sends_once_it_is_connected() {
        let mut link = Link::new(0.0);
        link.step(Input::JoinedTabs, ONLINE);
        assert_eq!(
            link.step(Input::LeaderStatus(LinkStatus::Reconnecting), ONLINE),
            [Action::ShowStatus(LinkStatus::Reconnecting)]
        );
        assert_eq!(
            link.step(Input::LeaderStatus(LinkStatus::Connected), ONLINE),
            [Action::ShowStatus(LinkStatus::Connected), Action::Flush]
        );
        // A tab that holds its own stream ignores other tabs' status.
        let mut solo = connected(1);
        assert_eq!(
            solo.step(Input::LeaderStatus(LinkStatus::Offline), ONLINE),
            []
        );
    }

    #[test]
    fn a_follower_that_becomes_leader_streams_from_where_it_is_and_relays() {
        let mut link = Link::new(0.0);
        link.step(Input::JoinedTabs, ONLINE);
        // Leader before its history loaded: it waits for the cursor.
        let mut early = link.clone();
        assert_eq!(early.step(Input::BecameLeader, ONLINE), []);
        assert_eq!(
            opens(&early.step(Input::HistoryLoaded(Some(3)), ONLINE)),
            [Some(3)]
        );

        link.step(Input::HistoryLoaded(Some(10)), ONLINE);
        link.step(Input::Received(12), ONLINE);
        let actions = link.step(Input::BecameLeader, ONLINE);
        assert_eq!(opens(&actions), [Some(12)]);
        // A catch-up page that lands now is not relayed: the stream sends it.
        assert_eq!(link.step(Input::Received(11), ONLINE), []);
        let actions = link.step(Input::StreamOpened, ONLINE);
        assert_eq!(
            actions,
            [
                Action::ShowStatus(LinkStatus::Connected),
                Action::TellStatus(LinkStatus::Connected),
                Action::Flush
            ]
        );
        assert_eq!(
            link.step(Input::StreamMessage(13), ONLINE),
            [Action::RelayMessage]
        );
        // A new tab asks; the leader answers with its status.
        assert_eq!(
            link.step(Input::Hello, ONLINE),
            [Action::TellStatus(LinkStatus::Connected)]
        );
    }
}
