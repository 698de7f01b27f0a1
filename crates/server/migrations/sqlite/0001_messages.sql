-- Every chat message. AUTOINCREMENT makes ids strictly increase and never be
-- reused, even after the newest row is deleted: clients resume streams by id.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id  BLOB    NOT NULL UNIQUE,
    username   TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
