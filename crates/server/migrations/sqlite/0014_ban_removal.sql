-- Which of a banned account's messages go with its ban ('none', 'hour',
-- 'day', 'all'): a send that was under way when the ban landed and
-- commits after the ban's removals looks at it again and goes too.
ALTER TABLE bans ADD COLUMN remove_messages TEXT NOT NULL DEFAULT 'none';
