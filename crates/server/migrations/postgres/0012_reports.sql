-- Readers' reports of messages, for moderators: open until a moderator
-- acts on them (removes the message, bans its author, or dismisses them).
CREATE TABLE reports (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    BIGINT  NOT NULL REFERENCES messages (id),
    -- 'account:<id>' or 'address:<client key>': one open report each.
    reporter      TEXT    NOT NULL,
    reporter_name TEXT    NOT NULL,
    reason        TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    closed_at     TIMESTAMPTZ,
    closed_by     TEXT,
    -- 'remove', 'ban' or 'dismiss'
    action        TEXT
);
CREATE UNIQUE INDEX reports_open_once ON reports (message_id, reporter) WHERE closed_at IS NULL;
CREATE INDEX reports_open ON reports (id) WHERE closed_at IS NULL;
