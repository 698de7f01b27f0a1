-- Roles: admins grant roles, moderators (and admins) remove anyone's
-- messages; every other account is a member.
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('admin', 'moderator', 'member'));
CREATE INDEX accounts_by_role ON accounts (role) WHERE role <> 'member';

-- A message a moderator removed: deleted like its author's deletion (its
-- text gone), and shown as removed.
ALTER TABLE messages ADD COLUMN removed BOOLEAN NOT NULL DEFAULT FALSE;

-- Every moderation action and role change, in the order made: who (an
-- account's name, or the command line), what, about whom, why. The text
-- of a removed message only if the operator keeps it for evidence.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    message_id INTEGER,
    reason     TEXT,
    detail     TEXT,
    text       TEXT
);
