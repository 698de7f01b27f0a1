-- Reactions: one row per person, reaction and message. `person` is who
-- gave it ('account:<name>', or 'guest:<browser id>'), `name` the name
-- shown, `change_id` the change that gave it (the order to show them in).
CREATE TABLE reactions (
    message_id BIGINT  NOT NULL REFERENCES messages (id),
    reaction   TEXT    NOT NULL,
    person     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    guest      BOOLEAN NOT NULL,
    change_id  BIGINT  NOT NULL,
    PRIMARY KEY (message_id, reaction, person)
);

-- Each message's reactions as the page shows them (JSON: reaction, count,
-- the first names), made again from `reactions` by the change that moves
-- them, so that reading a message reads one row.
ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';
