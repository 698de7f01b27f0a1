-- Direct conversations: rooms of kind 'private' marked `direct`, whose
-- members (2 to 8 accounts, none an owner) are fixed when it is made. The
-- name is '@' and the members' account ids in order ('@3-17'), which no
-- room's name may begin with, so the same people find the same room.
ALTER TABLE rooms ADD COLUMN direct BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX rooms_direct ON rooms (id) WHERE direct;
