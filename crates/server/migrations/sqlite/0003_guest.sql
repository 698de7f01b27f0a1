-- Whether a guest sent the message under a name of their choosing (every
-- message before accounts), or an account under its name.
ALTER TABLE messages ADD COLUMN guest BOOLEAN NOT NULL DEFAULT TRUE;
