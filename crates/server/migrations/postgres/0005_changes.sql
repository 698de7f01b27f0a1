-- Messages change: their author edits the text or deletes them. A deleted
-- message keeps its row (its id, room, author and time), with its text
-- emptied.
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- Every change is an entry of the log, its id the next one from
-- message_log like a message's, taken under the same row lock (see
-- src/log/store/postgres.rs).
CREATE TABLE changes (
    id         BIGINT      PRIMARY KEY,
    client_id  UUID        NOT NULL UNIQUE,
    message_id BIGINT      NOT NULL REFERENCES messages (id),
    -- 'edit' or 'delete'
    kind       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX changes_by_message ON changes (message_id);

-- The texts edits replaced, for the message's author, by the id of the
-- change that replaced each. A deletion removes them with the message's
-- text.
CREATE TABLE message_versions (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    change_id  BIGINT NOT NULL,
    text       TEXT   NOT NULL
);
CREATE INDEX message_versions_by_message ON message_versions (message_id, change_id);
