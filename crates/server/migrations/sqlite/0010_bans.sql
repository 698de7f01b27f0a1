-- Banned accounts: until when (NULL: for good), why, by whom. A ban
-- keeps the account's sessions, so that its browsers are told they are
-- banned (403 banned) rather than taken for guests.
CREATE TABLE bans (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    until      TEXT,
    reason     TEXT,
    by_name    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
