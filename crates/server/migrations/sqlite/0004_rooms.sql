-- Rooms: every message belongs to one. `name_key` (the lower-cased name)
-- makes names unique ignoring case; times in Unix seconds. `general`
-- exists from the start and holds every message sent before rooms.
CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO rooms (id, name, name_key, created_at) VALUES (1, 'general', 'general', 0);

-- SQLite adds a column with a foreign key only if its default is NULL;
-- rooms are never deleted, so the server's lookup by name is the check.
ALTER TABLE messages ADD COLUMN room_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX messages_by_room ON messages (room_id, id);

-- How far each account has read each room: up to which message id, and
-- how many messages the room held then (its unread count is the room's
-- count now less that). Signed-in readers' positions follow them to any
-- browser; guests keep theirs in the browser.
CREATE TABLE read_positions (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    last_read  INTEGER NOT NULL,
    read_count INTEGER NOT NULL,
    PRIMARY KEY (account_id, room_id)
);
