-- Invite links to private rooms: whoever holds a code, signed in, joins
-- the room until it expires, its uses run out (`uses_left` NULL: no
-- limit) or an owner revokes it (the row deleted).
CREATE TABLE room_invites (
    code       TEXT    PRIMARY KEY,
    room_id    BIGINT  NOT NULL REFERENCES rooms (id),
    created_by BIGINT  REFERENCES accounts (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    uses_left  BIGINT  CHECK (uses_left >= 0)
);
CREATE INDEX room_invites_by_room ON room_invites (room_id);
