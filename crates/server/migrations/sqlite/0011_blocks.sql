-- Guests blocked by a moderator: by name (its key, so that look-alikes
-- are blocked too) or by client address (an IPv4 address, or an IPv6
-- address's /64 as its first address), until a time (NULL: for good).
CREATE TABLE blocks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('name', 'address')),
    key        TEXT    NOT NULL,
    shown      TEXT    NOT NULL,
    until      TEXT,
    reason     TEXT,
    by_name    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
