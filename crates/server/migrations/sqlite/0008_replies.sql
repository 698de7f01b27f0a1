-- A reply names the message of the same room it answers.
ALTER TABLE messages ADD COLUMN reply_to INTEGER REFERENCES messages (id);
