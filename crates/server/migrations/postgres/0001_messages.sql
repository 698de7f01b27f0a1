-- Every chat message. Ids come from message_log, not a sequence: see
-- src/store/postgres.rs for why they must become visible in id order.
CREATE TABLE messages (
    id         BIGINT      PRIMARY KEY,
    client_id  UUID        NOT NULL UNIQUE,
    username   TEXT        NOT NULL,
    text       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- One row: the newest id given out. Every append locks it until its
-- commit, so appends from every server commit in id order.
CREATE TABLE message_log (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_id   BIGINT  NOT NULL
);
INSERT INTO message_log (last_id) VALUES (0);
