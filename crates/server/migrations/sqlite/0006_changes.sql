-- Messages change: their author edits the text or deletes them. A deleted
-- message keeps its row (its id, room, author and time), with its text
-- emptied.
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- Every change is an entry of the log: its id is the next one after the
-- newest message or change, given by the server's single writer, which
-- moves `messages`' AUTOINCREMENT past it in the same transaction (see
-- src/log/store/sqlite.rs), so that messages and changes share one order.
CREATE TABLE changes (
    id         INTEGER PRIMARY KEY,
    client_id  BLOB    NOT NULL UNIQUE,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    -- 'edit' or 'delete'
    kind       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX changes_by_message ON changes (message_id);

-- The texts edits replaced, for the message's author, by the id of the
-- change that replaced each. A deletion removes them with the message's
-- text.
CREATE TABLE message_versions (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    change_id  INTEGER NOT NULL,
    text       TEXT    NOT NULL
);
CREATE INDEX message_versions_by_message ON message_versions (message_id, change_id);
