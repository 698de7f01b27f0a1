-- What moderators set for a room: slow mode (seconds between one
-- person's messages; 0: none), locked (read-only but for moderators),
-- archived (out of the list, read-only), whether guests may write.
ALTER TABLE rooms ADD COLUMN slow_mode_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE rooms ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE rooms ADD COLUMN guests BOOLEAN NOT NULL DEFAULT TRUE;
