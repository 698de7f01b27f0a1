-- Private rooms: seen by their members alone. `kind` is 'public' or
-- 'private'; a private room's members are rows of `room_members`, its
-- owners (who manage the members) marked.
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public'
    CHECK (kind IN ('public', 'private'));
CREATE TABLE room_members (
    room_id    BIGINT  NOT NULL REFERENCES rooms (id),
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    owner      BOOLEAN NOT NULL DEFAULT FALSE,
    added_at   BIGINT  NOT NULL,
    PRIMARY KEY (room_id, account_id)
);
CREATE INDEX room_members_by_account ON room_members (account_id);
