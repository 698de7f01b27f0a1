-- Accounts: a name people see, and its key (case-folded confusable
-- skeleton, see src/accounts.rs): one account per look-alike name.
CREATE TABLE accounts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL,
    name_key      TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Signed-in browsers: the SHA-256 of each session's token (the token
-- itself is only in the browser's cookie); times in Unix seconds.
CREATE TABLE sessions (
    token_hash   BYTEA  PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
